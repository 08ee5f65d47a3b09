"""The change notes carry what a rescore needs to rank one account without reading every
order: which account a transaction changed, and by how much its revenue_12m moved as of
the basis's as_of (scoring/engine.py, "one account against a basis").

- accounts_order, per row written: the account's revenue_12m as of the basis's day moves
  by +NEW.amount when the new row lies in that day's 12 months, and by -OLD.amount when
  the old one did; an update that changes no account, date or amount notes nothing (it
  moves no one's revenue under any as_of). One note per transaction and account,
  summing its moves; a statement reads the basis's day once (cached for the statement,
  so that every row of one statement is noted against the same day).
- accounts_account, per row added, removed, lost or won back: a note of the account with
  no move of revenue and a move of the scored set: +1 when it became one a run scores
  (added, won back), -1 when it stopped (lost, deleted).

A note written while the tenant had no basis has no as_of; a note from before this
migration has no account: either makes the rescore aggregate every order, as before.
Every trigger still takes its tenant from its row (Citus: it runs on the shard's node).
"""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Cast

import kam.models

NOTE_SQL = """
    INSERT INTO scoring_scorechange (tenant_id, xid, account_id, as_of, revenue_delta, scored_delta)
    VALUES ({row}.tenant_id, pg_current_xact_id()::text::bigint, {row}.account_id, day,
            CASE WHEN {row}.order_date > day - 365 AND {row}.order_date <= day THEN {sign}{row}.amount ELSE 0 END, 0)
    ON CONFLICT (tenant_id, xid, account_id) DO UPDATE
    SET revenue_delta = scoring_scorechange.revenue_delta + EXCLUDED.revenue_delta,
        as_of = CASE WHEN scoring_scorechange.as_of = EXCLUDED.as_of THEN EXCLUDED.as_of END
    WHERE EXCLUDED.revenue_delta <> 0 OR scoring_scorechange.as_of IS DISTINCT FROM EXCLUDED.as_of;"""

FORWARD = f"""
CREATE FUNCTION scoring_basis_day(tenant bigint) RETURNS date
LANGUAGE plpgsql AS $$
DECLARE
    setting text := 'kam_scoring.basis_' || tenant;
    cached text := current_setting(setting, true);
    day date;
BEGIN
    IF cached IS NOT NULL AND split_part(cached, '|', 1) = statement_timestamp()::text THEN
        RETURN NULLIF(split_part(cached, '|', 2), '')::date;
    END IF;
    SELECT b.as_of INTO day FROM scoring_scorebasis b WHERE b.tenant_id = tenant;
    PERFORM set_config(setting, statement_timestamp()::text || '|' || COALESCE(day::text, ''), true);
    RETURN day;
END;
$$;

CREATE FUNCTION scoring_note_order() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    day date;
BEGIN
    IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN
        day := scoring_basis_day(OLD.tenant_id);{NOTE_SQL.format(row="OLD", sign="-")}
    END IF;
    IF TG_OP = 'INSERT' OR TG_OP = 'UPDATE' THEN
        day := scoring_basis_day(NEW.tenant_id);{NOTE_SQL.format(row="NEW", sign="")}
    END IF;
    RETURN NULL;
END;
$$;

CREATE FUNCTION scoring_note_account() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_tenant bigint;
    row_account bigint;
    move smallint := 0;
BEGIN
    -- An IF, not CASE TG_OP WHEN ...: Citus deparses the simple CASE wrongly on a worker.
    IF TG_OP = 'DELETE' THEN
        row_tenant := OLD.tenant_id;
        row_account := OLD.id;
    ELSE
        row_tenant := NEW.tenant_id;
        row_account := NEW.id;
    END IF;
    IF TG_OP <> 'INSERT' THEN
        IF OLD.status <> 'lost' THEN
            move := move - 1;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.status <> 'lost' THEN
            move := move + 1;
        END IF;
    END IF;
    INSERT INTO scoring_scorechange (tenant_id, xid, account_id, as_of, revenue_delta, scored_delta)
    VALUES (row_tenant, pg_current_xact_id()::text::bigint, row_account, scoring_basis_day(row_tenant), 0, move)
    ON CONFLICT (tenant_id, xid, account_id) DO UPDATE
    SET scored_delta = scoring_scorechange.scored_delta + EXCLUDED.scored_delta,
        as_of = CASE WHEN scoring_scorechange.as_of = EXCLUDED.as_of THEN EXCLUDED.as_of END;
    RETURN NULL;
END;
$$;

DROP TRIGGER scoring_orders_changed ON accounts_order;
CREATE TRIGGER scoring_orders_added_or_removed
    AFTER INSERT OR DELETE ON accounts_order
    FOR EACH ROW EXECUTE FUNCTION scoring_note_order();
CREATE TRIGGER scoring_orders_changed
    AFTER UPDATE ON accounts_order
    FOR EACH ROW
    WHEN ((OLD.account_id, OLD.order_date, OLD.amount) IS DISTINCT FROM (NEW.account_id, NEW.order_date, NEW.amount))
    EXECUTE FUNCTION scoring_note_order();
DROP TRIGGER scoring_accounts_added_or_removed ON accounts_account;
CREATE TRIGGER scoring_accounts_added_or_removed
    AFTER INSERT OR DELETE ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION scoring_note_account();
DROP TRIGGER scoring_accounts_lost_or_won_back ON accounts_account;
CREATE TRIGGER scoring_accounts_lost_or_won_back
    AFTER UPDATE OF status ON accounts_account
    FOR EACH ROW WHEN ((OLD.status = 'lost') IS DISTINCT FROM (NEW.status = 'lost'))
    EXECUTE FUNCTION scoring_note_account();
"""

# Backwards: the triggers of migration 0007 (one note per tenant and transaction).
BACKWARD = """
DROP TRIGGER scoring_orders_added_or_removed ON accounts_order;
DROP TRIGGER scoring_orders_changed ON accounts_order;
CREATE TRIGGER scoring_orders_changed
    AFTER INSERT OR UPDATE OR DELETE ON accounts_order
    FOR EACH ROW EXECUTE FUNCTION scoring_note_change();
DROP TRIGGER scoring_accounts_added_or_removed ON accounts_account;
CREATE TRIGGER scoring_accounts_added_or_removed
    AFTER INSERT OR DELETE ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION scoring_note_change();
DROP TRIGGER scoring_accounts_lost_or_won_back ON accounts_account;
CREATE TRIGGER scoring_accounts_lost_or_won_back
    AFTER UPDATE OF status ON accounts_account
    FOR EACH ROW WHEN ((OLD.status = 'lost') IS DISTINCT FROM (NEW.status = 'lost'))
    EXECUTE FUNCTION scoring_note_change();
DROP FUNCTION scoring_note_order();
DROP FUNCTION scoring_note_account();
DROP FUNCTION scoring_basis_day(bigint);
DELETE FROM scoring_scorechange;
DELETE FROM scoring_scorebasis;
"""


class Migration(migrations.Migration):
    dependencies = [("scoring", "0008_score_stage")]

    operations = [
        migrations.RemoveConstraint(model_name="scorechange", name="scorechange_unique_xact"),
        migrations.AddField(model_name="scorechange", name="account_id", field=models.BigIntegerField(null=True)),
        migrations.AddField(model_name="scorechange", name="as_of", field=models.DateField(null=True)),
        migrations.AddField(model_name="scorechange", name="revenue_delta", field=kam.models.Numeric(default=0)),
        migrations.AddField(model_name="scorechange", name="scored_delta", field=models.SmallIntegerField(default=0)),
        migrations.AddField(
            model_name="accountscore",
            name="revenue_cents",
            field=models.GeneratedField(
                db_persist=True,
                expression=Cast(F("revenue_12m") * 100, models.BigIntegerField()),
                output_field=models.BigIntegerField(),
            ),
        ),
        migrations.AddIndex(
            model_name="accountscore",
            index=models.Index(fields=["tenant", "run", "revenue_cents"], name="accountscore_run_revenue"),
        ),
        migrations.AddConstraint(
            model_name="scorechange",
            constraint=models.UniqueConstraint(
                fields=("tenant", "xid", "account_id"), name="scorechange_unique_xact_account"
            ),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
