"""The settings in their real modes, each in a fresh process: production passes Django's deploy
checks, development signs a user in (allauth reads its settings lazily, at the first sign-in),
and a bad environment value stops the start with a message."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run(code_or_args, env_extra, tmp_path, module=False):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL"))}
    env.update({"TROUW_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "loyalty.settings",
                **env_extra})
    args = [sys.executable, *code_or_args] if module else [sys.executable, "-c", code_or_args]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_production_passes_the_deploy_checks(tmp_path):
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], {
        "DJANGO_ENV": "production", "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "trouw.example",
    }, tmp_path, module=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = run(["manage.py", "check"], {"DJANGO_ENV": "production",
                                          "DJANGO_ALLOWED_HOSTS": "trouw.example"},
                 tmp_path, module=True)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is required" in result.stderr


def test_a_bad_boolean_stops_the_start(tmp_path):
    result = run(["manage.py", "check"], {"DJANGO_DEBUG": "maybe"}, tmp_path, module=True)
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be a boolean" in result.stderr


def test_development_mode_signs_a_user_in(tmp_path):
    code = """
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from loyalty.models import User
User.objects.create_user(email="anna@example.com", password="pw-long-enough-42")
client = Client()
response = client.post("/accounts/login/", {"login": "anna@example.com",
                                             "password": "pw-long-enough-42"})
print(response.status_code, response.get("Location"))
"""
    result = run(code, {"DJANGO_ENV": "development"}, tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "302 /start/"


def test_signing_in_works_while_redis_is_down(tmp_path):
    """With REDIS_URL set the cache is Redis, and allauth keeps its sign-in rate limits in the
    cache: a dead Redis must be a cache miss (django-redis' IGNORE_EXCEPTIONS), not a 500, and
    must not make the sign-in wait."""
    code = """
import time
import django
django.setup()
from django.conf import settings
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.test import Client
from loyalty.models import User
assert getattr(settings, "ACCOUNT_RATE_LIMITS", None) is None  # allauth's default limits
User.objects.create_user(email="anna@example.com", password="pw-long-enough-42")
started = time.monotonic()
response = Client().post("/accounts/login/", {"login": "anna@example.com",
                                               "password": "pw-long-enough-42"})
print(response.status_code, response.get("Location"), time.monotonic() - started < 10)
"""
    result = run(code, {"DJANGO_ENV": "development", "REDIS_URL": "redis://127.0.0.1:1/0"},
                 tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "302 /start/ True"
