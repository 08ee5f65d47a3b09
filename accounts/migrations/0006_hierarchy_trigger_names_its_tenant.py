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
    cycle boolean;
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM accounts_account WHERE tenant_id = NEW.tenant_id AND id = NEW.parent_id) THEN
        RAISE EXCEPTION 'account parent % is not an account of this tenant', NEW.parent_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    WITH RECURSIVE ancestors(id, parent_id, depth) AS (
        SELECT id, parent_id, 1 FROM accounts_account WHERE tenant_id = NEW.tenant_id AND id = NEW.parent_id
        UNION ALL
        SELECT a.id, a.parent_id, ancestors.depth + 1
        FROM accounts_account a JOIN ancestors ON a.id = ancestors.parent_id
        WHERE a.tenant_id = NEW.tenant_id AND ancestors.depth < 1000
    )
    SELECT EXISTS (SELECT 1 FROM ancestors WHERE id = NEW.id) INTO cycle;
    IF cycle THEN
        RAISE EXCEPTION 'account % cannot have % as parent: that would make a cycle', NEW.id, NEW.parent_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
"""

# Backwards: the function as migration 0002 made it (its SQL also re-creates the trigger, unchanged).
PREVIOUS = import_module("accounts.migrations.0002_rules").HIERARCHY_TRIGGER


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_tenant_keys")]

    operations = [migrations.RunSQL(HIERARCHY_FUNCTION, PREVIOUS)]
