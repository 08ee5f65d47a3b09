"""The simple foreign keys between tenant tables go: Django declares them db_constraint=False
from now on, and the database holds them as composite keys, (tenant_id, x_id) -> (tenant_id,
id) (kam/schema.py). They go before accounts changes its primary keys to (tenant_id, id),
which no simple key to an account or contact may still name: hence run_before; the
composite keys come in migration 0004, once both sides have their new primary keys.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("risk", "0002_health_without_foreign_keys")]
    run_before = [("accounts", "0005_tenant_keys")]

    operations = [
        migrations.AlterField(
            model_name="concentrationsnapshot",
            name="run",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="risk.riskrun",
            ),
        ),
        migrations.AlterField(
            model_name="contingencyplan",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="contingency_plans",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="alert",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="risk.riskalert",
            ),
        ),
        migrations.AlterField(
            model_name="riskalert",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="The subject; empty for a tenant-wide alert (top 5 share, HHI).",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="risk_alerts",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="riskalert",
            name="run",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="Last evaluated by.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="risk.riskrun",
            ),
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="endpoint",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="risk.webhookendpoint",
            ),
        ),
    ]
