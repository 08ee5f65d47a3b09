"""Tenant keys (kam/schema.py): every scoring table's primary key becomes (tenant_id, id), and its
foreign keys to tenant tables composite, (tenant_id, x_id) -> (tenant_id, id), deferrable and
checked at commit as before. In place: the rows stay, each table's key index is built anew and
its index of tenant_id alone goes (the key leads with it). The snapshots (scoring_accountscore)
keep having no foreign keys (migration 0002).
"""

import django.db.models.deletion
from django.db import migrations, models

from kam.schema import CompositeForeignKey, TenantPrimaryKey

TABLES = [
    "scorecard",
    "criterion",
    "tierrule",
    "rating",
    "scorerun",
    "accountscore",
    "tieroverride",
    "scorebasis",
    "scorechange",
]
RELATIONS = [
    ("criterion", "scorecard"),
    ("tierrule", "scorecard"),
    ("rating", "account"),
    ("scorerun", "scorecard"),
    ("scorerun", "account"),
    ("tieroverride", "account"),
    ("scorebasis", "run"),
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
        ("accounts", "0005_tenant_keys"),
        ("scoring", "0005_drop_simple_foreign_keys"),
    ]

    operations = [
        *(TenantPrimaryKey(model_name=name) for name in TABLES),
        *(
            migrations.AlterField(model_name=name, name="tenant", field=tenant_without_index())
            for name in TABLES
            if name != "accountscore"
        ),
        *(CompositeForeignKey(model_name=model, name=field) for model, field in RELATIONS),
    ]
