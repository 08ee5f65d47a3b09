"""The simple foreign keys between tenant tables go: Django declares them db_constraint=False
from now on, and the database holds them as composite keys, (tenant_id, x_id) -> (tenant_id,
id) (kam/schema.py). They go before accounts changes its primary keys to (tenant_id, id),
which no simple key to an account or contact may still name: hence run_before; the
composite keys come in migration 0006, once both sides have their new primary keys.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("scoring", "0004_accountscore_tier_reason")]
    run_before = [("accounts", "0005_tenant_keys")]

    operations = [
        migrations.AlterField(
            model_name="criterion",
            name="scorecard",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="criteria",
                to="scoring.scorecard",
            ),
        ),
        migrations.AlterField(
            model_name="rating",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="ratings",
                to="accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="scorebasis",
            name="run",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="scoring.scorerun",
            ),
        ),
        migrations.AlterField(
            model_name="scorerun",
            name="account",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                help_text="Set when only this account was rescored.",
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="scorerun",
            name="scorecard",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="runs",
                to="scoring.scorecard",
            ),
        ),
        migrations.AlterField(
            model_name="tieroverride",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="tier_overrides",
                to="accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="tierrule",
            name="scorecard",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="tiers",
                to="scoring.scorecard",
            ),
        ),
    ]
