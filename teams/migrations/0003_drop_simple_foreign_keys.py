"""The simple foreign keys between tenant tables go: Django declares them db_constraint=False
from now on, and the database holds them as composite keys, (tenant_id, x_id) -> (tenant_id,
id) (kam/schema.py). They go before accounts changes its primary keys to (tenant_id, id),
which no simple key to an account or contact may still name: hence run_before; the
composite keys come in migration 0004, once both sides have their new primary keys.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("teams", "0002_default_staffing_rules")]
    run_before = [("accounts", "0005_tenant_keys")]

    operations = [
        migrations.AlterField(
            model_name="accountplan",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="plans",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="accountteam",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="teams",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="counterpartlink",
            name="contact",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="counterpart_links",
                to="accounts.contact",
                verbose_name="contact",
            ),
        ),
        migrations.AlterField(
            model_name="counterpartlink",
            name="member",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="links",
                to="teams.teammember",
                verbose_name="team member",
            ),
        ),
        migrations.AlterField(
            model_name="initiative",
            name="plan",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="initiatives",
                to="teams.accountplan",
                verbose_name="plan",
            ),
        ),
        migrations.AlterField(
            model_name="planaction",
            name="initiative",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="actions",
                to="teams.initiative",
                verbose_name="initiative",
            ),
        ),
        migrations.AlterField(
            model_name="planaction",
            name="plan",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="actions",
                to="teams.accountplan",
                verbose_name="plan",
            ),
        ),
        migrations.AlterField(
            model_name="teammember",
            name="team",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="members",
                to="teams.accountteam",
                verbose_name="team",
            ),
        ),
    ]
