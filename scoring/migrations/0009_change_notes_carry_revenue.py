"""The change notes carry what a rescore needs to rank one account without reading every
order: which account a transaction changed, and by how much its revenue_12m moved as of
the basis's as_of (scoring/engine.py, "one account against a basis").

- accounts_order, once per statement (transition tables): per account, its revenue_12m as
  of the basis's day moves by the amounts of the rows added (or as they are now) that lie
  in that day's 12 months, less those of the rows removed (or as they were); an update
  that changes no account, date or amount notes nothing (it moves no one's revenue under
  any as_of). One note per transaction and account, summing its moves. Per statement
  rather than per row: an import of a million orders writes one note per account, not a
  million upserts.
- accounts_account, per row added, removed, lost or won back: a note of the account with
  no move of revenue and a move of the scored set: +1 when it became one a run scores
  (added, won back), -1 when it stopped (lost, deleted).

A note written while the tenant had no basis has no as_of; a note from before this
migration has no account: either makes the rescore aggregate every order, as before.
Every trigger still takes its tenant from its rows (Citus: it runs on the shard's node).
"""

from django.db import migrations, models
from django.db.models import F
from django.db.models.functions import Cast

import kam.models

# The rows a statement on accounts_order moved, per event, of the tenant $1: (account_id,
# order_date, amount), the amount signed (+ a row added or as it is now, - a row removed or as
# it was). A row whose account, date and amount an update left alone moves nothing.
MOVED_ADDED = "SELECT account_id, order_date, amount FROM added WHERE tenant_id = $1"
MOVED_REMOVED = "SELECT account_id, order_date, -amount FROM removed WHERE tenant_id = $1"
CHANGED = "(o.account_id, o.order_date, o.amount) IS DISTINCT FROM (n.account_id, n.order_date, n.amount)"
MOVED_CHANGED = (
    "SELECT o.account_id, o.order_date, -o.amount FROM removed o JOIN added n ON n.id = o.id"
    f" WHERE o.tenant_id = $1 AND {CHANGED}"
    " UNION ALL"
    " SELECT n.account_id, n.order_date, n.amount FROM added n JOIN removed o ON o.id = n.id"
    f" WHERE n.tenant_id = $1 AND {CHANGED}"
)

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

-- Once per statement on accounts_order (its transition tables: added, removed): for each tenant
-- of its rows, the basis's day, then one note per account, each a single-row upsert (on Citus
-- the trigger runs on the shard's node, where a row routed to the notes' shard is what it may
-- write; an INSERT ... SELECT from a transition table would go through COPY, which row-level
-- security refuses).
CREATE FUNCTION scoring_note_orders() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    source text;
    moved text;
    tenant bigint;
    day date;
    note record;
BEGIN
    -- An IF, not CASE TG_OP WHEN ...: Citus deparses the simple CASE wrongly on a worker.
    IF TG_OP = 'INSERT' THEN
        source := 'added';
        moved := '{MOVED_ADDED}';
    ELSIF TG_OP = 'DELETE' THEN
        source := 'removed';
        moved := '{MOVED_REMOVED}';
    ELSE
        source := 'added';
        moved := '{MOVED_CHANGED}';
    END IF;
    FOR tenant IN EXECUTE format('SELECT DISTINCT tenant_id FROM %I', source) LOOP
        day := scoring_basis_day(tenant);
        FOR note IN EXECUTE
            'SELECT m.account_id, COALESCE(SUM(m.amount) FILTER (WHERE m.order_date > $2 - 365'
            || ' AND m.order_date <= $2), 0) AS delta'
            || ' FROM (' || moved || ') m (account_id, order_date, amount) GROUP BY m.account_id'
            USING tenant, day
        LOOP
            INSERT INTO scoring_scorechange (tenant_id, xid, account_id, as_of, revenue_delta, scored_delta)
            VALUES (tenant, pg_current_xact_id()::text::bigint, note.account_id, day, note.delta, 0)
            ON CONFLICT (tenant_id, xid, account_id) DO UPDATE
            SET revenue_delta = scoring_scorechange.revenue_delta + EXCLUDED.revenue_delta,
                as_of = CASE WHEN scoring_scorechange.as_of = EXCLUDED.as_of THEN EXCLUDED.as_of END
            WHERE EXCLUDED.revenue_delta <> 0 OR scoring_scorechange.as_of IS DISTINCT FROM EXCLUDED.as_of;
        END LOOP;
    END LOOP;
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
CREATE TRIGGER scoring_orders_added
    AFTER INSERT ON accounts_order REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_note_orders();
CREATE TRIGGER scoring_orders_removed
    AFTER DELETE ON accounts_order REFERENCING OLD TABLE AS removed
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_note_orders();
CREATE TRIGGER scoring_orders_changed
    AFTER UPDATE ON accounts_order REFERENCING OLD TABLE AS removed NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_note_orders();
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
DROP TRIGGER scoring_orders_added ON accounts_order;
DROP TRIGGER scoring_orders_removed ON accounts_order;
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
DROP FUNCTION scoring_note_orders();
DROP FUNCTION scoring_note_account();
DROP FUNCTION scoring_basis_day(bigint);
-- TRUNCATE: the owner's DELETE would see no tenant's rows (row-level security is forced)
TRUNCATE scoring_scorechange, scoring_scorebasis;
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
