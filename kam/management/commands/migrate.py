"""`migrate`, run as the role that owns the tables (DATABASE_OWNER_URL).

The application itself runs as a role that is not the owner, so that row-level
security applies to it (DESIGN section 2). post_migrate then enables RLS on every
tenant table and grants the app role its privileges (kam/rls.py).
"""

from __future__ import annotations

from typing import Any

from django.core.management.commands.migrate import Command as MigrateCommand

from kam.db import owner_connection


class Command(MigrateCommand):
    def handle(self, *args: Any, **options: Any) -> None:
        with owner_connection(options.get("database") or "default"):
            super().handle(*args, **options)
