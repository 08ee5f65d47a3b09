"""The default staffing rules of DESIGN section 5 for the tenants that existed before
this app; new tenants get them from TeamsConfig.tenant_created."""

from __future__ import annotations

from django.db import migrations

# (tier, kind, function, level, minimum), as teams.services.DEFAULT_STAFFING_RULES on the day of writing.
DEFAULTS = [
    ("S", "member", "executive_sponsor", "", 1),
    ("S", "member", "sales", "", 1),
    ("S", "member", "technical", "", 1),
    ("S", "member", "delivery", "", 1),
    ("S", "member", "finance", "", 1),
    ("S", "counterpart", "", "executive", 1),
    ("A", "member", "sales", "", 1),
    ("A", "member", "technical", "", 1),
    ("A", "member", "delivery", "", 1),
]


def seed(apps, schema_editor) -> None:  # type: ignore[no-untyped-def]
    Tenant = apps.get_model("kam", "Tenant")
    StaffingRule = apps.get_model("teams", "StaffingRule")
    with schema_editor.connection.cursor() as cursor:
        for tenant_id in Tenant.objects.values_list("pk", flat=True):
            # Row-level security reads the tenant from this setting (local to the migration's transaction).
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant_id)])
            for tier, kind, function, level, minimum in DEFAULTS:
                StaffingRule.objects.get_or_create(
                    tenant_id=tenant_id,
                    tier=tier,
                    kind=kind,
                    function=function,
                    level=level,
                    defaults={"minimum_count": minimum},
                )
        cursor.execute("SELECT set_config('app.tenant_id', '', true)")


class Migration(migrations.Migration):
    dependencies = [("teams", "0001_initial"), ("kam", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
