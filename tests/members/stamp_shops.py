"""A shop that runs a stamp card, for the customer side's tests (view and browser tests).

The rules editor that saves stamp programs is being built apart; these tests store the version
as the brief describes it: a one-step rule, a stamp per purchase from the minimum."""

from __future__ import annotations

from loyalty.models import EntryKind, ProgramKind, ProgramRules, Shop
from loyalty.services import points_credit


def stamp_card_start(shop: Shop, *, stamps_per_card: int = 10, reward: str = "a free coffee",
                     minimum: str = "3.00") -> ProgramRules:
    latest = ProgramRules.objects.filter(shop=shop).order_by("-version").first()
    rules = ProgramRules.objects.create(
        shop=shop, version=(latest.version + 1) if latest else 1, program=ProgramKind.STAMPS,
        stamps_per_card=stamps_per_card, stamp_reward=reward, points_per_unit=0,
        steps=[{"min_amount": minimum, "points": 1}], steps_replace_rate=True,
    )
    Shop.objects.filter(pk=shop.pk).update(current_rules=rules)
    shop.current_rules = rules
    return rules


def stamps_give(shop: Shop, membership, stamps: int) -> None:
    points_credit(shop=shop, membership_id=membership.pk, points=stamps,
                  kind=EntryKind.ADJUSTMENT)
    membership.refresh_from_db()
