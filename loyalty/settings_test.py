"""Settings for the test suite: the real settings, made faster (see DJANGO_ENV=test there)."""

import os

os.environ.setdefault("DJANGO_ENV", "test")
os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")

from .settings import *  # noqa: E402,F403
