"""Reads of the rewards app: the catalogue for owners, members and the counter; vouchers."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from loyalty.models import Membership, Shop

from .models import Reward, RewardSettings, Voucher, VoucherStatus


def reward_unavailable_reason(*, reward: Reward, now: dt.datetime) -> str | None:
    """Why nobody can claim ``reward`` now, or None. (Per-member checks come at claim time.)"""
    if not reward.active:
        return _("This reward is not offered at the moment.")
    if reward.available_from and now < reward.available_from:
        return _("This reward is available from %(date)s.") % {
            "date": timezone.localtime(reward.available_from).strftime("%d-%m-%Y")}
    if reward.available_until and now >= reward.available_until:
        return _("This reward is no longer available.")
    if reward.stock_total is not None and reward.stock_claimed >= reward.stock_total:
        return _("This reward is sold out.")
    return None


def level_names(*, shop: Shop) -> dict[int, str]:
    """The shop's level names by rank (1 for the lowest), from the app named in
    settings.TROUW_LEVEL_NAMES (tiers); empty without one."""
    path = getattr(settings, "TROUW_LEVEL_NAMES", None)
    return import_string(path)(shop=shop) if path else {}


def reward_level_reason(*, reward: Reward, level_rank: int | None,
                        names: dict[int, str]) -> str | None:
    """Why a member at ``level_rank`` (None: nobody in particular, the public page) cannot
    claim a reward kept for a minimum level (``min_tier_level``, a rank the card holds in
    ``Membership.level_rank``), or None."""
    needed = reward.min_tier_level
    if not needed or (level_rank is not None and level_rank >= needed):
        return None
    name = names.get(needed)
    if name:
        return _("For members from level %(level)s up.") % {"level": name}
    return _("For members from level %(rank)s up.") % {"rank": needed}


def min_level_words(*, rank: int | None, names: dict[int, str]) -> str:
    """Who may claim a reward kept for a minimum level, for the owner: "Zilver and up"; empty
    for everyone."""
    if not rank:
        return ""
    name = names.get(rank)
    if name:
        return _("%(level)s and up") % {"level": name}
    return _("Level %(rank)s and up (no longer one of your levels)") % {"rank": rank}


def rewards_for_catalogue(*, shop: Shop) -> QuerySet[Reward]:
    """All rewards, in display order, with how often each was claimed and used."""
    return Reward.objects.for_shop(shop).annotate(
        claimed_count=Count("vouchers", filter=~Q(vouchers__status=VoucherStatus.CANCELLED)),
        used_count=Count("vouchers", filter=Q(vouchers__status=VoucherStatus.USED)),
    ).order_by("display_order", "pk")


def rewards_for_member(*, shop: Shop, spendable: int, now=None,
                       level_rank: int | None = None) -> list[dict]:
    """The rewards a member can see: active and in their window, each with whether the member
    can afford it now and how many points they still need; a reward for a higher level than
    the member's (``level_rank``; None on the public page) says from which level."""
    now = now or timezone.now()
    names = level_names(shop=shop)
    rows = []
    for reward in Reward.objects.for_shop(shop).filter(active=True).order_by(
            "display_order", "pk"):
        if reward.available_until and now >= reward.available_until:
            continue
        reason = reward_unavailable_reason(reward=reward, now=now) or reward_level_reason(
            reward=reward, level_rank=level_rank, names=names)
        rows.append({
            "reward": reward,
            "affordable": reason is None and spendable >= reward.points_cost,
            "points_needed": max(reward.points_cost - spendable, 0),
            "unavailable": reason,
        })
    return rows


def rewards_beside_stamp_card(*, rows: list[dict], stamps: dict | None) -> list[dict]:
    """The counter's rewards beside a stamp card: without those that cost exactly one full
    card. The core's member panel shows the card ("7 of 10 stamps") and hands a full one out;
    a catalogue row for the same card would say it twice, with a second button that does the
    same. Rewards of other sizes (a cookie for 5 stamps) stay."""
    if not stamps:
        return rows
    return [row for row in rows if row["reward"].points_cost != stamps["total"]]


def vouchers_for_member(*, membership: Membership) -> QuerySet[Voucher]:
    return Voucher.objects.filter(membership=membership).select_related("reward").order_by(
        "-created_at")


def vouchers_for_shop(*, shop: Shop) -> QuerySet[Voucher]:
    return Voucher.objects.filter(shop=shop).select_related("reward", "membership")


def voucher_used_by_name(*, voucher: Voucher) -> str:
    """Who used the voucher, as the counter knows them: the staff member's name (or e-mail),
    or the name of the till's API key; empty when nobody is recorded."""
    if voucher.used_by_id:
        return voucher.used_by.name or voucher.used_by.email
    if voucher.used_by_api_key_id:
        return voucher.used_by_api_key.name
    return ""


def birthday_reward_words(*, shop: Shop) -> str | None:
    """What the rewards app adds to a birthday gift, in words (settings'
    TROUW_BIRTHDAY_GIFT_EXTRAS): "a voucher for a free coffee", or None."""
    reward = (Reward.objects.filter(pk__in=RewardSettings.objects.filter(
        shop=shop).values("birthday_reward")).only("name").first())
    if reward is None:
        return None
    return _("a voucher for %(reward)s") % {"reward": reward.name}
