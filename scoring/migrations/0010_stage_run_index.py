"""Stages: indexed by (tenant, run), so that a job's statements find its run's rows without
walking those a large job left dead until autovacuum comes; and unlogged, since a stage never
holds a committed row (kam.models.TenantStageModel): no WAL for rows that are gone at commit,
and a crash leaves it empty, as it is anyway."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("kam", "0004_kam_analyze"),
        ("scoring", "0009_change_notes_carry_revenue"),
    ]

    operations = [
        migrations.RunSQL("ALTER TABLE scoring_scorestage SET UNLOGGED", "ALTER TABLE scoring_scorestage SET LOGGED"),
        migrations.AddIndex(
            model_name="scorestage",
            index=models.Index(fields=["tenant", "run_id"], name="scoring_scorestage_run"),
        ),
    ]
