"""Test settings for `make test-citus` (kam/citus_cluster.py): the tests use the cluster's
database itself as their test database. It was created on every node with the citus
extension, the coordinator knows the workers, and it was migrated and distributed before
pytest started; a database that Django's test set-up created would have none of that.
pytest runs with --reuse-db, so the set-up keeps it (and migrates nothing new)."""

from kam.settings_test import *  # noqa: F403
from kam.settings_test import DATABASES

DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}
