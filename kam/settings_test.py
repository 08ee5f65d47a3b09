"""Test settings: the real PostgreSQL and Redis of settings.py, with fast hashing,
in-memory e-mail and eager Celery (tests marked `worker` start a real worker)."""

import os
import tempfile
from pathlib import Path

from kam.settings import *  # noqa: F403
from kam.settings import CACHES

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = True
CACHES["default"]["KEY_PREFIX"] = f"kam-test-{os.getpid()}"
AXES_FAILURE_LIMIT = 5
# A separate queue, so that a worker of `make run` on the same Redis never takes a test's task.
CELERY_TASK_DEFAULT_QUEUE = "kam-test"
KAM_BATCH_QUEUE = "kam-test-batch"
# One test database per run, so that several runs at once (CI, a developer, helpers) never
# drop each other's database. The run's teardown drops it.
DATABASES["default"]["TEST"] = {"NAME": f"test_kam_{os.getpid()}"}  # noqa: F405
# Uploaded documents of a run go to its own directory (removed by the run's teardown).
MEDIA_ROOT = Path(tempfile.gettempdir()) / f"kam-test-media-{os.getpid()}"
# Tests point channels at local receivers (messaging/sink.py); the production rule has its own tests.
CHANNEL_VENDOR_HOSTS_ONLY = False
