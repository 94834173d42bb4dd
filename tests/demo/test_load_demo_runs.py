"""load_demo on other days, and a shop it must not keep (each test loads its own demo, smaller)."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from demo import bakery, kafe
from demo.management.commands import load_demo
from loyalty import selectors
from loyalty.models import Membership, Purchase, Shop, User
from rewards.models import Voucher, VoucherStatus

pytestmark = pytest.mark.django_db


def _load() -> str:
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


@pytest.mark.parametrize("moment", [
    dt.datetime(2027, 7, 4, 21, 30, tzinfo=dt.UTC),  # a Sunday evening in summer time
    dt.datetime(2028, 2, 29, 6, 0, tzinfo=dt.UTC),  # a leap day, before the shops open
])
def test_the_story_holds_on_another_day(moment, monkeypatch):
    """The plan follows the cards as the services count them, whatever the calendar: the
    command refuses to keep a shop with a refused claim or a card that does not reconcile."""
    monkeypatch.setattr(bakery, "MEMBERS", 80)
    monkeypatch.setattr(kafe, "MEMBERS", 20)
    with time_machine.travel(moment, tick=False):
        _load()
        assert not Voucher.objects.filter(status=VoucherStatus.OPEN,
                                          expires_at__lte=moment).exists()
    assert Membership.objects.filter(shop__slug=bakery.SLUG).count() == 80
    assert not Purchase.objects.filter(created_at__gt=moment).exists()
    assert selectors.ledger_mismatches() == []


def test_a_shop_that_does_not_reconcile_is_not_kept(monkeypatch):
    monkeypatch.setattr(bakery, "MEMBERS", 20)
    monkeypatch.setattr(kafe, "MEMBERS", 10)
    monkeypatch.setattr(load_demo.selectors, "ledger_mismatches",
                        lambda shop: [{"card_number": "x"}] if shop.slug == kafe.SLUG else [])

    with pytest.raises(CommandError, match="Kafé Kanelbullen: 1 cards do not reconcile"):
        _load()

    assert Shop.objects.filter(slug=bakery.SLUG).exists()  # each shop in its own transaction
    assert not Shop.objects.filter(slug=kafe.SLUG).exists()
    assert not User.objects.filter(email=kafe.OWNER_EMAIL).exists()
