"""Stages: indexed by (tenant, run), so that a job's statements find its run's rows without
walking those a large job left dead until autovacuum comes; and unlogged, since a stage never
holds a committed row (kam.models.TenantStageModel): no WAL for rows that are gone at commit,
and a crash leaves it empty, as it is anyway."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0007_import_stages"),
        ("kam", "0004_kam_analyze"),
    ]

    operations = [
        migrations.RunSQL("ALTER TABLE accounts_orderstage SET UNLOGGED", "ALTER TABLE accounts_orderstage SET LOGGED"),
        migrations.RunSQL("ALTER TABLE accounts_invoicestage SET UNLOGGED", "ALTER TABLE accounts_invoicestage SET LOGGED"),
        migrations.AddIndex(
            model_name="invoicestage",
            index=models.Index(fields=["tenant", "run_id"], name="accounts_invoicestage_run"),
        ),
        migrations.AddIndex(
            model_name="orderstage",
            index=models.Index(fields=["tenant", "run_id"], name="accounts_orderstage_run"),
        ),
    ]
