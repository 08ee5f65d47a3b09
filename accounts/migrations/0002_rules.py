"""Rules the database holds itself: the credit code's check character, and a group
hierarchy without cycles whose parent belongs to the same tenant."""

from django.db import migrations

from accounts.validators import CREDIT_CODE_SQL_FUNCTION

HIERARCHY_TRIGGER = """
CREATE OR REPLACE FUNCTION accounts_account_check_parent() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    parent_tenant bigint;
    cycle boolean;
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    -- Runs with the caller's rights, so under RLS another tenant's parent is simply not found.
    SELECT tenant_id INTO parent_tenant FROM accounts_account WHERE id = NEW.parent_id;
    IF parent_tenant IS NULL OR parent_tenant <> NEW.tenant_id THEN
        RAISE EXCEPTION 'account parent % is not an account of this tenant', NEW.parent_id
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    WITH RECURSIVE ancestors(id, parent_id, depth) AS (
        SELECT id, parent_id, 1 FROM accounts_account WHERE id = NEW.parent_id
        UNION ALL
        SELECT a.id, a.parent_id, ancestors.depth + 1
        FROM accounts_account a JOIN ancestors ON a.id = ancestors.parent_id
        WHERE ancestors.depth < 1000
    )
    SELECT EXISTS (SELECT 1 FROM ancestors WHERE id = NEW.id) INTO cycle;
    IF cycle THEN
        RAISE EXCEPTION 'account % cannot have % as parent: that would make a cycle', NEW.id, NEW.parent_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS accounts_account_parent_check ON accounts_account;
CREATE TRIGGER accounts_account_parent_check
    BEFORE INSERT OR UPDATE OF parent_id ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION accounts_account_check_parent();
"""


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]

    operations = [
        migrations.RunSQL(CREDIT_CODE_SQL_FUNCTION, "DROP FUNCTION IF EXISTS kam_credit_code_valid(text)"),
        migrations.RunSQL(
            "ALTER TABLE accounts_account ADD CONSTRAINT account_credit_code_valid CHECK (kam_credit_code_valid(credit_code))",
            "ALTER TABLE accounts_account DROP CONSTRAINT account_credit_code_valid",
        ),
        migrations.RunSQL(
            HIERARCHY_TRIGGER,
            "DROP TRIGGER IF EXISTS accounts_account_parent_check ON accounts_account;"
            " DROP FUNCTION IF EXISTS accounts_account_check_parent()",
        ),
    ]
