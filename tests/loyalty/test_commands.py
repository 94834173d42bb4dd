"""Management commands: create_shop (operators' scripted set-up) and load_demo."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from loyalty.management.commands import load_demo
from loyalty.models import Membership, Shop, StaffMember, StaffRole, User
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


# --- load_demo ----------------------------------------------------------------------------------


def _demo_counts():
    return {
        "shops": Shop.objects.count(),
        "users": User.objects.count(),
        "staff": StaffMember.objects.count(),
        "members": Membership.objects.count(),
        "addresses": EmailAddress.objects.count(),
    }


@pytest.mark.django_db
class TestLoadDemo:
    def test_creates_the_demo_shop_its_people_and_members(self):
        out = StringIO()
        call_command("load_demo", stdout=out)

        shop = Shop.objects.get(slug=load_demo.DEMO_SLUG)
        assert (shop.currency, shop.language) == ("EUR", "nl")
        roles = dict(StaffMember.objects.filter(shop=shop).values_list("user__email", "role"))
        assert roles == {load_demo.OWNER_EMAIL: StaffRole.OWNER,
                         load_demo.STAFF_EMAIL: StaffRole.STAFF}
        for email in (load_demo.OWNER_EMAIL, load_demo.STAFF_EMAIL, load_demo.MEMBER_EMAIL):
            user = User.objects.get(email=email)
            assert user.check_password(load_demo.DEMO_PASSWORD), email
            assert EmailAddress.objects.filter(user=user, email=email, verified=True).exists()
        sanne = Membership.objects.get(shop=shop, user__email=load_demo.MEMBER_EMAIL)
        assert sanne.email == load_demo.MEMBER_EMAIL
        # 36 demo customers plus Sanne, the member with a login.
        assert Membership.objects.filter(shop=shop).count() == 37
        assert Membership.objects.filter(shop=shop, user__isnull=True).count() == 36
        assert _demo_counts() == {
            "shops": 1, "users": 3, "staff": 2, "members": 37, "addresses": 3}
        assert f"/s/{load_demo.DEMO_SLUG}/" in out.getvalue()
        assert load_demo.DEMO_PASSWORD in out.getvalue()

    def test_running_it_twice_creates_nothing_new(self):
        call_command("load_demo", stdout=StringIO())
        first = _demo_counts()
        cards = set(Membership.objects.values_list("card_number", flat=True))

        call_command("load_demo", stdout=StringIO())

        assert _demo_counts() == first
        assert set(Membership.objects.values_list("card_number", flat=True)) == cards

    def test_the_number_of_members_can_be_chosen(self):
        call_command("load_demo", "--members", "5", stdout=StringIO())
        assert Membership.objects.count() == 6
        call_command("load_demo", "--members", "8", stdout=StringIO())
        assert Membership.objects.count() == 9
