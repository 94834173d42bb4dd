"""Core read operations. Everything that reads shop data takes the shop and filters on it."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import time
import zoneinfo
from decimal import Decimal

import phonenumbers
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import sql
from .models import (
    ApiKey,
    EntryKind,
    InvitationStatus,
    LedgerEntry,
    Membership,
    PointLot,
    ProgramRules,
    Purchase,
    Shop,
    StaffInvitation,
    StaffMember,
    StaffRole,
)
from .points import points_as_money, points_for_amount


def shops_for_user(*, user, roles=(StaffRole.OWNER, StaffRole.STAFF)) -> QuerySet[Shop]:
    return Shop.objects.for_user_role(user, roles).order_by("name")


def staff_for_shop(*, shop: Shop) -> QuerySet[StaffMember]:
    return StaffMember.objects.filter(shop=shop).select_related("user").order_by(
        "-is_active", "role", "user__name", "user__email"
    )


def invitations_pending_for_shop(*, shop: Shop) -> QuerySet[StaffInvitation]:
    return StaffInvitation.objects.filter(shop=shop, status=InvitationStatus.PENDING)


def digits_only(value: str) -> str:
    return re.sub(r"\D", "", value)


# A number as people say or scan it: digits with spaces, dashes, dots, slashes and brackets,
# maybe a leading +. Anything else (a letter, an @) is a name or an e-mail address.
_NUMBER_QUERY = re.compile(r"^\+?[\d\s\-().\/]+$")
# The first digits of a card number (printed "1234 5678 9012 3") that find it.
CARD_PREFIX_MIN_DIGITS = 4
# The digits after the country code (or the 0 in front) that find a phone number: "06 12"
# and "+31 6 12" have three; "06" alone would match every mobile number.
PHONE_PREFIX_MIN_DIGITS = 3


def phone_prefixes(*, query: str, country: str) -> list[str]:
    """The starts of stored (E.164) phone numbers that the partly typed ``query`` can be, in a
    shop of ``country``: "06 12" → "+31612", "+31 6 12" and "0031 6 12" → "+31612",
    "0046 70 1" → "+46701". Empty when fewer than ``PHONE_PREFIX_MIN_DIGITS`` digits of the
    number itself are typed. A number typed without its 0 (or, in Denmark and Norway, which
    have none) is read as a national one; a legacy row not in E.164 is matched as typed."""
    query = re.sub(r"\(\s*0\s*\)", "", query)  # +31 (0)6 …: the 0 one leaves out from abroad
    digits = digits_only(query)
    if query.lstrip().startswith("+"):
        international = digits
    else:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(country)
        exit_code = metadata.international_prefix if metadata else "00"
        trunk = metadata.national_prefix if metadata else "0"
        if exit_code and exit_code.isdigit() and digits.startswith(exit_code):
            international = digits[len(exit_code):]
        else:
            code = str(phonenumbers.country_code_for_region(country))
            with_trunk = bool(trunk) and digits.startswith(trunk)
            national = digits[len(trunk):] if with_trunk else digits
            if len(national) < PHONE_PREFIX_MIN_DIGITS:
                return []
            # Also the digits as typed (a row that migration 0010 left in its old form) and,
            # without a 0 in front, the number with a + (an API client that did not encode
            # the + of "+316…" in ?q=).
            return ["+" + code + national, digits] + ([] if with_trunk else ["+" + digits])
    for length in (1, 2, 3):  # country codes are prefix-free: at most one of these is one
        if int(international[:length] or 0) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            if len(international) - length < PHONE_PREFIX_MIN_DIGITS:
                return []
            return ["+" + international]
    return []


def membership_search(*, shop: Shop, query: str) -> QuerySet[Membership]:
    """Find members of ``shop`` by card number, phone, e-mail or name.

    A number (digits with the spaces, dashes or brackets people write, maybe a +) finds the
    phone numbers and card numbers that start with it, from the first few digits, in any form
    the customer says it (06 12…, +31 6 12…, 0031 6 12…, 0046 70…; see ``phone_prefixes``);
    the prefixes are served by indexes (a card number's, and ``membership_phone_prefix_idx``
    on PostgreSQL), because the counter asks on every keystroke. Anything else finds names and
    e-mail addresses containing it.
    """
    query = (query or "").strip()
    members = Membership.objects.for_shop(shop)
    if not query:
        return members.none()
    if not _NUMBER_QUERY.match(query):
        condition = Q(name__icontains=query) | Q(email__icontains=query)
        return members.filter(condition).order_by("name")
    condition = Q(pk__in=[])
    for prefix in phone_prefixes(query=query, country=shop.country):
        condition |= Q(phone__startswith=prefix)
    digits = digits_only(query)
    if not query.startswith("+") and len(digits) >= CARD_PREFIX_MIN_DIGITS:
        condition |= Q(card_number__startswith=digits)
    return members.filter(condition).order_by("name")


def shop_overview(*, shop: Shop, now: dt.datetime | None = None) -> dict:
    """The dashboard's front page: members, team, and the points — what is outstanding (and
    what that is worth at the shop's point value: the shop's liability) and this month's flow,
    the month as the shop's clock has it: given, taken back (refunds, undos, adjustments
    down), redeemed (net of points returned), expired, and the change on the cards, which is
    given - taken back - redeemed - expired. A fixed number of queries."""
    now = now or timezone.now()
    rules = program_rules_in_force(shop=shop)
    members = Membership.objects.for_shop(shop)
    totals = members.aggregate(count=Count("pk"), points=Sum("points_balance"))
    outstanding = totals["points"] or 0
    pending = PointLot.objects.filter(
        membership__shop=shop, remaining__gt=0, available_at__gt=now
    ).aggregate(total=Sum("remaining"))["total"] or 0
    month_start = timezone.localtime(now, zoneinfo.ZoneInfo(shop.time_zone)).replace(
        day=1, hour=0, minute=0, second=0, microsecond=0)
    # Every entry of the month lands in exactly one bucket, so that given - taken back -
    # redeemed - expired is the change on the cards: redeemed is net of points returned for
    # cancelled or expired vouchers; the rest is points in (given) or out (taken back).
    redeemed = Q(kind=EntryKind.REDEMPTION) | Q(kind=EntryKind.REVERSAL,
                                                 reverses__kind=EntryKind.REDEMPTION)
    expired = Q(kind=EntryKind.EXPIRY)
    other = ~redeemed & ~expired
    month = LedgerEntry.objects.filter(shop=shop, created_at__gte=month_start).aggregate(
        given=Sum("points", filter=other & Q(points__gt=0)),
        taken_back=Sum("points", filter=other & Q(points__lt=0)),
        redeemed=Sum("points", filter=redeemed),
        expired=Sum("points", filter=expired),
        change=Sum("points"),
    )
    return {
        "member_count": totals["count"],
        "staff_count": StaffMember.objects.filter(shop=shop, is_active=True).count(),
        "recent_members": list(members.order_by("-joined_at")[:5]),
        "rules": rules,
        "points_outstanding": outstanding,
        "points_outstanding_money": points_as_money(rules=rules, points=outstanding),
        "points_pending": pending,
        "points_given_this_month": month["given"] or 0,
        "points_taken_back_this_month": -(month["taken_back"] or 0),
        "points_redeemed_this_month": -(month["redeemed"] or 0),
        "points_expired_this_month": -(month["expired"] or 0),
        "points_change_this_month": month["change"] or 0,
        "month_start": month_start,
    }


# --- Points ------------------------------------------------------------------------------------


def membership_by_card(*, shop: Shop, card_number: str) -> Membership | None:
    return (Membership.objects.for_shop(shop).select_related("shop")
            .filter(card_number=digits_only(card_number)).first())


def membership_points_summary(*, membership: Membership, now=None) -> dict:
    """Balance, spendable and pending points, and the balance as money, in two queries."""
    now = now or timezone.now()
    rules = program_rules_in_force(shop=membership.shop)
    pending = PointLot.objects.filter(
        membership=membership, remaining__gt=0, available_at__gt=now
    ).aggregate(total=Sum("remaining"), next_at=Min("available_at"))
    pending_points = pending["total"] or 0
    spendable = membership.points_balance - pending_points
    return {
        "balance": membership.points_balance,
        "spendable": spendable,
        "pending": pending_points,
        "pending_next_at": pending["next_at"],
        "money": points_as_money(rules=rules, points=membership.points_balance),
        "currency": membership.shop.currency,
        "rules": rules,
        "stamps": stamp_card_state(rules=rules, balance=membership.points_balance,
                                   spendable=spendable),
    }


def stamp_card_state(*, rules: ProgramRules, balance: int, spendable: int) -> dict | None:
    """A stamp card's state (None for a points program): ``full_cards`` ready to hand out
    (spendable stamps only), ``filled`` stamps on the card being collected, its ``total`` and
    one entry per box (``boxes``: True where stamped) for the template."""
    if not rules.is_stamp_card or not rules.stamps_per_card:
        return None
    total = rules.stamps_per_card
    full_cards = max(spendable, 0) // total
    filled = min(balance - full_cards * total, total)
    if full_cards and filled == 0:
        filled = total  # exactly full: show the full card, not an empty next one
    return {
        "total": total,
        "filled": filled,
        "full_cards": full_cards,
        "boxes": [i < filled for i in range(total)],
        "reward": rules.stamp_reward,
        "minimum": rules.stamp_minimum,
    }


def program_rules_in_force(*, shop: Shop) -> ProgramRules:
    """The latest version, or the defaults (unsaved) for a shop that never saved rules."""
    return shop.current_rules or ProgramRules(shop=shop, version=0)


def membership_history(*, membership: Membership) -> QuerySet[LedgerEntry]:
    return (
        LedgerEntry.objects.filter(membership=membership)
        .select_related("purchase", "refund", "reverses")
        .order_by("-created_at", "-pk")
    )


UNDO_WINDOW = dt.timedelta(minutes=10)


def membership_last_undoable_purchase(*, membership: Membership, now=None) -> Purchase | None:
    now = now or timezone.now()
    return (
        Purchase.objects.filter(membership=membership, refunded_amount=0,
                                created_at__gte=now - UNDO_WINDOW)
        .order_by("-created_at").first()
    )


def ledger_mismatches(*, shop: Shop | None = None) -> list[dict]:
    """Memberships whose cached balance, ledger sum and remaining lots disagree."""
    memberships = Membership.objects.all()
    if shop is not None:
        memberships = memberships.filter(shop=shop)
    entry_sums = dict(
        LedgerEntry.objects.filter(membership__in=memberships).values("membership_id")
        .annotate(total=Sum("points")).values_list("membership_id", "total")
    )
    lot_sums = dict(
        PointLot.objects.filter(membership__in=memberships).values("membership_id")
        .annotate(total=Sum("remaining")).values_list("membership_id", "total")
    )
    mismatches = []
    for pk, card, balance, shop_slug in memberships.values_list(
        "pk", "card_number", "points_balance", "shop__slug"
    ).iterator():
        ledger = entry_sums.get(pk, 0)
        lots = lot_sums.get(pk, 0)
        if not balance == ledger == lots:
            mismatches.append({"membership_id": pk, "card_number": card, "shop": shop_slug,
                               "balance": balance, "ledger": ledger, "lots": lots})
    return mismatches


def api_key_hash(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def api_key_for_raw_key(raw_key: str) -> ApiKey | None:
    """The live key, with its shop and the shop's rules in force, or None.

    A till sends the same key all day, so the key's row (with its shop and rules, one query in
    plain SQL: ``loyalty.sql``) is kept in this process for
    ``settings.TROUW_API_KEY_CACHE_SECONDS``. Revoking a key, or changing the shop or its rules,
    forgets the rows kept in this process at once (``api_keys_forget``); other processes notice
    within those seconds. Only keys that were found are kept, and every call gets its own model
    instances."""
    key_hash = api_key_hash(raw_key)
    now = time.monotonic()
    kept = _api_key_rows.get(key_hash)
    if kept is not None and kept[0] > now:
        row = kept[1]
    else:
        key, shop, rules = (sql.columns(ApiKey, "k"), sql.columns(Shop, "s"),
                            sql.columns(ProgramRules, "r"))
        row = sql.fetch_one(_api_key_sql(key, shop, rules), [key_hash])
        if row is None:
            _api_key_rows.pop(key_hash, None)
            return None
        seconds = settings.TROUW_API_KEY_CACHE_SECONDS
        if seconds > 0:
            if len(_api_key_rows) >= _API_KEY_ROWS_MAX:
                _api_key_rows.clear()
            _api_key_rows[key_hash] = (now + seconds, row)
    key, shop, rules = (sql.columns(ApiKey, "k"), sql.columns(Shop, "s"),
                        sql.columns(ProgramRules, "r"))
    api_key = key.load(row)
    api_key.shop = shop.load(row, len(key))
    api_key.shop.current_rules = rules.load(row, len(key) + len(shop))
    return api_key


# key hash → (until, row); plain dict operations are atomic, so threads can share it.
_api_key_rows: dict[str, tuple[float, tuple]] = {}
_API_KEY_ROWS_MAX = 1000


def api_keys_forget() -> None:
    """Forget the key rows kept by ``api_key_for_raw_key`` in this process: now, and again when
    the current transaction commits (so that no call in between keeps the old row)."""
    _api_key_rows.clear()
    transaction.on_commit(_api_key_rows.clear)


@functools.cache
def _api_key_sql(key, shop, rules) -> str:
    return (
        f"SELECT {key.sql}, {shop.sql}, {rules.sql} FROM {sql.table(ApiKey)} k"  # noqa: S608
        f" JOIN {sql.table(Shop)} s ON s.id = k.shop_id"
        f" LEFT JOIN {sql.table(ProgramRules)} r ON r.id = s.current_rules_id"
        f" WHERE k.key_hash = %s AND k.revoked_at IS NULL"
    )


def purchases_for_shop(*, shop: Shop) -> QuerySet[Purchase]:
    return Purchase.objects.filter(shop=shop).select_related("membership")


def rules_examples(*, rules: ProgramRules) -> list[dict]:
    """A few purchases and what they earn, for explaining the rules in plain words. For a stamp
    card: just below the stamp's minimum, the minimum, and bigger baskets (still one stamp)."""
    if rules.is_stamp_card:
        minimum = rules.stamp_minimum
        amounts = {minimum, max(minimum * 2, Decimal("5.00")).quantize(Decimal("0.01"))}
        if minimum > Decimal("0.50"):
            amounts.add(minimum - Decimal("0.50"))
        return [{"amount": amount, "points": points_for_amount(rules=rules, amount=amount)}
                for amount in sorted(amounts)]
    amounts = {Decimal("5.00"), Decimal("12.50"), Decimal("27.50")}
    for step in rules.steps or []:
        amounts.add(Decimal(step["min_amount"]))
    if rules.minimum_amount > 0:
        amounts.add(rules.minimum_amount)
    return [{"amount": amount, "points": points_for_amount(rules=rules, amount=amount)}
            for amount in sorted(amounts)]


def program_sentence(*, rules: ProgramRules, currency: str) -> str:
    """The program in one sentence, in the active language and the shop's currency: for the
    public page, the poster and the table card."""
    from .templatetags.program_rules import money_short as money
    from .templatetags.trouw import points

    if rules.is_stamp_card:
        if rules.stamp_reward:
            return _("A stamp for every purchase from %(amount)s; %(stamps)s stamps give "
                     "%(reward)s.") % {"amount": money(rules.stamp_minimum, currency),
                                       "stamps": points(rules.stamps_per_card),
                                       "reward": rules.stamp_reward}
        return _("A stamp for every purchase from %(amount)s; a full card of %(stamps)s stamps "
                 "gives a reward.") % {"amount": money(rules.stamp_minimum, currency),
                                       "stamps": points(rules.stamps_per_card)}
    value = {"value": money(Decimal(100) / rules.points_per_currency_value, currency)}
    if rules.steps and (rules.steps_replace_rate or not rules.points_per_unit):
        first = rules.steps[0]
        return _("Points for every purchase: %(points)s points from %(amount)s, more for bigger "
                 "baskets; 100 points are worth %(value)s.") % {
            "points": points(first["points"]),
            "amount": money(Decimal(first["min_amount"]), currency), **value}
    return ngettext("%(rate)s point for every %(unit)s you spend; 100 points are worth %(value)s.",
                    "%(rate)s points for every %(unit)s you spend; 100 points are worth "
                    "%(value)s.", rules.points_per_unit) % {
        "rate": points(rules.points_per_unit), "unit": money(1, currency), **value}


# --- E-mails to a member (the outbox) ----------------------------------------------------------

MEMBER_EMAILS_SHOWN = 20


def email_kind_label(kind: str) -> str:
    """An e-mail kind in the owner's words (its ``label`` in settings.TROUW_EMAIL_KINDS)."""
    label = settings.TROUW_EMAIL_KINDS.get(kind, {}).get("label")
    return str(label) if label else kind.replace("_", " ").capitalize()


def email_failure_reason(last_error: str) -> str:
    """Why an e-mail was not sent, in the owner's words, from the reason code the outbox puts
    first in ``last_error`` (loyalty/services/outbox.py)."""
    from .services import outbox

    code = last_error.split(":", 1)[0].strip()
    return {
        outbox.REASON_REFUSED: _("The address does not accept e-mail. Check it with the member."),
        outbox.REASON_ATTEMPTS: _("The mail server could not be reached after many tries."),
        outbox.REASON_RETRYING: _("The first try did not work; it is tried again."),
        outbox.REASON_LOST: _("Sending was interrupted; it may not have arrived. It is not sent "
                              "again, so that it never arrives twice."),
        outbox.REASON_NO_CONSENT: _("The member no longer wants news and offers."),
        outbox.REASON_NOTHING: _("Nothing to send any more (e.g. the voucher was used)."),
    }.get(code, "")


def membership_emails(*, shop: Shop, membership: Membership,
                      limit: int = MEMBER_EMAILS_SHOWN) -> list[dict]:
    """The e-mails written for a member, newest first: kind, time (sent, or written), status
    in words (sent, waiting, failed, not sent) and the reason of a failed or skipped one."""
    from .models import OutboxMessage, OutboxStatus

    words = {OutboxStatus.SENT: _("Sent"), OutboxStatus.PENDING: _("Waiting"),
             OutboxStatus.SENDING: _("Waiting"), OutboxStatus.FAILED: _("Failed"),
             OutboxStatus.SKIPPED: _("Not sent")}
    rows = (OutboxMessage.objects.filter(shop=shop, membership=membership)
            .order_by("-created_at", "-pk")
            .only("kind", "to", "status", "sent_at", "created_at", "last_error")[:limit])
    return [{
        "kind": email_kind_label(row.kind),
        "to": row.to,
        "at": row.sent_at or row.created_at,
        "status": row.status,
        "status_words": words.get(row.status, row.status),
        "reason": (email_failure_reason(row.last_error)
                   if row.status != OutboxStatus.SENT else ""),
    } for row in rows]


# --- Points expiry ------------------------------------------------------------------------------


def _lots_expiring(*, shop: Shop, now: dt.datetime, days: int | None, membership_ids=None):
    """(membership_id, local day, points, without_purchase) of each lot that will expire: still
    on the card, not yet expired, and — with ``days`` — expiring within that many days of the
    shop's today. Under months-without-a-purchase terms the day is the one they expire on if
    nothing is bought."""
    from .localdays import (
        day_start,
        inactivity_boundary,
        inactivity_expiry_date,
        local_date,
        shop_zone,
    )

    zone = shop_zone(shop.time_zone)
    today = local_date(now, zone)
    lots = PointLot.objects.filter(membership__shop=shop, remaining__gt=0).order_by()
    if membership_ids is not None:
        lots = lots.filter(membership_id__in=membership_ids)
    dated = lots.filter(expires_at__isnull=False, expires_at__gt=now)
    if days is not None:
        dated = dated.filter(expires_at__lte=day_start(today + dt.timedelta(days=days), zone))
    for membership_id, expires_at, remaining in dated.values_list(
            "membership_id", "expires_at", "remaining"):
        yield membership_id, local_date(expires_at, zone), remaining, False
    inactive = lots.filter(inactivity_months__isnull=False)
    for months in inactive.values_list("inactivity_months", flat=True).distinct():
        # The clock: the later of the card's last purchase and the lot's arrival.
        clocked = inactive.filter(inactivity_months=months).annotate(
            clock=Greatest("available_at", Coalesce("membership__last_purchase_at",
                                                    "available_at")))
        in_window = clocked.filter(
            clock__gte=inactivity_boundary(months=months, today=today, zone=zone))
        if days is not None:
            in_window = in_window.filter(clock__lt=inactivity_boundary(
                months=months, today=today + dt.timedelta(days=days), zone=zone))
        for membership_id, clock, remaining in in_window.values_list(
                "membership_id", "clock", "remaining"):
            yield (membership_id, inactivity_expiry_date(clock=clock, months=months, zone=zone),
                   remaining, True)


def points_expiring_batches(*, shop: Shop, now: dt.datetime | None = None,
                            days: int | None = None,
                            membership_ids=None) -> dict[tuple[int, dt.date], int]:
    """Points on the shop's cards that will expire, by card and local day: ``{(membership_id,
    day): points}`` (see _lots_expiring)."""
    batches: dict[tuple[int, dt.date], int] = {}
    for membership_id, day, points, _inactive in _lots_expiring(
            shop=shop, now=now or timezone.now(), days=days, membership_ids=membership_ids):
        batches[membership_id, day] = batches.get((membership_id, day), 0) + points
    return batches


def points_expiring(*, membership: Membership, now: dt.datetime | None = None,
                    days: int | None = None) -> list[dict]:
    """What expires when on this card, soonest first: ``[{"on": date, "points": n,
    "without_purchase": bool}]`` (days in the shop's time zone; only points still on the card;
    ``without_purchase``: they expire then only if nothing is bought before)."""
    batches: dict[tuple[dt.date, bool], int] = {}
    for _membership_id, day, points, inactive in _lots_expiring(
            shop=membership.shop, now=now or timezone.now(), days=days,
            membership_ids=[membership.pk]):
        batches[day, inactive] = batches.get((day, inactive), 0) + points
    return [{"on": day, "points": points, "without_purchase": inactive}
            for (day, inactive), points in sorted(batches.items())]


def shop_today(*, shop: Shop, now: dt.datetime | None = None) -> dt.date:
    """Today in the shop's time zone."""
    return timezone.localtime(now or timezone.now(), zoneinfo.ZoneInfo(shop.time_zone)).date()


def expiry_terms_sentence(*, months: int | None, policy: str, stamps: bool = False) -> str:
    """A policy in the owner's words."""
    from .models import ExpiryPolicy

    if policy == ExpiryPolicy.AFTER_EARNING:
        return (ngettext("Stamps expire %(months)s month after they are earned.",
                         "Stamps expire %(months)s months after they are earned.", months)
                if stamps else
                ngettext("Points expire %(months)s month after they are earned.",
                         "Points expire %(months)s months after they are earned.", months)
                ) % {"months": months}
    if policy == ExpiryPolicy.INACTIVITY:
        return (ngettext("A card's stamps expire after %(months)s month without a purchase.",
                         "A card's stamps expire after %(months)s months without a purchase.",
                         months)
                if stamps else
                ngettext("A card's points expire after %(months)s month without a purchase.",
                         "A card's points expire after %(months)s months without a purchase.",
                         months)) % {"months": months}
    return _("Stamps never expire.") if stamps else _("Points never expire.")


def expiry_change_effect(*, shop: Shop, current: ProgramRules, draft: ProgramRules,
                         now: dt.datetime | None = None) -> dict:
    """What saving ``draft`` would do to expiry, for the editor's preview: ``{"changed": bool,
    "sentences": [...]}``. Never retroactive: points on cards keep the terms they were earned
    under; new terms hold for points earned from today (the shop's today)."""
    from django.utils import formats

    from .models import ExpiryPolicy

    stamps = draft.is_stamp_card
    old = (current.expiry_policy, current.expiry_months)
    new = (draft.expiry_policy, draft.expiry_months)
    if old == new:
        return {"changed": False, "sentences": [expiry_terms_sentence(
            months=draft.expiry_months, policy=draft.expiry_policy, stamps=stamps)]}
    today = formats.date_format(shop_today(shop=shop, now=now), "j F")
    months = draft.expiry_months
    if draft.expiry_policy == ExpiryPolicy.AFTER_EARNING:
        future = (ngettext("from %(today)s, stamps earned expire %(months)s month later.",
                           "from %(today)s, stamps earned expire %(months)s months later.",
                           months)
                  if stamps else
                  ngettext("from %(today)s, points earned expire %(months)s month later.",
                           "from %(today)s, points earned expire %(months)s months later.",
                           months))
    elif draft.expiry_policy == ExpiryPolicy.INACTIVITY:
        future = (ngettext(
            "from %(today)s, stamps earned expire after %(months)s month without a purchase "
            "(every card's clock starts today).",
            "from %(today)s, stamps earned expire after %(months)s months without a purchase "
            "(every card's clock starts today).", months)
            if stamps else ngettext(
            "from %(today)s, points earned expire after %(months)s month without a purchase "
            "(every card's clock starts today).",
            "from %(today)s, points earned expire after %(months)s months without a purchase "
            "(every card's clock starts today).", months))
    else:
        future = (_("from %(today)s, stamps earned never expire.") if stamps
                  else _("from %(today)s, points earned never expire."))
    affected = (_("No stamps on cards today are affected; %(future)s") if stamps
                else _("No points on cards today are affected; %(future)s"))
    sentences = [affected % {"future": future % {"today": today, "months": months}}]
    if current.expiry_policy != ExpiryPolicy.NEVER:
        old_months = current.expiry_months
        if draft.expiry_policy == current.expiry_policy:
            shorter = draft.expiry_months < old_months
            if stamps:
                kept = (ngettext("Stamps earned before keep their %(months)s month: they are "
                                 "not shortened.", "Stamps earned before keep their %(months)s "
                                 "months: they are not shortened.", old_months)
                        if shorter else
                        ngettext("Stamps earned before keep their %(months)s month: they are "
                                 "not lengthened.", "Stamps earned before keep their %(months)s "
                                 "months: they are not lengthened.", old_months))
            else:
                kept = (ngettext("Points earned before keep their %(months)s month: they are "
                                 "not shortened.", "Points earned before keep their %(months)s "
                                 "months: they are not shortened.", old_months)
                        if shorter else
                        ngettext("Points earned before keep their %(months)s month: they are "
                                 "not lengthened.", "Points earned before keep their %(months)s "
                                 "months: they are not lengthened.", old_months))
            sentences.append(kept % {"months": old_months})
        else:
            before = (_("Stamps earned before keep the terms they were earned under: "
                        "%(terms)s") if stamps else
                      _("Points earned before keep the terms they were earned under: "
                        "%(terms)s"))
            sentences.append(before % {"terms": expiry_terms_sentence(
                months=old_months, policy=current.expiry_policy, stamps=stamps).lower()})
    return {"changed": True, "sentences": sentences}
