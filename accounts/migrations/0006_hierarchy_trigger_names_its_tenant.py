"""The group hierarchy's trigger looks up the parent and the ancestors within the row's own
tenant (NEW.tenant_id) instead of by id alone, as every trigger does: on a database
distributed by tenant (Citus) a trigger runs beside the tenant's shard, where a lookup by
id alone cannot be answered. What it refuses is unchanged: a parent that is no account of
the row's tenant, and a cycle.
"""

from importlib import import_module

from django.db import migrations

HIERARCHY_FUNCTION = """
CREATE OR REPLACE FUNCTION accounts_account_check_parent() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ancestor bigint := NEW.parent_id;
    depth integer := 0;
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM accounts_account WHERE tenant_id = NEW.tenant_id AND id = NEW.parent_id) THEN
        RAISE EXCEPTION 'account parent % is not an account of this tenant', NEW.parent_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    -- Up the parent's ancestors one primary-key lookup at a time: a lookup of both key
    -- columns is planned on the key whatever the statistics say of a tenant (a recursive
    -- CTE was planned as a scan of the tenant's accounts per step when its rows were new).
    WHILE ancestor IS NOT NULL AND depth < 1000 LOOP
        IF ancestor = NEW.id THEN
            RAISE EXCEPTION 'account % cannot have % as parent: that would make a cycle', NEW.id, NEW.parent_id
                USING ERRCODE = 'check_violation';
        END IF;
        SELECT parent_id INTO ancestor FROM accounts_account WHERE tenant_id = NEW.tenant_id AND id = ancestor;
        depth := depth + 1;
    END LOOP;
    RETURN NEW;
END;
$$;
"""

# Backwards: the function as migration 0002 made it (its SQL also re-creates the trigger, unchanged).
PREVIOUS = import_module("accounts.migrations.0002_rules").HIERARCHY_TRIGGER


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_tenant_keys")]

    operations = [migrations.RunSQL(HIERARCHY_FUNCTION, PREVIOUS)]
