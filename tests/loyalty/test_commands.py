"""Management commands: create_shop (operators' scripted set-up)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from loyalty.models import Shop, StaffMember, StaffRole, User
from tests.factories import PASSWORD, ShopFactory, UserFactory


def _create_shop(*args):
    out, err = StringIO(), StringIO()
    call_command("create_shop", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _counts():
    return Shop.objects.count(), User.objects.count(), StaffMember.objects.count()


GOOD_ARGS = {
    "--name": "Bakkerij De Gouden Korst",
    "--slug": "gouden-korst",
    "--currency": "EUR",
    "--language": "nl",
    "--owner-email": "anneke@goudenkorst.example",
}


def _args(**overrides):
    values = dict(GOOD_ARGS)
    values.update({f"--{key.replace('_', '-')}": value for key, value in overrides.items()})
    return [f"{key}={value}" for key, value in values.items()]


# --- create_shop, in process --------------------------------------------------------------------


@pytest.mark.django_db
class TestCreateShop:
    def test_prints_the_slug_and_creates_shop_and_owner(self):
        out, err = _create_shop(*_args())

        assert out == "gouden-korst\n"
        shop = Shop.objects.get(slug="gouden-korst")
        assert (shop.name, shop.currency, shop.language, shop.time_zone) == (
            "Bakkerij De Gouden Korst", "EUR", "nl", "Europe/Amsterdam")
        owner = User.objects.get(email="anneke@goudenkorst.example")
        assert not owner.has_usable_password()
        role = StaffMember.objects.get(shop=shop)
        assert (role.user, role.role, role.is_active) == (owner, StaffRole.OWNER, True)
        assert "Created the owner login anneke@goudenkorst.example without a password" in err

    def test_the_owner_email_is_lower_cased_and_the_currency_upper_cased(self):
        out, _ = _create_shop(*_args(owner_email=" Anneke@GoudenKorst.example ",
                                     currency="sek", timezone="Europe/Stockholm"))
        assert out == "gouden-korst\n"
        shop = Shop.objects.get(slug="gouden-korst")
        assert (shop.currency, shop.time_zone) == ("SEK", "Europe/Stockholm")
        assert User.objects.filter(email="anneke@goudenkorst.example").count() == 1

    def test_an_existing_login_becomes_the_owner(self):
        user = UserFactory(email="anneke@goudenkorst.example")
        users_before = User.objects.count()

        out, err = _create_shop(*_args(owner_email="ANNEKE@goudenkorst.example"))

        assert out == "gouden-korst\n"
        assert err == ""
        assert User.objects.count() == users_before
        assert StaffMember.objects.get(shop__slug="gouden-korst").user == user
        user.refresh_from_db()
        assert user.check_password(PASSWORD)  # an existing password is left alone

    def test_a_taken_slug_is_refused_and_nothing_is_created(self):
        ShopFactory(slug="gouden-korst")
        before = _counts()

        with pytest.raises(CommandError) as exc:
            _create_shop(*_args())

        assert str(exc.value) == (
            "slug: The web address “gouden-korst” is taken. Try another, such as "
            "“gouden-korst-2”.")
        assert _counts() == before
        assert not User.objects.filter(email="anneke@goudenkorst.example").exists()

    def test_an_unknown_currency_is_refused_and_nothing_is_created(self):
        with pytest.raises(CommandError) as exc:
            _create_shop(*_args(currency="USD"))

        assert str(exc.value) == "currency: Unknown currency “USD”. Choose one of: EUR, SEK."
        assert _counts() == (0, 0, 0)

    def test_a_bad_owner_email_is_refused_and_nothing_is_created(self):
        with pytest.raises(CommandError) as exc:
            _create_shop(*_args(owner_email="anneke-at-goudenkorst"))

        assert str(exc.value) == "owner_email: Enter a valid e-mail address."
        assert _counts() == (0, 0, 0)

    def test_several_problems_are_listed_together(self):
        with pytest.raises(CommandError) as exc:
            _create_shop(*_args(currency="USD", language="de", slug="admin"))

        message = str(exc.value)
        assert "currency: Unknown currency “USD”. Choose one of: EUR, SEK." in message
        assert "language: Unknown language “de”. Choose one of: en, nl, sv." in message
        assert "slug: The web address “admin” is reserved. Try another." in message
        assert _counts() == (0, 0, 0)

    def test_missing_required_options_are_refused(self):
        with pytest.raises(CommandError) as exc:
            call_command("create_shop", "--name=Korst", stdout=StringIO(), stderr=StringIO())
        assert "required" in str(exc.value)
        for option in ("--slug", "--currency", "--owner-email"):
            assert option in str(exc.value)
        assert _counts() == (0, 0, 0)


# --- create_shop, as an operator runs it ------------------------------------------------------


@pytest.fixture
def subprocess_env(tmp_path):
    """The environment of ``manage.py`` in a subprocess, on its own throw-away SQLite file: a
    subprocess cannot see the test database (nor should it touch the developer's)."""
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "loyalty.settings_test",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'create_shop.sqlite3'}",
        "TROUW_VAR_DIR": str(tmp_path / "var"),
        "PYTHONIOENCODING": "utf-8",
    })
    env.pop("REDIS_URL", None)
    return env


def _manage(env, *args):
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=settings.BASE_DIR, env=env,
        capture_output=True, text=True, encoding="utf-8", timeout=180, check=False,
    )


def test_create_shop_as_a_subprocess(subprocess_env, tmp_path):
    migrate = _manage(subprocess_env, "migrate", "--no-input", "-v", "0")
    assert migrate.returncode == 0, migrate.stderr

    refused = _manage(subprocess_env, "create_shop", *_args(currency="USD"))

    assert refused.returncode == 1
    assert "CommandError: currency: Unknown currency “USD”. Choose one of: EUR, SEK." in (
        refused.stderr)
    assert refused.stdout == ""
    database = sqlite3.connect(tmp_path / "create_shop.sqlite3")
    try:
        assert database.execute("SELECT COUNT(*) FROM loyalty_shop").fetchone() == (0,)
        assert database.execute("SELECT COUNT(*) FROM loyalty_user").fetchone() == (0,)
    finally:
        database.close()

    created = _manage(subprocess_env, "create_shop", *_args())

    assert created.returncode == 0, created.stderr
    assert created.stdout == "gouden-korst\n"
    database = sqlite3.connect(tmp_path / "create_shop.sqlite3")
    try:
        assert database.execute(
            "SELECT s.slug, u.email, m.role FROM loyalty_staffmember m "
            "JOIN loyalty_shop s ON s.id = m.shop_id JOIN loyalty_user u ON u.id = m.user_id"
        ).fetchall() == [("gouden-korst", "anneke@goudenkorst.example", "owner")]
    finally:
        database.close()
