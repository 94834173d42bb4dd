"""Badges' fixtures: a shop on Amsterdam's clock with 10 points a euro and a 14-day pending
window, a member, and a helper that records a purchase at a given moment."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine

from loyalty import services
from tests.factories import MembershipFactory, ShopFactory
from tiers.badges import services as badge_services

AMSTERDAM = zoneinfo.ZoneInfo("Europe/Amsterdam")


@pytest.fixture
def badge_shop(db):
    shop = ShopFactory(name="Bakkerij Badge", slug="bakkerij-badge", time_zone="Europe/Amsterdam")
    services.program_rules_update(shop=shop, by=None, points_per_unit=10, pending_days=14)
    shop.refresh_from_db()
    return shop


@pytest.fixture
def badge_member(badge_shop):
    return MembershipFactory(shop=badge_shop)


def local(*args) -> dt.datetime:
    """A moment on Amsterdam's clock."""
    return dt.datetime(*args, tzinfo=AMSTERDAM)


def buy(shop, member, amount="10.00", at: dt.datetime | None = None, items=(), **kwargs):
    """Record a purchase (at ``at``, when given) and return it, with its ``news``."""
    if at is None:
        return services.purchase_record(shop=shop, amount=amount, membership_id=member.pk,
                                        items=items, **kwargs)
    with time_machine.travel(at, tick=False):
        return services.purchase_record(shop=shop, amount=amount, membership_id=member.pk,
                                        items=items, **kwargs)


def make_badge(shop, template="first_purchase", name=None, icon="star", **values):
    return badge_services.badge_create(shop=shop, template=template,
                                       name=name or template.replace("_", " ").title(),
                                       icon=icon, **values)
