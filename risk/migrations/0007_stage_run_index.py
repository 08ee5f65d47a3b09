"""Stages: indexed by (tenant, run), so that a job's statements find its run's rows without
walking those a large job left dead until autovacuum comes; and unlogged, since a stage never
holds a committed row (kam.models.TenantStageModel): no WAL for rows that are gone at commit,
and a crash leaves it empty, as it is anyway."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kam", "0004_kam_analyze"),
        ("risk", "0006_stages"),
    ]

    operations = [
        migrations.RunSQL("ALTER TABLE risk_healthstage SET UNLOGGED", "ALTER TABLE risk_healthstage SET LOGGED"),
        migrations.RunSQL("ALTER TABLE risk_alertstage SET UNLOGGED", "ALTER TABLE risk_alertstage SET LOGGED"),
        migrations.AddIndex(
            model_name="alertstage",
            index=models.Index(fields=["tenant", "run_id"], name="risk_alertstage_run"),
        ),
        migrations.AddIndex(
            model_name="healthstage",
            index=models.Index(fields=["tenant", "run_id"], name="risk_healthstage_run"),
        ),
    ]
