"""kam_analyze(tables): fresh planner statistics of tenant tables, for the application role.

A job that writes many rows (a score run, a risk run, an import) leaves the statistics of
what it wrote current before it reports done (kam.db.analyze_written): otherwise every
page pays for plans made for the tables as they were, until autovacuum comes by. Only a
table's owner may ANALYZE it, and the application role owns none; this function runs as
the owner (SECURITY DEFINER) and analyses only tables under the tenant policy, so the
application role gains nothing else. Executable by the application role alone
(kam/rls.py grants it; PUBLIC's default right is revoked here).
"""

from django.db import migrations

FUNCTION = """
CREATE FUNCTION kam_analyze(tables text[]) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY tables LOOP
        IF NOT EXISTS (
            SELECT FROM pg_catalog.pg_policy p JOIN pg_catalog.pg_class c ON c.oid = p.polrelid
            WHERE c.relnamespace = 'public'::regnamespace AND c.relname = name AND p.polname = 'tenant_isolation'
        ) THEN
            RAISE EXCEPTION 'kam_analyze: % is not a tenant table', name;
        END IF;
        EXECUTE format('ANALYZE public.%I', name);
    END LOOP;
END;
$$;
REVOKE ALL ON FUNCTION kam_analyze(text[]) FROM PUBLIC;
"""


class Migration(migrations.Migration):
    dependencies = [("kam", "0003_auditlog_tenant_primary_key")]

    operations = [migrations.RunSQL(FUNCTION, "DROP FUNCTION kam_analyze(text[]);")]
