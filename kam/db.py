"""Database helpers shared by the platform: running as the owner role."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connections

_CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


@contextmanager
def owner_connection(alias: str = "default") -> Iterator[None]:
    """Connect ``alias`` as the owner role (migrations, test database set-up), then back.

    The database NAME is left alone, so a test database created meanwhile stays in use.
    """
    connection = connections[alias]
    saved = {key: connection.settings_dict.get(key) for key in _CREDENTIALS}
    connection.close()
    connection.settings_dict.update({key: settings.DATABASE_OWNER.get(key) for key in _CREDENTIALS})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)
