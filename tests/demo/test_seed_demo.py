"""seed_demo: a large shop in bulk, consistent with the points engine (reconcile passes)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Sum
from django.utils import timezone

from loyalty.models import EntryKind, LedgerEntry, Membership, PointLot, Purchase, Shop
from loyalty.points import points_for_amount
from members.services import card_number_is_valid

pytestmark = pytest.mark.django_db


def _seed(*args):
    out, err = StringIO(), StringIO()
    call_command("seed_demo", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_seed_demo_builds_a_consistent_shop():
    out, err = _seed("--members", "50", "--purchases", "300", "--shop", "seed-test")

    shop = Shop.objects.get(slug="seed-test")
    assert shop.currency == "EUR"
    assert "Seeded seed-test: 50 members, 300 purchases" in out
    assert "100.0%" in err  # the progress bar went to stderr

    members = Membership.objects.filter(shop=shop)
    assert members.count() == 50
    cards = list(members.values_list("card_number", flat=True))
    assert len(set(cards)) == 50 and all(card_number_is_valid(c) for c in cards)
    phones = [p for p in members.values_list("phone", flat=True) if p]
    emails = [e for e in members.values_list("email", flat=True) if e]
    assert len(set(phones)) == len(phones) and len(set(emails)) == len(emails)

    purchases = Purchase.objects.filter(shop=shop)
    assert purchases.count() == 300
    with_card = purchases.filter(membership__isnull=False)
    assert 200 <= with_card.count() <= 300  # ~85%
    now = timezone.now()
    for purchase in purchases.select_related("membership", "rules"):
        assert purchase.amount.as_tuple().exponent == -2
        assert 2 <= purchase.amount <= 80
        assert now - purchase.created_at < timezone.timedelta(days=366)
        expected = points_for_amount(rules=purchase.rules, amount=purchase.amount)
        assert purchase.points_earned == (expected if purchase.membership_id else 0)
        if purchase.membership_id:
            assert purchase.membership.joined_at <= purchase.created_at

    # Timestamps were kept, not overwritten with "now" (auto_now_add).
    assert purchases.order_by("created_at").first().created_at < now - timezone.timedelta(days=7)
    entries = LedgerEntry.objects.filter(shop=shop)
    assert entries.count() == with_card.filter(points_earned__gt=0).count()
    assert set(entries.values_list("kind", flat=True)) == {EntryKind.EARN}
    entry = entries.select_related("purchase").first()
    assert entry.created_at == entry.purchase.created_at
    assert entry.points == entry.purchase.points_earned
    assert PointLot.objects.filter(membership__shop=shop).count() == entries.count()

    total = members.aggregate(total=Sum("points_balance"))["total"]
    assert total == entries.aggregate(total=Sum("points"))["total"] > 0
    call_command("reconcile_ledger", shop="seed-test", stdout=StringIO())  # raises on mismatch


def test_seed_demo_refuses_a_shop_with_data_and_changes_nothing():
    _seed("--members", "5", "--purchases", "20", "--shop", "seed-twice", "-v", "0")

    with pytest.raises(CommandError, match="has members or purchases already"):
        _seed("--members", "5", "--purchases", "20", "--shop", "seed-twice")

    assert Membership.objects.filter(shop__slug="seed-twice").count() == 5
    assert Purchase.objects.filter(shop__slug="seed-twice").count() == 20
    call_command("reconcile_ledger", shop="seed-twice", stdout=StringIO())
