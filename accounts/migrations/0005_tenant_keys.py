"""Tenant keys (kam/schema.py): every accounts table's primary key becomes (tenant_id, id), and
the foreign keys between them composite, (tenant_id, x_id) -> (tenant_id, id), deferrable and
checked at commit as before. In place: the rows stay, each table's key index is built anew, its
index of tenant_id alone goes (the key leads with it), and the foreign keys are checked against
the rows there are (a row naming another tenant's row would stop the migration here).

The other apps drop their simple foreign keys to accounts and contacts before this runs (their
migrations name this one in run_before) and add composite ones after.
"""

import django.db.models.deletion
from django.db import migrations, models

from kam.schema import CompositeForeignKey, TenantPrimaryKey

TABLES = ["account", "contact", "order", "invoice", "interaction", "event", "contract", "importjob"]
RELATIONS = [
    ("account", "parent"),
    ("contact", "account"),
    ("contact", "reports_to"),
    ("order", "account"),
    ("invoice", "account"),
    ("interaction", "account"),
    ("interaction", "contact"),
    ("event", "account"),
    ("contract", "account"),
]


def tenant_without_index() -> models.ForeignKey:
    """The tenant key, no longer indexed on its own: the new primary key leads with it."""
    return models.ForeignKey(
        db_index=False,
        on_delete=django.db.models.deletion.CASCADE,
        related_name="+",
        to="kam.tenant",
        verbose_name="tenant",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0004_account_tier_name_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="account",
            name="parent",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="children",
                to="accounts.account",
                verbose_name="parent",
            ),
        ),
        migrations.AlterField(
            model_name="contact",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="contacts",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="contact",
            name="reports_to",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="reports",
                to="accounts.contact",
                verbose_name="reports to",
            ),
        ),
        migrations.AlterField(
            model_name="contract",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="contracts",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="event",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="events",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="interactions",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="interaction",
            name="contact",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="interactions",
                to="accounts.contact",
                verbose_name="contact",
            ),
        ),
        migrations.AlterField(
            model_name="invoice",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="invoices",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="account",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="orders",
                to="accounts.account",
                verbose_name="account",
            ),
        ),
        *(TenantPrimaryKey(model_name=name) for name in TABLES),
        *(migrations.AlterField(model_name=name, name="tenant", field=tenant_without_index()) for name in TABLES),
        *(CompositeForeignKey(model_name=model, name=field) for model, field in RELATIONS),
    ]
