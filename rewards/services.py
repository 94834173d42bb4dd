"""Rewards: the catalogue, claiming vouchers with points, using, cancelling and expiring them,
and paying with points. Points move only through the core's ledger services.

Lock order (as in the core): the membership row first; then reward stock and vouchers are changed
with conditional UPDATEs whose row counts decide, so two counters cannot use one voucher and two
members cannot take the last item.
"""

from __future__ import annotations

import datetime as dt
import secrets
import zoneinfo
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from loyalty import services as loyalty_services
from loyalty.models import ApiKey, BirthdayGift, EntryKind, LedgerEntry, Shop, User
from loyalty.points import MAX_BALANCE, points_as_money
from loyalty.services import field_error, image_upload_check

from .models import LimitPeriod, Reward, RewardKind, RewardSettings, Voucher, VoucherStatus
from .selectors import level_names, reward_level_reason, reward_unavailable_reason

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, no 1/I: read aloud and typed
CODE_LENGTH = 8  # 32⁸ ≈ 10¹²

REWARD_FIELDS = (
    "kind", "name", "description", "image", "points_cost", "value_amount", "value_percent",
    "product_name", "active", "display_order", "available_from", "available_until",
    "stock_total", "limit_per_member", "limit_period", "min_tier_level", "voucher_valid_days",
)


def voucher_code_new() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def voucher_code_normalize(raw: str) -> str:
    """What a person types or a scanner sends: any case, with spaces or dashes."""
    return "".join(ch for ch in (raw or "").upper() if ch.isalnum())


def voucher_code_display(code: str) -> str:
    return f"{code[:4]}-{code[4:]}" if len(code) == CODE_LENGTH else code


def reward_settings_for(*, shop: Shop) -> RewardSettings:
    settings_row, _created = RewardSettings.objects.get_or_create(shop=shop)
    return settings_row


def reward_settings_update(*, shop: Shop, expired_vouchers_return_points: bool,
                           pay_with_points: bool, pay_with_points_cap: int | None,
                           birthday_reward: Reward | int | None = None) -> RewardSettings:
    """``birthday_reward``: the reward (or its id) members get a free voucher for with their
    birthday gift; None for none. It must be one of the shop's rewards."""
    if pay_with_points_cap is not None and pay_with_points_cap <= 0:
        raise field_error("pay_with_points_cap", _("Enter a number above zero, or leave it "
                                                   "empty."))
    reward_id = birthday_reward.pk if isinstance(birthday_reward, Reward) else birthday_reward
    reward = None
    if reward_id is not None:
        reward = Reward.objects.for_shop(shop).filter(pk=reward_id).first()
        if reward is None:
            raise field_error("birthday_reward", _("Choose one of your rewards, or none."))
    settings_row = reward_settings_for(shop=shop)
    settings_row.expired_vouchers_return_points = expired_vouchers_return_points
    settings_row.pay_with_points = pay_with_points
    settings_row.pay_with_points_cap = pay_with_points_cap
    settings_row.birthday_reward = reward
    settings_row.save()
    return settings_row


# --- Catalogue -------------------------------------------------------------------------------


def _image_check(image) -> None:
    if not image or not hasattr(image, "size") or getattr(image, "_committed", False):
        return  # unchanged
    image_upload_check(image, field="image", too_large=_("The image may be 2 MB at most."))


# What each kind of reward is worth is stored in its own field; the others stay empty, so a
# reward never carries a value of another kind (e.g. after its kind was changed).
KIND_VALUE_FIELDS = {
    RewardKind.AMOUNT_OFF: ("value_amount",),
    RewardKind.PERCENT_OFF: ("value_percent",),
    RewardKind.FREE_PRODUCT: ("product_name",),
    RewardKind.GIFT_VOUCHER: ("value_amount",),
    RewardKind.PERK: (),
}
VALUE_FIELDS = {"value_amount": None, "value_percent": None, "product_name": ""}
NAME_MAX = 100
DESCRIPTION_MAX = 1000
PRODUCT_NAME_MAX = 100
# Stock and limits far beyond any shop, well inside the integer columns.
STOCK_MAX = 1_000_000
LIMIT_MAX = 1_000
VOUCHER_DAYS_MAX = 3650


def _kind_values_clear(reward: Reward) -> list[str]:
    """Empty the value fields the reward's kind does not use; the names of those changed."""
    keep = KIND_VALUE_FIELDS.get(reward.kind, ())
    cleared = []
    for name, empty in VALUE_FIELDS.items():
        if name not in keep and getattr(reward, name) != empty:
            setattr(reward, name, empty)
            cleared.append(name)
    return cleared


def reward_value_errors(*, kind: str, value_amount=None, value_percent=None,
                        product_name: str = "") -> dict[str, list[str]]:
    """What is wrong with a kind's value: {field: [message]}, empty when it is right. (The form
    asks too, so these show along with its other messages.)"""
    errors: dict[str, list[str]] = {}
    if kind in (RewardKind.AMOUNT_OFF, RewardKind.GIFT_VOUCHER) and not (
        value_amount and value_amount > 0
    ):
        errors["value_amount"] = [_("Enter the amount, e.g. %(example)s.") % {
            "example": loyalty_services.money_display(Decimal("5.00"))}]
    if kind == RewardKind.PERCENT_OFF and not (value_percent and 1 <= value_percent <= 100):
        errors["value_percent"] = [_("Enter a percentage from 1 to 100.")]
    if kind == RewardKind.FREE_PRODUCT and not (product_name or "").strip():
        errors["product_name"] = [_("Name the free product.")]
    elif len(product_name or "") > PRODUCT_NAME_MAX:
        errors["product_name"] = [_("Keep the product's name to %(max)s characters or "
                                    "fewer.") % {"max": PRODUCT_NAME_MAX}]
    return errors


def _reward_check(reward: Reward) -> None:
    errors = reward_value_errors(kind=reward.kind, value_amount=reward.value_amount,
                                 value_percent=reward.value_percent,
                                 product_name=reward.product_name)
    if reward.kind not in RewardKind.values:
        errors["kind"] = [_("Choose one of the kinds of reward.")]
    if not (reward.name or "").strip():
        errors["name"] = [_("Give the reward a name, e.g. “Free coffee”.")]
    elif len(reward.name) > NAME_MAX:
        errors["name"] = [_("Keep the name to %(max)s characters or fewer.") % {
            "max": NAME_MAX}]
    if len(reward.description or "") > DESCRIPTION_MAX:
        errors["description"] = [_("Keep the description to %(max)s characters or fewer.") % {
            "max": loyalty_services.points_display(DESCRIPTION_MAX)}]
    if not 1 <= (reward.voucher_valid_days or 0) <= VOUCHER_DAYS_MAX:
        errors["voucher_valid_days"] = [_("Enter 1 to %(max)s days.") % {
            "max": loyalty_services.points_display(VOUCHER_DAYS_MAX)}]
    if reward.points_cost is None:
        errors["points_cost"] = [_("Enter how many points the reward costs.")]
    elif reward.points_cost <= 0:
        errors["points_cost"] = [_("The cost must be at least 1 point.")]
    elif reward.points_cost > MAX_BALANCE:
        errors["points_cost"] = [_("A card holds at most %(max)s points: choose a lower "
                                   "cost.") % {"max": loyalty_services.points_display(
                                       MAX_BALANCE)}]
    if reward.available_from and reward.available_until and (
        reward.available_until <= reward.available_from
    ):
        errors["available_until"] = [_("The end must be after the start.")]
    if reward.stock_total is not None and not 0 <= reward.stock_total <= STOCK_MAX:
        errors["stock_total"] = [_("Enter a stock from 0 to %(max)s, or leave it empty for "
                                   "no limit.") % {
            "max": loyalty_services.points_display(STOCK_MAX)}]
    elif reward.stock_total is not None and reward.stock_total < reward.stock_claimed:
        errors["stock_total"] = [ngettext(
            "%(claimed)s has been claimed already: the stock cannot be lower.",
            "%(claimed)s have been claimed already: the stock cannot be lower.",
            reward.stock_claimed) % {"claimed": reward.stock_claimed}]
    if reward.limit_per_member is not None and not 1 <= reward.limit_per_member <= LIMIT_MAX:
        errors["limit_per_member"] = [_("Enter a limit from 1 to %(max)s, or leave it empty "
                                        "for no limit.") % {
            "max": loyalty_services.points_display(LIMIT_MAX)}]
    if reward.limit_period not in LimitPeriod.values:
        errors["limit_period"] = [_("Choose “per month” or “in total”.")]
    if errors:
        raise ValidationError(errors)
    try:
        reward.full_clean(exclude=["shop", "stock_claimed"])
    except ValidationError as exc:
        raise ValidationError(exc.message_dict) from None


def _reward_values(fields: dict) -> dict:
    unknown = set(fields) - set(REWARD_FIELDS)
    if unknown:
        raise ValidationError(_("Unknown reward fields: %(fields)s") % {
            "fields": ", ".join(sorted(unknown))})
    values = dict(fields)
    for name in ("name", "description", "product_name"):
        if name in values and isinstance(values[name], str):
            values[name] = values[name].strip()
    for name in ("points_cost", "stock_total", "limit_per_member", "value_percent",
                 "min_tier_level", "voucher_valid_days", "display_order"):
        value = values.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise field_error(name, _("Enter a whole number."))
        if isinstance(value, int) and value < 0 and name in ("min_tier_level", "display_order"):
            raise field_error(name, _("The number cannot be negative."))
    if values.get("value_amount") is not None:
        values["value_amount"] = loyalty_services.money_parse(values["value_amount"],
                                                              field="value_amount")
    return values


def _min_level_check(*, shop: Shop, rank: int | None) -> None:
    """A minimum level is one of the shop's levels (settings.TROUW_LEVEL_NAMES), or none
    (None or 0)."""
    if rank and rank not in level_names(shop=shop):
        raise field_error("min_tier_level", _("Choose one of your levels, or everyone."))


def reward_create(*, shop: Shop, **fields) -> Reward:
    values = _reward_values(fields)
    _image_check(values.get("image"))
    _min_level_check(shop=shop, rank=values.get("min_tier_level"))
    if "display_order" not in values:
        last = Reward.objects.for_shop(shop).order_by("-display_order").first()
        values["display_order"] = (last.display_order + 1) if last else 0
    reward = Reward(shop=shop, **values)
    _kind_values_clear(reward)
    _reward_check(reward)
    reward.save()
    return reward


def reward_update(*, shop: Shop, reward_id: int, **fields) -> Reward:
    values = _reward_values(fields)
    _image_check(values.get("image"))
    with transaction.atomic():
        reward = Reward.objects.for_shop(shop).select_for_update().filter(pk=reward_id).first()
        if reward is None:
            raise ValidationError(_("No such reward at this shop."), code="not_found")
        # A level removed since keeps its rank on the reward until the owner picks another.
        if values.get("min_tier_level", reward.min_tier_level) != reward.min_tier_level:
            _min_level_check(shop=shop, rank=values["min_tier_level"])
        for name, value in values.items():
            setattr(reward, name, value)
        cleared = _kind_values_clear(reward)
        _reward_check(reward)
        reward.save(update_fields=sorted(set(values) | set(cleared)))
    return reward


def reward_delete(*, shop: Shop, reward_id: int) -> None:
    """Delete a reward that was never claimed. One with vouchers (open, used, cancelled or
    expired) stays: they point at it, and the shop's history needs it. It can be switched off."""
    with transaction.atomic():
        reward = Reward.objects.for_shop(shop).select_for_update().filter(pk=reward_id).first()
        if reward is None:
            raise ValidationError(_("No such reward at this shop."), code="not_found")
        claims = Voucher.objects.filter(reward=reward).count()
        if claims:
            raise ValidationError(ngettext(
                "“%(name)s” was claimed %(count)s time, so it stays in your records. Switch it "
                "off instead: customers then no longer see it.",
                "“%(name)s” was claimed %(count)s times, so it stays in your records. Switch it "
                "off instead: customers then no longer see it.",
                claims) % {"name": reward.name, "count": claims}, code="has_vouchers")
        image_name, storage = reward.image.name, reward.image.storage
        try:
            with transaction.atomic():
                reward.delete()
        except (IntegrityError, ProtectedError):
            # A voucher claimed in the same moment: it wins, the reward stays.
            raise ValidationError(_("“%(name)s” was just claimed, so it stays in your records. "
                                    "Switch it off instead: customers then no longer see it.")
                                  % {"name": reward.name}, code="has_vouchers") from None
        if image_name:
            transaction.on_commit(lambda: storage.delete(image_name))


def reward_move(*, shop: Shop, reward_id: int, up: bool) -> None:
    """Move a reward one place up or down in the catalogue."""
    with transaction.atomic():
        rewards = list(Reward.objects.for_shop(shop).select_for_update().order_by(
            "display_order", "pk"))
        index = next((i for i, r in enumerate(rewards) if r.pk == reward_id), None)
        if index is None:
            raise ValidationError(_("No such reward at this shop."), code="not_found")
        other = index - 1 if up else index + 1
        if 0 <= other < len(rewards):
            rewards[index], rewards[other] = rewards[other], rewards[index]
        for position, reward in enumerate(rewards):
            reward.display_order = position
        Reward.objects.bulk_update(rewards, ["display_order"])


# --- Claiming and redeeming --------------------------------------------------------------------


def _period_start(shop: Shop, period: str, now: dt.datetime) -> dt.datetime | None:
    if period != LimitPeriod.MONTH:
        return None
    local = timezone.localtime(now, zoneinfo.ZoneInfo(shop.time_zone))
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def voucher_claim(
    *,
    shop: Shop,
    membership_id: int,
    reward_id: int,
    actor_user: User | None = None,
    actor_api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
    notify: bool = True,
) -> Voucher:
    """Spend the reward's points and issue a voucher. Refuses (changing nothing) a reward of
    another shop, an inactive, out-of-window or sold-out reward, a member over the reward's
    limit, and a member without enough spendable points. With ``notify`` the member gets the
    voucher by e-mail (an outbox row in this transaction)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            membership = loyalty_services.membership_lock(shop=shop, membership_id=membership_id)
            reward = Reward.objects.for_shop(shop).filter(pk=reward_id).first()
            if reward is None:
                raise field_error("reward", _("No such reward at this shop."), code="not_found")
            reason = reward_unavailable_reason(reward=reward, now=now)
            if reason:
                raise field_error("reward", reason, code="unavailable")
            # A reward kept for a minimum level: the card's level as the locked row holds it.
            below = reward_level_reason(reward=reward, level_rank=membership.level_rank,
                                        names=level_names(shop=shop) if reward.min_tier_level
                                        else {})
            if below:
                raise field_error("reward", below, code="level_too_low")
            if reward.limit_per_member is not None:
                claimed = Voucher.objects.filter(membership=membership, reward=reward).exclude(
                    status=VoucherStatus.CANCELLED)
                since = _period_start(shop, reward.limit_period, now)
                if since is not None:
                    claimed = claimed.filter(created_at__gte=since)
                if claimed.count() >= reward.limit_per_member:
                    raise field_error("reward", ngettext(
                        "This member has claimed this reward %(count)s time already, the "
                        "most allowed %(period)s.",
                        "This member has claimed this reward %(count)s times already, the "
                        "most allowed %(period)s.",
                        reward.limit_per_member,
                    ) % {"count": reward.limit_per_member,
                         "period": reward.get_limit_period_display()}, code="limit_reached")
            if reward.stock_total is not None:
                taken = Reward.objects.filter(
                    pk=reward.pk, stock_claimed__lt=F("stock_total")
                ).update(stock_claimed=F("stock_claimed") + 1)
                if taken != 1:
                    raise field_error("reward", _("This reward is sold out."),
                                      code="unavailable")
            entry = loyalty_services.points_spend(
                shop=shop, membership_id=membership.pk, points=reward.points_cost,
                kind=EntryKind.REDEMPTION, reference=f"rewards.reward:{reward.pk}",
                note=reward.name, actor_user=actor_user, actor_api_key=actor_api_key,
                idempotency_key=f"claim:{idempotency_key}" if idempotency_key else None,
            )
            voucher = _voucher_create(shop=shop, reward=reward, membership=membership,
                                      entry=entry, now=now, actor_user=actor_user,
                                      actor_api_key=actor_api_key)
            if notify:
                voucher_issued_write(voucher=voucher)
            return voucher
    except IntegrityError:
        if not idempotency_key:
            raise
        existing = Voucher.objects.filter(
            shop=shop, redemption_entry__idempotency_key=f"claim:{idempotency_key}").first()
        if existing is None:
            raise
        raise loyalty_services.DuplicateRequest(existing) from None


def _voucher_create(*, shop, reward, membership, entry, now, actor_user, actor_api_key):
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Voucher.objects.create(
                    shop=shop, reward=reward, membership=membership, code=voucher_code_new(),
                    points_spent=reward.points_cost, redemption_entry=entry,
                    expires_at=now + dt.timedelta(days=reward.voucher_valid_days),
                    claimed_by=actor_user, claimed_by_api_key=actor_api_key,
                )
        except IntegrityError as exc:
            if "code" not in str(exc):
                raise
    raise RuntimeError("Could not draw a free voucher code")


def voucher_issued_write(*, voucher: Voucher) -> None:
    """The 'here is your voucher' e-mail (transactional), written in the caller's transaction;
    once per voucher. Other issuers (a birthday voucher) call it too."""
    membership = voucher.membership
    if membership.email:
        loyalty_services.outbox_write(
            shop=voucher.shop, kind="voucher_issued", key=f"voucher_issued:{voucher.pk}",
            to=membership.email, language=membership.language, membership=membership,
            context={"voucher_id": voucher.pk})


# Reminders go out in the shop's daytime: from this local hour, until the next.
REMINDER_FIRST_HOUR, REMINDER_LAST_HOUR = 9, 20


def voucher_reminders_write(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Write the 'your voucher expires soon' e-mail (marketing: members with consent only) for
    open vouchers expiring within settings.TROUW_VOUCHER_REMINDER_DAYS, once per voucher (the
    outbox key), in each shop's daytime (its local hour, worked out here: the job runs hourly
    in UTC). A voucher claimed less than a day ago gets none (its own e-mail just said the
    date). Safe to run any number of times. Returns counts: shops, written."""
    from django.conf import settings
    from django.db.models import CharField, Exists, OuterRef, Value
    from django.db.models.functions import Cast, Concat

    from loyalty.models import OutboxMessage

    now = now or timezone.now()
    reminded = OutboxMessage.objects.filter(key=Concat(
        Value("voucher_expiring:"), Cast(OuterRef("pk"), CharField())))
    due = (Voucher.objects.filter(
        status=VoucherStatus.OPEN, expires_at__gt=now + dt.timedelta(hours=1),
        expires_at__lte=now + dt.timedelta(days=settings.TROUW_VOUCHER_REMINDER_DAYS),
        created_at__lte=now - dt.timedelta(days=1),
        membership__marketing_consent=True).exclude(membership__email="")
        .exclude(Exists(reminded)).select_related("membership").order_by("shop_id", "pk"))
    by_shop: dict[int, list[Voucher]] = {}
    for voucher in due.iterator(chunk_size=1000):
        by_shop.setdefault(voucher.shop_id, []).append(voucher)
    written = shops = 0
    for shop in Shop.objects.filter(pk__in=by_shop).order_by("pk"):
        local_hour = timezone.localtime(now, zoneinfo.ZoneInfo(shop.time_zone)).hour
        if not REMINDER_FIRST_HOUR <= local_hour <= REMINDER_LAST_HOUR:
            continue
        with transaction.atomic():
            written += loyalty_services.outbox_write_many(shop=shop, kind="voucher_expiring",
                                                          messages=[{
                "key": f"voucher_expiring:{v.pk}", "to": v.membership.email,
                "language": v.membership.language, "membership": v.membership,
                "context": {"voucher_id": v.pk}} for v in by_shop[shop.pk]])
        shops += 1
    return {"shops": shops, "written": written}


def voucher_find(*, shop: Shop, code: str) -> Voucher:
    voucher = (Voucher.objects.filter(shop=shop, code=voucher_code_normalize(code))
               .select_related("reward", "membership", "used_by", "used_by_api_key").first())
    if voucher is None:
        raise field_error("code", _("No voucher with this code at this shop."),
                          code="not_found")
    return voucher


def _not_open_reason(voucher: Voucher, shop: Shop) -> str:
    if voucher.status == VoucherStatus.USED:
        used_at = timezone.localtime(voucher.used_at, zoneinfo.ZoneInfo(shop.time_zone))
        return _("This voucher was used already, on %(date)s.") % {
            "date": used_at.strftime("%d-%m-%Y %H:%M")}
    if voucher.status == VoucherStatus.CANCELLED:
        return _("This voucher was cancelled.")
    return _("This voucher has expired.")


def voucher_use(*, shop: Shop, code: str, actor_user: User | None = None,
                actor_api_key: ApiKey | None = None) -> Voucher:
    """Mark a voucher used, once. A second use, at any counter, is refused (code "conflict")."""
    voucher = voucher_find(shop=shop, code=code)
    now = timezone.now()
    used = Voucher.objects.filter(
        pk=voucher.pk, status=VoucherStatus.OPEN, expires_at__gt=now
    ).update(status=VoucherStatus.USED, used_at=now, used_by=actor_user,
             used_by_api_key=actor_api_key)
    voucher.refresh_from_db()
    if used != 1:
        raise field_error("code", _not_open_reason(voucher, shop), code="conflict")
    return voucher


def reward_redeem_at_counter(*, shop: Shop, membership_id: int, reward_id: int, by: User,
                             idempotency_key: str | None = None) -> Voucher:
    """Staff pick a reward for the member in front of them: points off and voucher used at once."""
    with transaction.atomic():
        # Handed out at once: no e-mail with a code that is used already.
        voucher = voucher_claim(shop=shop, membership_id=membership_id, reward_id=reward_id,
                                actor_user=by, idempotency_key=idempotency_key, notify=False)
        return voucher_use(shop=shop, code=voucher.code, actor_user=by)


def _voucher_close(*, voucher_id: int, shop: Shop, status: str, give_back: bool,
                   actor_user: User | None, now: dt.datetime) -> Voucher | None:
    """Close an open voucher (cancelled or expired): its reward's stock always comes back (the
    item was never handed out); its points only when ``give_back``.
    Returns None when it was not open any more (someone else closed or used it)."""
    with transaction.atomic():
        voucher = Voucher.objects.filter(pk=voucher_id, shop=shop).first()
        if voucher is None:
            return None
        loyalty_services.membership_lock(shop=shop, membership_id=voucher.membership_id)
        closed = Voucher.objects.filter(pk=voucher.pk, status=VoucherStatus.OPEN).update(
            status=status, closed_at=now)
        if closed != 1:
            return None
        claimed = voucher.redemption_entry_id is not None  # a birthday voucher was given
        if claimed:
            Reward.objects.filter(pk=voucher.reward_id, stock_total__isnull=False,
                                  stock_claimed__gt=0).update(stock_claimed=F("stock_claimed") - 1)
        if give_back and claimed and voucher.points_spent > 0:
            entry = loyalty_services.points_credit(
                shop=shop, membership_id=voucher.membership_id, points=voucher.points_spent,
                kind=EntryKind.REVERSAL, reverses=voucher.redemption_entry,
                reference=f"rewards.voucher:{voucher.pk}", actor_user=actor_user,
                idempotency_key=f"voucher-return:{voucher.pk}",
            )
            Voucher.objects.filter(pk=voucher.pk).update(return_entry=entry)
        voucher.refresh_from_db()
        return voucher


def voucher_cancel(*, shop: Shop, voucher_id: int, by: User,
                   membership_id: int | None = None) -> Voucher:
    """Cancel an unused voucher; its points come back. A member may cancel only their own
    (pass ``membership_id``); the owner any of the shop's."""
    now = timezone.now()
    vouchers = Voucher.objects.filter(shop=shop, pk=voucher_id)
    if membership_id is not None:
        vouchers = vouchers.filter(membership_id=membership_id)
    voucher = vouchers.first()
    if voucher is None:
        raise field_error("voucher", _("No such voucher."), code="not_found")
    closed = _voucher_close(voucher_id=voucher.pk, shop=shop, status=VoucherStatus.CANCELLED,
                            give_back=True, actor_user=by, now=now)
    if closed is None:
        voucher.refresh_from_db()
        raise field_error("voucher", _not_open_reason(voucher, shop), code="conflict")
    return closed


def vouchers_expire(*, now: dt.datetime | None = None) -> int:
    """Close open vouchers past their date; return their points where the shop says so (their
    reward's stock comes back in any case).
    Each voucher in its own transaction; safe to run any number of times."""
    now = now or timezone.now()
    expired = 0
    due = Voucher.objects.filter(status=VoucherStatus.OPEN, expires_at__lte=now).select_related(
        "shop").order_by("pk")
    for voucher in due.iterator(chunk_size=500):
        give_back = reward_settings_for(shop=voucher.shop).expired_vouchers_return_points
        if _voucher_close(voucher_id=voucher.pk, shop=voucher.shop, status=VoucherStatus.EXPIRED,
                          give_back=give_back, actor_user=None, now=now) is not None:
            expired += 1
    return expired


# --- Pay with points ---------------------------------------------------------------------------


def points_pay(*, shop: Shop, membership_id: int, points: int, by: User | None = None,
               api_key: ApiKey | None = None, reference: str = "",
               idempotency_key: str | None = None) -> tuple[LedgerEntry, Decimal]:
    """Take ``points`` off the current purchase as money at the shop's point value: a partial
    redemption. Returns the entry and the money it is worth. With an idempotency key (the
    counter's form token) it happens once: a repeat raises DuplicateRequest with the first
    entry."""
    settings_row = reward_settings_for(shop=shop)
    if not settings_row.pay_with_points:
        raise field_error("points", _("This shop does not take points as payment."),
                          code="not_allowed")
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise field_error("points", _("Enter a whole number of points above zero."))
    if settings_row.pay_with_points_cap is not None and points > settings_row.pay_with_points_cap:
        raise field_error("points", ngettext(
            "At most %(cap)s point per purchase.", "At most %(cap)s points per purchase.",
            settings_row.pay_with_points_cap) % {"cap": settings_row.pay_with_points_cap})
    rules = loyalty_services.program_rules_current(shop=shop)
    money = points_as_money(rules=rules, points=points)
    try:
        entry = loyalty_services.points_spend(
            shop=shop, membership_id=membership_id, points=points, kind=EntryKind.REDEMPTION,
            reference=(reference or "")[:64],
            note=_("Paid with points: %(money)s %(currency)s") % {
                "money": loyalty_services.money_display(money), "currency": shop.currency},
            actor_user=by, actor_api_key=api_key, idempotency_key=idempotency_key,
        )
    except IntegrityError:
        existing = idempotency_key and LedgerEntry.objects.filter(
            shop=shop, idempotency_key=idempotency_key).first()
        if not existing:
            raise
        raise loyalty_services.DuplicateRequest(existing) from None
    return entry, money


# --- Birthday vouchers -------------------------------------------------------------------------


def birthday_vouchers_issue(*, shop: Shop, gifts: list[BirthdayGift]) -> list[Voucher]:
    """The ``birthday`` moment's effect (settings.TROUW_EFFECTS): a free voucher of the shop's
    birthday reward for each gift of the batch, in one statement, recorded in the gift's
    ``extras`` (``{"kind": "voucher", "name": …, "code": …}``) for the e-mail and the portal.
    Runs in the batch's transaction: the vouchers exist exactly when the gifts do."""
    settings_row = (RewardSettings.objects.filter(shop=shop, birthday_reward__isnull=False)
                    .select_related("birthday_reward").first())
    if settings_row is None or not gifts:
        return []
    reward = settings_row.birthday_reward
    now = timezone.now()
    for _attempt in range(5):
        vouchers = [Voucher(shop=shop, reward=reward, membership_id=gift.membership_id,
                            code=voucher_code_new(), points_spent=0, birthday_gift_id=gift.pk,
                            expires_at=now + dt.timedelta(days=reward.voucher_valid_days))
                    for gift in gifts]
        try:
            with transaction.atomic():
                Voucher.objects.bulk_create(vouchers)
            break
        except IntegrityError as exc:
            if "code" not in str(exc):
                raise
    else:
        raise RuntimeError("Could not draw free voucher codes")
    for gift, voucher in zip(gifts, vouchers, strict=True):
        gift.extras = [*gift.extras, {"kind": "voucher", "name": reward.name,
                                      "code": voucher_code_display(voucher.code)}]
    BirthdayGift.objects.bulk_update(gifts, ["extras"])
    return vouchers
