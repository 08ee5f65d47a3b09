"""What a single-account rescore needs to rank the account without reading every order:
the tenant's basis (its latest full run) and the transactions that changed what the basis
read since, noted by triggers on the accounts app's tables.

A trigger runs with the rights of whoever writes orders or accounts (the application
role, under row-level security), and notes the transaction once per tenant: the tenant
is the one set in app.tenant_id, the only one whose rows a statement can touch under the
policy. A statement run with no tenant set touches no row of a table with forced
row-level security, so it has nothing to note. (A superuser bypasses row-level security:
after changing orders that way, run a full score run.)
"""

import django.db.models.deletion
from django.db import migrations, models

TRIGGERS = """
CREATE FUNCTION scoring_note_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tenant bigint := NULLIF(current_setting('app.tenant_id', true), '')::bigint;
BEGIN
    IF tenant IS NOT NULL THEN
        INSERT INTO scoring_scorechange (tenant_id, xid) VALUES (tenant, pg_current_xact_id()::text::bigint)
        ON CONFLICT (tenant_id, xid) DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;
-- Any order written changes revenue_12m, hence the total and the ranks.
CREATE TRIGGER scoring_orders_changed
    AFTER INSERT OR UPDATE OR DELETE ON accounts_order
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_note_change();
-- The scored set: accounts added or removed, or becoming lost or no longer lost.
CREATE TRIGGER scoring_accounts_added_or_removed
    AFTER INSERT OR DELETE ON accounts_account
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_note_change();
CREATE TRIGGER scoring_accounts_lost_or_won_back
    AFTER UPDATE OF status ON accounts_account
    FOR EACH ROW WHEN ((OLD.status = 'lost') IS DISTINCT FROM (NEW.status = 'lost'))
    EXECUTE FUNCTION scoring_note_change();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS scoring_orders_changed ON accounts_order;
DROP TRIGGER IF EXISTS scoring_accounts_added_or_removed ON accounts_account;
DROP TRIGGER IF EXISTS scoring_accounts_lost_or_won_back ON accounts_account;
DROP FUNCTION IF EXISTS scoring_note_change();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("kam", "0001_initial"),
        ("accounts", "0003_account_version"),
        ("scoring", "0002_accountscore_compact"),
    ]

    operations = [
        migrations.CreateModel(
            name="ScoreBasis",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("as_of", models.DateField(verbose_name="as of")),
                ("snapshot", models.TextField()),
                ("xid", models.BigIntegerField()),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="scoring.scorerun"
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="kam.tenant",
                        verbose_name="tenant",
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("tenant",), name="scorebasis_one_per_tenant")],
            },
        ),
        migrations.CreateModel(
            name="ScoreChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("xid", models.BigIntegerField()),
                (
                    "tenant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="kam.tenant",
                        verbose_name="tenant",
                    ),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("tenant", "xid"), name="scorechange_unique_xact")],
            },
        ),
        migrations.RunSQL(TRIGGERS, DROP_TRIGGERS),
    ]
