"""The triggers of scoring take their tenant from the rows they fire for, and take no locks
(on a database distributed by tenant, Citus, a trigger runs on the node of the tenant's
shard: a lookup that names no tenant fails there, and a lock taken there is not the
coordinator's).

- An account delete no longer waits for a running score run in a trigger: the application
  takes the run's lock before it deletes accounts (accounts.services.account_delete, through
  kam.runs.wait_for_account_readers). The trigger that deletes a deleted account's snapshots
  stays (it names OLD.tenant_id already).
- Writes of orders and accounts are noted per row, for the row's tenant (NEW or OLD.tenant_id)
  rather than for the tenant in app.tenant_id, once per tenant and transaction as before (the
  note's unique key). A statement that changes no row notes nothing: nothing changed.
"""

import zlib

from django.db import migrations

NOTE_FUNCTION = """
CREATE OR REPLACE FUNCTION scoring_note_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    row_tenant bigint;
BEGIN
    -- An IF, not CASE TG_OP WHEN ...: Citus deparses the simple CASE wrongly on a worker.
    IF TG_OP = 'DELETE' THEN
        row_tenant := OLD.tenant_id;
    ELSE
        row_tenant := NEW.tenant_id;
    END IF;
    INSERT INTO scoring_scorechange (tenant_id, xid)
    VALUES (row_tenant, pg_current_xact_id()::text::bigint)
    ON CONFLICT (tenant_id, xid) DO NOTHING;
    RETURN NULL;
END;
$$;
"""

ROW_TRIGGERS = (
    NOTE_FUNCTION
    + """
DROP TRIGGER scoring_orders_changed ON accounts_order;
CREATE TRIGGER scoring_orders_changed
    AFTER INSERT OR UPDATE OR DELETE ON accounts_order
    FOR EACH ROW EXECUTE FUNCTION scoring_note_change();
DROP TRIGGER scoring_accounts_added_or_removed ON accounts_account;
CREATE TRIGGER scoring_accounts_added_or_removed
    AFTER INSERT OR DELETE ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION scoring_note_change();
DROP TRIGGER scoring_account_delete_waits ON accounts_account;
DROP FUNCTION scoring_wait_for_score_run();
"""
)

# Backwards: the triggers as migrations 0002 and 0003 made them.
SCORE_LOCK_CLASS = zlib.crc32(b"score") & 0x7FFFFFFF
STATEMENT_TRIGGERS = f"""
CREATE OR REPLACE FUNCTION scoring_note_change() RETURNS trigger
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
DROP TRIGGER scoring_orders_changed ON accounts_order;
CREATE TRIGGER scoring_orders_changed
    AFTER INSERT OR UPDATE OR DELETE ON accounts_order
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_note_change();
DROP TRIGGER scoring_accounts_added_or_removed ON accounts_account;
CREATE TRIGGER scoring_accounts_added_or_removed
    AFTER INSERT OR DELETE ON accounts_account
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_note_change();
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
CREATE TRIGGER scoring_account_delete_waits
    BEFORE DELETE ON accounts_account
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_wait_for_score_run();
"""


class Migration(migrations.Migration):
    dependencies = [("scoring", "0006_tenant_keys")]

    operations = [migrations.RunSQL(ROW_TRIGGERS, STATEMENT_TRIGGERS)]
