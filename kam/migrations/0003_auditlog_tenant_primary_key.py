"""Tenant keys (kam/schema.py): the audit log's primary key becomes (tenant_id, id), in place,
and the tenant key's own index goes (the primary key leads with it). Its foreign keys name
platform tables (tenant, user, API token) and stay simple.
"""

import django.db.models.deletion
from django.db import migrations, models

from kam.schema import TenantPrimaryKey


class Migration(migrations.Migration):
    dependencies = [("kam", "0002_auditlog_access_denied")]

    operations = [
        TenantPrimaryKey(model_name="auditlog"),
        migrations.AlterField(
            model_name="auditlog",
            name="tenant",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="kam.tenant",
                verbose_name="tenant",
            ),
        ),
    ]
