"""Shared fixtures: a shop with its owner, staff and a member, and clients signed in as each."""

from __future__ import annotations

import os

import pytest
from django.utils import translation

from loyalty import selectors
from tests.factories import (
    PASSWORD,
    MembershipFactory,
    OwnerFactory,
    ShopFactory,
    StaffMemberFactory,
    UserFactory,
)

IN_CI = os.environ.get("CI", "").lower() == "true"


def require_service(available: bool, what: str) -> None:
    """Skip a test whose service is missing on a developer machine; fail it in CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required in CI but is not available")
    pytest.skip(f"{what} is not available here")


@pytest.fixture
def shop(db):
    return ShopFactory(name="Bakkerij Noord", slug="bakkerij-noord", language="nl")


@pytest.fixture
def owner(shop):
    return OwnerFactory(shop=shop, user=UserFactory(email="owner@noord.example")).user


@pytest.fixture
def staff_user(shop):
    return StaffMemberFactory(shop=shop, user=UserFactory(email="staff@noord.example")).user


@pytest.fixture
def member(shop):
    """A member of ``shop`` with a login."""
    user = UserFactory(email="member@example.com")
    return MembershipFactory(shop=shop, user=user, email=user.email, name="Sanne Visser")


@pytest.fixture
def other_shop(db):
    return ShopFactory(name="Kaashandel Zuid", slug="kaashandel-zuid")


@pytest.fixture
def other_owner(other_shop):
    return OwnerFactory(shop=other_shop, user=UserFactory(email="owner@zuid.example")).user


def _client_for(client_class, user):
    client = client_class()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner, client):
    client.force_login(owner)
    return client


@pytest.fixture
def staff_client(staff_user, client):
    client.force_login(staff_user)
    return client


@pytest.fixture
def member_client(member, client):
    client.force_login(member.user)
    return client


@pytest.fixture
def password():
    return PASSWORD


@pytest.fixture(autouse=True)
def _reset_language():
    """A test that switches the language (a request with Accept-Language, an override that
    raised) must not leave it switched for the next test on this thread."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _forget_api_keys():
    """API keys' rows kept by one test (loyalty.selectors.api_key_for_raw_key) must not answer
    for the next: its database was rolled back."""
    yield
    selectors._api_key_rows.clear()
