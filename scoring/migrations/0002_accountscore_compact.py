"""A smaller snapshot row: the breakdown as two arrays instead of a list of JSON objects,
the rank of revenue_share, only the indexes reads use, and no per-row foreign key checks.

A large tenant writes 100,000 snapshots per run. The JSON breakdown was two thirds of
each row's bytes and most of the time PostgreSQL spent building it; four of the seven
indexes served no read ((tenant, run) is the prefix of the unique (tenant, run, account),
and the single-column tenant, run and account indexes are covered by the indexes that
lead with tenant, which every query under row-level security filters by).

Existing snapshots are converted tenant by tenant (row-level security reads the tenant
from app.tenant_id, also for the owner role that migrates).

Without the foreign key on account, two triggers keep snapshots from outliving their
account when it is deleted while a score run of its tenant is writing them: the delete
first waits for the run (the run holds the tenant's "score" advisory lock, taken before it
reads the accounts, until it commits; the delete has locked no account row yet, so the run
never waits for it), and each deleted account's snapshots go with it, the run's included.
"""

import zlib

import django.contrib.postgres.fields
import django.db.models.deletion
from django.db import migrations, models

import scoring.models

FOR_EACH_TENANT = """
DO $$
DECLARE
    tenant bigint;
BEGIN
    FOR tenant IN SELECT id FROM kam_tenant LOOP
        PERFORM set_config('app.tenant_id', tenant::text, true);
        {statement}
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END
$$;
"""

# ->> gives a JSON number's text, which numeric reads back with the same scale.
TO_ARRAYS = FOR_EACH_TENANT.format(
    statement="""
        UPDATE scoring_accountscore x SET
            breakdown_keys = ARRAY(
                SELECT e.value ->> 'key' FROM jsonb_array_elements(x.breakdown) WITH ORDINALITY e
                ORDER BY e.ordinality),
            breakdown_values = ARRAY(
                SELECT v.value
                FROM jsonb_array_elements(x.breakdown) WITH ORDINALITY e,
                     LATERAL (VALUES (1, (e.value ->> 'raw')::numeric), (2, (e.value ->> 'normalized')::numeric),
                                     (3, (e.value ->> 'weight')::numeric), (4, (e.value ->> 'weighted')::numeric))
                         AS v(position, value)
                ORDER BY e.ordinality, v.position)::numeric[]
        WHERE x.tenant_id = tenant AND jsonb_array_length(x.breakdown) > 0;"""
)

TO_JSON = FOR_EACH_TENANT.format(
    statement="""
        UPDATE scoring_accountscore x SET breakdown = COALESCE((
            SELECT jsonb_agg(jsonb_build_object(
                       'key', k.key, 'raw', x.breakdown_values[4 * k.i - 3],
                       'normalized', x.breakdown_values[4 * k.i - 2], 'weight', x.breakdown_values[4 * k.i - 1],
                       'weighted', x.breakdown_values[4 * k.i]) ORDER BY k.i)
            FROM unnest(x.breakdown_keys) WITH ORDINALITY AS k(key, i)), '[]'::jsonb)
        WHERE x.tenant_id = tenant;"""
)


# scoring.services._advisory_lock(tenant, "score"): pg_advisory_xact_lock(class, tenant id)
SCORE_LOCK_CLASS = zlib.crc32(b"score") & 0x7FFFFFFF

ACCOUNT_DELETE_TRIGGERS = f"""
CREATE FUNCTION scoring_wait_for_score_run() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tenant bigint := NULLIF(current_setting('app.tenant_id', true), '')::bigint;
BEGIN
    IF tenant IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock({SCORE_LOCK_CLASS}, tenant::integer);
    END IF;
    RETURN NULL;
END;
$$;
CREATE FUNCTION scoring_delete_account_scores() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM scoring_accountscore WHERE tenant_id = OLD.tenant_id AND account_id = OLD.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER scoring_account_delete_waits
    BEFORE DELETE ON accounts_account
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_wait_for_score_run();
CREATE TRIGGER scoring_account_deleted
    AFTER DELETE ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION scoring_delete_account_scores();
"""

DROP_ACCOUNT_DELETE_TRIGGERS = """
DROP TRIGGER IF EXISTS scoring_account_delete_waits ON accounts_account;
DROP TRIGGER IF EXISTS scoring_account_deleted ON accounts_account;
DROP FUNCTION IF EXISTS scoring_wait_for_score_run();
DROP FUNCTION IF EXISTS scoring_delete_account_scores();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_account_version"),
        ("kam", "0001_initial"),
        ("scoring", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="accountscore",
            name="breakdown_keys",
            field=django.contrib.postgres.fields.ArrayField(
                base_field=models.CharField(max_length=40), default=list, size=None
            ),
        ),
        migrations.AddField(
            model_name="accountscore",
            name="breakdown_values",
            field=scoring.models.NumericArrayField(default=list),
        ),
        migrations.AddField(
            model_name="accountscore",
            name="revenue_rank",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.RunSQL(TO_ARRAYS, TO_JSON),
        migrations.RemoveField(model_name="accountscore", name="breakdown"),
        migrations.RemoveIndex(model_name="accountscore", name="accountscore_tenant_run"),
        migrations.AlterField(
            model_name="accountscore",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="scores",
                to="accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="accountscore",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="scores",
                to="scoring.scorerun",
            ),
        ),
        migrations.AlterField(
            model_name="accountscore",
            name="tenant",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="kam.tenant",
                verbose_name="tenant",
            ),
        ),
        migrations.RunSQL(ACCOUNT_DELETE_TRIGGERS, DROP_ACCOUNT_DELETE_TRIGGERS),
    ]
