"""An account delete no longer waits for a running health assessment in a trigger: a lock
taken in a trigger runs beside the tenant's shard on a database distributed by tenant
(Citus), not on the coordinator where the assessment holds it. The application takes the
assessment's lock before it deletes accounts instead (accounts.services.account_delete,
through kam.runs.wait_for_account_readers). The trigger that deletes a deleted account's
assessments stays (it names OLD.tenant_id already).
"""

import zlib

from django.db import migrations

DROP_WAIT = """
DROP TRIGGER risk_account_delete_waits ON accounts_account;
DROP FUNCTION risk_wait_for_health_run();
"""

# Backwards: the trigger as migration 0002 made it.
HEALTH_LOCK_CLASS = zlib.crc32(b"risk:health") & 0x7FFFFFFF
CREATE_WAIT = f"""
CREATE FUNCTION risk_wait_for_health_run() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    tenant bigint := NULLIF(current_setting('app.tenant_id', true), '')::bigint;
BEGIN
    IF tenant IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock({HEALTH_LOCK_CLASS}, tenant::integer);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER risk_account_delete_waits
    BEFORE DELETE ON accounts_account
    FOR EACH STATEMENT EXECUTE FUNCTION risk_wait_for_health_run();
"""


class Migration(migrations.Migration):
    dependencies = [("risk", "0004_tenant_keys")]

    operations = [migrations.RunSQL(DROP_WAIT, CREATE_WAIT)]
