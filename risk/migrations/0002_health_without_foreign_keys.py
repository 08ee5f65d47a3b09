"""The health assessments lose their database foreign keys (their checks cost more than the
nightly INSERT itself) and the index on account_id alone (the unique index leads with tenant
and account). What the foreign keys guarded, triggers on accounts_account now do:

- an account delete first waits for a running health assessment of its tenant (the job holds
  risk.services._advisory_lock(tenant, "risk:health") until it commits), so the job never
  writes a row for an account deleted while it ran;
- then the account's assessments go with it, whether it was deleted through the ORM (whose
  collector has already removed them) or by any other statement.

Runs and tenants are only deleted through the ORM, whose collector cascades as before.
"""

import zlib

import django.db.models.deletion
from django.db import migrations, models

# risk.services._advisory_lock(tenant, "risk:health"): pg_advisory_xact_lock(class, tenant id)
HEALTH_LOCK_CLASS = zlib.crc32(b"risk:health") & 0x7FFFFFFF

ACCOUNT_DELETE_TRIGGERS = f"""
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
CREATE FUNCTION risk_delete_account_health() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM risk_healthassessment WHERE tenant_id = OLD.tenant_id AND account_id = OLD.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER risk_account_delete_waits
    BEFORE DELETE ON accounts_account
    FOR EACH STATEMENT EXECUTE FUNCTION risk_wait_for_health_run();
CREATE TRIGGER risk_account_deleted
    AFTER DELETE ON accounts_account
    FOR EACH ROW EXECUTE FUNCTION risk_delete_account_health();
"""

DROP_ACCOUNT_DELETE_TRIGGERS = """
DROP TRIGGER IF EXISTS risk_account_delete_waits ON accounts_account;
DROP TRIGGER IF EXISTS risk_account_deleted ON accounts_account;
DROP FUNCTION IF EXISTS risk_wait_for_health_run();
DROP FUNCTION IF EXISTS risk_delete_account_health();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_account_version"),
        ("kam", "0002_auditlog_access_denied"),
        ("risk", "0001_initial"),
    ]

    operations = [
        migrations.AlterField(
            model_name="healthassessment",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="health_assessments",
                to="accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="healthassessment",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="assessments",
                to="risk.riskrun",
            ),
        ),
        migrations.AlterField(
            model_name="healthassessment",
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
