"""Writes of the charity app: the shop's program and charities, a member's choice, the
donations a purchase, a refund and given points write (the purchase and refund effects named in
settings.TROUW_EFFECTS), the round-up, closing a month and paying its statements.

Every donation of a shop takes its program's row lock, after the card's and the purchase's
(the core's order): the monthly cap and the month close see the donations in order.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connections, transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from loyalty import services as loyalty_services
from loyalty import sql
from loyalty.localdays import months_add
from loyalty.models import EntryKind, LedgerEntry, Membership, Refund, Shop, User
from loyalty.selectors import api_keys_forget
from loyalty.services import field_error, image_upload_check, money_display
from loyalty.templatetags.trouw import money
from loyalty.templatetags.trouw import money as money_format  # where ``money`` is an amount

from . import selectors
from .models import (
    MAX_CHARITIES_PER_SHOP,
    Charity,
    CharityChoice,
    CharityProgram,
    ChoiceSource,
    Donation,
    DonationKind,
    DonationSource,
    FundedBy,
    ProgramMode,
    RegistrationKind,
    RuleKind,
    Split,
    Statement,
)

# The smallest amount of each currency the ledger holds (cents, öre).
CURRENCY_QUANTUM = {"EUR": Decimal("0.01"), "SEK": Decimal("0.01")}
ZERO = Decimal("0.00")


def money_round(amount: Decimal, currency: str) -> Decimal:
    """Rounded to the currency's smallest unit, half up."""
    return Decimal(amount).quantize(CURRENCY_QUANTUM[currency], rounding=ROUND_HALF_UP)


# --- Registrations -------------------------------------------------------------------------------


def rsin_clean(value: str) -> str:
    """A Dutch RSIN: 9 digits passing the eleven-test (9×d1 + 8×d2 + … + 2×d8 − d9 is a
    multiple of 11)."""
    digits = re.sub(r"[\s.]", "", value or "")
    if not re.fullmatch(r"[0-9]{9}", digits):
        raise field_error("registration_number", _("An RSIN has 9 digits."))
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True))
    if (total - int(digits[8])) % 11 != 0:
        raise field_error("registration_number", _(
            "This is not a valid RSIN: check its digits on the ANBI register."))
    return digits


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if index % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def se90_clean(value: str) -> str:
    """A Swedish 90-konto: a PlusGiro or Bankgiro number starting with 90, 7 or 8 digits with
    a valid check digit, written with a hyphen before the check digit (900123-4)."""
    digits = re.sub(r"[\s-]", "", value or "")
    if not re.fullmatch(r"90[0-9]{5,6}", digits):
        raise field_error("registration_number", _(
            "A 90-konto number starts with 90 and has 7 or 8 digits, such as 900123-4."))
    if not luhn_valid(digits):
        raise field_error("registration_number", _(
            "This is not a valid 90-konto number: check its last digit."))
    return f"{digits[:-1]}-{digits[-1]}"


def registration_clean(kind: str, number: str) -> tuple[str, str]:
    kind = kind or ""
    if kind not in RegistrationKind.values:
        raise field_error("registration_kind", _("Choose a kind of registration."))
    if kind == RegistrationKind.ANBI:
        return kind, rsin_clean(number)
    if kind == RegistrationKind.SE_90:
        return kind, se90_clean(number)
    if (number or "").strip():
        raise field_error("registration_number", _(
            "Choose the kind of registration this number is, or leave the number empty."))
    return "", ""


# --- Charities -----------------------------------------------------------------------------------


def _charity_values(*, name, description, website, registration_kind,
                    registration_number) -> dict:
    name = (name or "").strip()
    if not name:
        raise field_error("name", _("Give the charity a name."))
    if len(name) > 100:
        raise field_error("name", _("The name may be 100 characters at most."))
    description = (description or "").strip()
    if len(description) > 300:
        raise field_error("description", _("Keep the description to 300 characters."))
    kind, number = registration_clean(registration_kind, registration_number)
    return {"name": name, "description": description, "website": (website or "").strip(),
            "registration_kind": kind, "registration_number": number}


def _logo_check(logo) -> None:
    """An uploaded logo: an image of a known format, 2 MB at most."""
    image_upload_check(logo, field="logo", too_large=_("The logo may be 2 MB at most."))


def _program_lock(shop: Shop) -> CharityProgram:
    """The shop's program row, locked for a change of the program or its charities (created,
    switched off, when the shop has none) or a month close. On PostgreSQL the program's
    advisory lock is taken first, exclusively: the change waits for the purchases giving now
    and they wait for it (``_program_read``). Its ``updated_at`` moves: the version the earn's
    kept copy of the charities is checked against (``selectors.program_view``)."""
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        sql.fetch_one("SELECT pg_advisory_xact_lock(%s, %s)", [PROGRAM_LOCK_SPACE, shop.pk])
    CharityProgram.objects.get_or_create(shop=shop)
    program = CharityProgram.objects.select_for_update().get(shop=shop)
    program.updated_at = timezone.now()
    CharityProgram.objects.filter(pk=program.pk).update(updated_at=program.updated_at)
    return program


def _name_taken() -> ValidationError:
    return field_error("name", _("This shop has a charity of that name already."))


def charity_create(*, shop: Shop, name: str, description: str = "", website: str = "",
                   registration_kind: str = "", registration_number: str = "", logo=None,
                   active: bool = True) -> Charity:
    """A new charity of the shop (at most 12); the first active one becomes the default."""
    values = _charity_values(name=name, description=description, website=website,
                             registration_kind=registration_kind,
                             registration_number=registration_number)
    _logo_check(logo)
    try:
        with transaction.atomic():
            _program_lock(shop)  # the count below holds until the commit
            if Charity.objects.for_shop(shop).count() >= MAX_CHARITIES_PER_SHOP:
                raise field_error("name", _("A shop may have %(max)s charities at most.") % {
                    "max": MAX_CHARITIES_PER_SHOP})
            has_default = Charity.objects.for_shop(shop).filter(is_default=True).exists()
            charity = Charity(shop=shop, active=bool(active),
                              is_default=bool(active) and not has_default, **values)
            if logo:
                charity.logo = logo
            charity.full_clean(exclude=["shop", "logo"], validate_unique=False,
                               validate_constraints=False)
            charity.save()
            return charity
    except IntegrityError:
        raise _name_taken() from None


def charity_update(*, shop: Shop, charity_id: int, name: str, description: str = "",
                   website: str = "", registration_kind: str = "", registration_number: str = "",
                   logo=None, active: bool = True) -> Charity:
    """Change a charity. The default cannot be switched off (choose another default first);
    past donations keep their charity either way."""
    values = _charity_values(name=name, description=description, website=website,
                             registration_kind=registration_kind,
                             registration_number=registration_number)
    _logo_check(logo)
    try:
        with transaction.atomic():
            _program_lock(shop)
            charity = Charity.objects.for_shop(shop).filter(pk=charity_id).first()
            if charity is None:
                raise ValidationError(_("No such charity at this shop."), code="not_found")
            if charity.is_default and not active:
                raise field_error("active", _(
                    "This is your default charity: choose another default before you switch "
                    "it off."))
            for key, value in values.items():
                setattr(charity, key, value)
            charity.active = bool(active)
            if logo:
                charity.logo = logo
            charity.full_clean(exclude=["shop", "logo"], validate_unique=False,
                               validate_constraints=False)
            charity.save()
            return charity
    except IntegrityError:
        raise _name_taken() from None


def _charity_of_shop(*, shop: Shop, charity_id, field: str = "charity") -> Charity:
    """An active charity of ``shop`` by id, or the error that says why not."""
    try:
        charity_id = int(charity_id)
    except (TypeError, ValueError):
        raise field_error(field, _("Choose a charity."), code="not_found") from None
    charity = Charity.objects.for_shop(shop).filter(pk=charity_id).first()
    if charity is None:
        raise field_error(field, _("No such charity at this shop."), code="not_found")
    if not charity.active:
        raise field_error(field, _("%(name)s takes no donations at the moment.") % {
            "name": charity.name}, code="inactive")
    return charity


# --- The program ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProgramInput:
    enabled: bool
    mode: str
    rule_kind: str
    rule_value: Decimal
    monthly_cap: Decimal | None
    split: str
    points_per_unit: int | None
    round_up_max: Decimal
    default_charity_id: int | None


def _decimal(value, field: str, *, empty_ok: bool = False) -> Decimal | None:
    text = str(value).strip().replace(",", ".") if value is not None else ""
    if text == "" and empty_ok:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or not re.fullmatch(r"-?[0-9]+(\.[0-9]*)?",
                                                                      text):
        raise field_error(field, _("Enter a number, such as 2.50."))
    if number.as_tuple().exponent < -2:
        raise field_error(field, _("Use at most two decimals."))
    return number


def program_input_clean(*, enabled, mode, rule_kind, rule_value, monthly_cap=None,
                        split=Split.DEFAULT, points_per_unit=None, round_up_max="5.00",
                        default_charity_id=None) -> ProgramInput:
    """The owner's settings, checked; a ValidationError names every field that is wrong."""
    errors: dict[str, list] = {}

    def check(field, parse):
        try:
            return parse()
        except ValidationError as exc:
            errors.setdefault(field, []).extend(exc.message_dict.get(field, exc.messages))
            return None

    if mode not in ProgramMode.values:
        errors["mode"] = [_("Choose beside or instead of points.")]
    if rule_kind not in RuleKind.values:
        errors["rule_kind"] = [_("Choose how the shop gives.")]
    if split not in Split.values:
        errors["split"] = [_("Choose what happens until a member picks a charity.")]
    value = check("rule_value", lambda: _decimal(rule_value, "rule_value"))
    if value is not None:
        if value < 0:
            errors["rule_value"] = [_("The value cannot be below zero.")]
        elif rule_kind == RuleKind.PERCENT and value > 100:
            errors["rule_value"] = [_("A percentage is 0 to 100.")]
        elif rule_kind != RuleKind.PERCENT and value > 1000:
            errors["rule_value"] = [_("That amount is too large (at most 1,000).")]
    cap = check("monthly_cap", lambda: _decimal(monthly_cap, "monthly_cap", empty_ok=True))
    if cap is not None and cap <= 0:
        errors["monthly_cap"] = [_("A monthly cap is more than zero; leave it empty for none.")]
    rate = None
    if points_per_unit not in (None, ""):
        try:
            rate = int(str(points_per_unit).strip())
            if rate <= 0 or rate > 1_000_000:
                raise ValueError
        except ValueError:
            errors["points_per_unit"] = [_("Enter a whole number of points above zero, or "
                                           "leave it empty.")]
    round_up_max = check("round_up_max", lambda: _decimal(round_up_max, "round_up_max"))
    if round_up_max is not None and not 0 <= round_up_max <= 100:
        errors["round_up_max"] = [_("The largest round-up is 0 to 100.")]
    if default_charity_id in ("", None):
        default_charity_id = None
    else:
        try:
            default_charity_id = int(default_charity_id)
        except (TypeError, ValueError):
            errors["default_charity"] = [_("No such charity at this shop.")]
    if errors:
        raise ValidationError(errors)
    return ProgramInput(enabled=bool(enabled), mode=mode, rule_kind=rule_kind, rule_value=value,
                        monthly_cap=cap, split=split, points_per_unit=rate,
                        round_up_max=round_up_max, default_charity_id=default_charity_id)


def program_configure(*, shop: Shop, data: ProgramInput) -> CharityProgram:
    """Save the shop's program (and its default charity). Refuses, changing nothing, another
    shop's, an unknown or an inactive charity as the default, and a program switched on
    without a charity to give to."""
    with transaction.atomic():
        program = _program_lock(shop)
        if data.default_charity_id is not None:
            default = _charity_of_shop(shop=shop, charity_id=data.default_charity_id,
                                       field="default_charity")
            Charity.objects.for_shop(shop).filter(is_default=True).exclude(
                pk=default.pk).update(is_default=False)
            Charity.objects.filter(pk=default.pk).update(is_default=True)
        active = Charity.objects.for_shop(shop).filter(active=True)
        if data.enabled and not active.exists():
            raise field_error("enabled", _("Add a charity before you switch the program on."))
        if (data.enabled and data.split == Split.DEFAULT
                and not active.filter(is_default=True).exists()):
            raise field_error("default_charity", _(
                "Choose a default charity, or split evenly until a member picks one."))
        for name in ("enabled", "mode", "rule_kind", "rule_value", "monthly_cap", "split",
                     "points_per_unit", "round_up_max"):
            setattr(program, name, getattr(data, name))
        program.save()
        earns_points = not (data.enabled and data.mode == ProgramMode.INSTEAD)
        if (shop.charity_enabled, shop.earns_points) != (data.enabled, earns_points):
            Shop.objects.filter(pk=shop.pk).update(charity_enabled=data.enabled,
                                                   earns_points=earns_points)
            shop.charity_enabled, shop.earns_points = data.enabled, earns_points
        api_keys_forget()  # a key's row holds the shop, and with it charity_enabled
    return program


# --- A member's choice ---------------------------------------------------------------------------


def membership_charity_choose(*, membership: Membership, charity_id,
                              source: str = ChoiceSource.PORTAL) -> CharityChoice:
    """The member's charity from now on; past donations keep theirs."""
    if source not in ChoiceSource.values:
        raise ValueError(f"unknown source {source!r}")
    charity = _charity_of_shop(shop=membership.shop, charity_id=charity_id)
    return CharityChoice.objects.create(membership=membership, charity=charity, source=source)


def _recipients(*, program: CharityProgram, shop_id: int, membership_id: int | None
                ) -> list[tuple[Charity, CharityChoice | None]]:
    """Who a gift goes to (``selectors.recipients_of``), with the member's choice where the
    gift follows it."""
    choice = None
    if membership_id is not None:
        choice = (CharityChoice.objects.filter(membership_id=membership_id)
                  .order_by("-chosen_at", "-pk").first())
    charities = {charity.pk: charity
                 for charity in Charity.objects.filter(shop_id=shop_id).order_by("pk")}
    chosen_id = choice.charity_id if choice is not None else None
    return [(charity, choice if charity.pk == chosen_id else None)
            for charity in selectors.recipients_of(charities=charities, split=program.split,
                                                   chosen_id=chosen_id)]


def _split(amount: Decimal, parts: int, currency: str) -> list[Decimal]:
    """``amount`` in ``parts`` that differ by one smallest unit at most and add up to it."""
    quantum = CURRENCY_QUANTUM[currency]
    units = int(amount / quantum)
    base, rest = divmod(units, parts)
    return [(base + (1 if index < rest else 0)) * quantum for index in range(parts)]


# --- The purchase's donations --------------------------------------------------------------------


roundup_amount = selectors.roundup_amount


def roundup_clean(*, program: CharityProgram | None, shop: Shop, amount,
                  round_up: bool = False, donation_amount=None,
                  currency: str | None = None) -> Decimal:
    """The customer's own gift with a purchase of ``amount``: the round-up to the next whole
    unit, or a chosen amount up to the shop's maximum, in the shop's currency. Zero when
    nothing is asked (or an exact amount is rounded up)."""
    if not round_up and donation_amount in (None, ""):
        return ZERO
    if program is None or not program.enabled:
        raise field_error("round_up", _("This shop does not take donations."),
                          code="no_donations")
    if round_up and donation_amount not in (None, ""):
        raise field_error("round_up", _("Round up, or give an amount: not both."))
    if currency and currency.upper() != shop.currency:
        raise field_error("round_up", _(
            "This shop works in %(currency)s, not %(given)s.") % {
            "currency": shop.currency, "given": currency}, code="currency")
    if round_up:
        gift = roundup_amount(amount)
    else:
        try:
            gift = loyalty_services.money_parse(donation_amount, field="round_up")
        except ValidationError as exc:  # its code is the dict's: keep it on the field's error
            raise field_error("round_up", exc.message_dict["round_up"][0]) from None
    if gift > program.round_up_max:
        raise field_error("round_up", _(
            "A round-up may be %(max)s %(currency)s at most.") % {
            "max": money_display(program.round_up_max), "currency": shop.currency},
            code="too_large")
    return gift


def shop_share_amount(*, program: CharityProgram, amount: Decimal, currency: str) -> Decimal:
    """What the program's rule gives for a purchase of ``amount``, rounded half up."""
    if program.rule_kind == RuleKind.PERCENT:
        share = amount * program.rule_value / 100
    elif program.rule_kind == RuleKind.PER_UNIT:
        share = int(amount) * program.rule_value
    else:
        share = program.rule_value
    return money_round(share, currency)


def _month_given(*, shop_id: int, month: dt.date) -> Decimal:
    return Donation.objects.filter(shop_id=shop_id, month=month,
                                   kind=DonationKind.SHOP_SHARE).aggregate(
        total=Sum("amount"))["total"] or ZERO


def _gift_lines(*, purchase, kind, funded_by, total, recipients, choice_id, month) -> list:
    lines = []
    for charity, part in zip(recipients, _split(total, len(recipients), purchase.currency),
                             strict=True):
        if part <= 0:
            continue
        lines.append(Donation(
            shop_id=purchase.shop_id, charity=charity, membership_id=purchase.membership_id,
            choice_id=choice_id,
            kind=kind, funded_by=funded_by, source=DonationSource.PURCHASE,
            amount=part, currency=purchase.currency, purchase=purchase,
            idempotency_key=f"purchase:{purchase.pk}:{kind}:{charity.pk}",
            payable_at=purchase.points_available_at, month=month))
    return lines


# This app's advisory locks (PostgreSQL), the shop's id the second key: the program's (shared
# by giving purchases, exclusive for a change or a month close) and the monthly cap's.
PROGRAM_LOCK_SPACE = 0x54_52_50  # "TRP"
CAP_LOCK_SPACE = 0x54_52_43  # "TRC"


@functools.cache
def _program_read_sql(vendor: str) -> str:
    """The shop's program row with the member's latest choice: its id and its charity's.
    Parameters: the card twice, then the shop (on PostgreSQL the lock's space and the shop).

    On PostgreSQL the row comes from ``charity_program_shared`` (migration 0003): a shared
    advisory lock on the shop's program, then the row read after it. A change of the program
    and a month close hold that lock exclusively (``_program_lock``), so a purchase giving now
    waits for them and they for it, and the purchase reads the row as they left it. The row
    itself is not locked: share-locking it wrote into it for every giving purchase."""
    program = sql.columns(CharityProgram, "p")
    choice = sql.table(CharityChoice)
    latest = (f" FROM {choice} ch WHERE ch.{sql.column(CharityChoice, 'membership')} = %s"
              f" ORDER BY ch.{sql.column(CharityChoice, 'chosen_at')} DESC, ch.id DESC LIMIT 1")
    source = (f"{sql.table(CharityProgram)} p WHERE p.{sql.column(CharityProgram, 'shop')} = %s"
              if vendor != "postgresql" else "charity_program_shared(%s, %s) p")
    return (f"SELECT {program.sql}, (SELECT ch.id{latest}),"  # noqa: S608 (identifiers only)
            f" (SELECT ch.{sql.column(CharityChoice, 'charity')}{latest}) FROM {source}")


def _program_read(*, shop_id: int, membership_id: int | None
                  ) -> tuple[CharityProgram | None, int | None, int | None]:
    """The program as it is now (under the program's shared lock on PostgreSQL) and the
    member's latest choice (its id and its charity's id), in one statement."""
    vendor = connections[DEFAULT_DB_ALIAS].vendor
    shop = [PROGRAM_LOCK_SPACE, shop_id] if vendor == "postgresql" else [shop_id]
    row = sql.fetch_one(_program_read_sql(vendor), [membership_id, membership_id, *shop])
    if row is None:
        return None, None, None
    columns = sql.columns(CharityProgram, "p")
    return columns.load(row), row[len(columns)], row[len(columns) + 1]


def _cap_lock(shop_id: int) -> None:
    """Serialise the shop's purchases that give under a monthly cap (the room left must hold
    until the commit): a transaction-scoped advisory lock on PostgreSQL, beside the program's
    shared one, so purchases without a cap never wait for one another. SQLite locks the whole
    database for a write already."""
    if connections[DEFAULT_DB_ALIAS].vendor == "postgresql":
        sql.fetch_one("SELECT pg_advisory_xact_lock(%s, %s)", [CAP_LOCK_SPACE, shop_id])


def purchase_donate(*, purchase) -> list[Donation]:
    """The purchase effect (settings.TROUW_EFFECTS["purchase"]): the shop's share of a card's
    purchase and the customer's round-up (``purchase.extras``: ``round_up`` True, or
    ``donation_amount`` with an optional ``donation_currency``), to the charity the member
    has chosen at this moment, in the purchase's transaction. A shop without the program
    costs no query (``Shop.charity_enabled``, loaded with the shop); with it, two statements
    (docs/benchmarks.md): the program with the member's choice, then the donations — the
    shop's charities are kept per process, checked against the program's version. Over the
    monthly cap, only what fits is given. A retried purchase never gets here twice (its insert
    fails first); the unique idempotency keys hold it in the database too."""
    shop = purchase.shop
    extras = getattr(purchase, "extras", None) or {}
    asked = extras.get("round_up") or extras.get("donation_amount") not in (None, "")
    if not shop.charity_enabled and not asked:
        return []
    if not asked and sql.chains_writes():
        lines = _share_in_one(purchase=purchase, shop=shop)
        if lines is not None:
            return lines
    program, choice_id, chosen_id = _program_read(shop_id=shop.pk,
                                                  membership_id=purchase.membership_id)
    gift = roundup_clean(program=program, shop=shop, amount=purchase.amount,
                         round_up=bool(extras.get("round_up")),
                         donation_amount=extras.get("donation_amount"),
                         currency=extras.get("donation_currency"))
    if program is None or not program.enabled:
        return []
    purchase.donation = {"shop_share": str(ZERO), "round_up": str(ZERO),
                         "currency": purchase.currency, "charity": None, "charities": []}
    # A purchase made just before midnight that got the lock after its month was closed
    # counts in the next one: nothing lands in a closed month.
    month = _open_month(program=program, month=selectors.month_of(
        purchase.created_at or timezone.now(), shop.time_zone))
    share = ZERO
    if purchase.membership_id is not None:
        share = shop_share_amount(program=program, amount=purchase.amount,
                                  currency=purchase.currency)
        if share > 0 and program.monthly_cap is not None:
            _cap_lock(shop.pk)
            room = program.monthly_cap - _month_given(shop_id=shop.pk, month=month)
            share = max(min(share, room), ZERO)
    if share <= 0 and gift <= 0:
        return []
    view = selectors.program_view(shop=shop, updated_at=program.updated_at)
    recipients = selectors.recipients_of(charities=view.charities if view else {},
                                         split=program.split, chosen_id=chosen_id)
    if not recipients:
        if gift > 0:
            raise field_error("round_up", _("This shop does not take donations."),
                              code="no_donations")
        return []
    if chosen_id not in {charity.pk for charity in recipients}:
        choice_id = None  # the choice's charity is off: the gift follows the default
    lines = []
    if share > 0:
        lines += _gift_lines(purchase=purchase, kind=DonationKind.SHOP_SHARE,
                             funded_by=FundedBy.SHOP, total=share, recipients=recipients,
                             choice_id=choice_id, month=month)
    if gift > 0:
        lines += _gift_lines(purchase=purchase, kind=DonationKind.ROUND_UP,
                             funded_by=FundedBy.CUSTOMER, total=gift, recipients=recipients,
                             choice_id=choice_id, month=month)
    sql.insert_many(lines)  # plain SQL (loyalty.sql): the earn's path
    purchase.donations_made = lines
    purchase.donation = _donation_summary(
        lines=lines, currency=purchase.currency, recipients=recipients)
    text = _donation_words(purchase.donation, chosen=not extras.get("round_up"))
    if text and hasattr(purchase, "news"):  # what the counter and the API's news say
        purchase.news.append({"kind": "donation", "text": text})
    return lines


def _share_in_one(*, purchase, shop: Shop) -> list[Donation] | None:
    """PostgreSQL, the common case in one statement: the shop's share of a card's purchase,
    no round-up asked, no monthly cap, to the member's chosen charity or else the default.
    Decided by the shop's program as this process keeps it (``selectors.program_view``); the
    statement takes the program's shared lock, reads the member's latest choice and inserts
    the line only if the program is still that version (its ``updated_at``). None when this
    path does not apply or the program has changed: nothing was written, and the caller
    gives the long way (the program read first, then the lines), which also loads the new
    version for the next purchase."""
    if purchase.membership_id is None:
        return None
    view = selectors.program_view(shop=shop)
    program = view.program if view is not None else None
    if program is None or not program.enabled or program.monthly_cap is not None or (
            program.split != Split.DEFAULT):
        return None
    active = [charity for charity in view.charities.values() if charity.active]
    default = next((charity for charity in active if charity.is_default), None)
    share = shop_share_amount(program=program, amount=purchase.amount,
                              currency=purchase.currency)
    if default is None or share <= 0:
        return None
    month = _open_month(program=program, month=selectors.month_of(
        purchase.created_at or timezone.now(), shop.time_zone))
    kind = DonationKind.SHOP_SHARE
    line = Donation(
        shop_id=purchase.shop_id, charity=default, membership_id=purchase.membership_id,
        kind=kind, funded_by=FundedBy.SHOP, source=DonationSource.PURCHASE, amount=share,
        currency=purchase.currency, purchase=purchase, idempotency_key="",
        payable_at=purchase.points_available_at, month=month)
    # The line's columns in order: the charity and the choice are the statement's, and so is
    # the idempotency key's end (the charity's id).
    columns = [f"purchase:{purchase.pk}:{kind}:" if field.name == "idempotency_key" else value
               for field, value in zip(sql.insert_fields(Donation), sql.values(line),
                                       strict=True)
               if field.name not in ("charity", "choice")]
    ids = [charity.pk for charity in active]
    row = sql.fetch_one(_share_in_one_sql(), [
        PROGRAM_LOCK_SPACE, shop.pk, purchase.membership_id, ids, default.pk, ids, *columns,
        program.updated_at])
    charity_id, choice_id, inserted = row
    if not inserted:
        return None
    line.charity, line.choice_id = view.charities[charity_id], choice_id
    line.idempotency_key = f"purchase:{purchase.pk}:{kind}:{charity_id}"
    line._state.adding, line._state.db = False, "default"
    lines = [line]
    purchase.donations_made = lines
    purchase.donation = _donation_summary(lines=lines, currency=purchase.currency,
                                          recipients=[line.charity])
    text = _donation_words(purchase.donation, chosen=True)
    if text and hasattr(purchase, "news"):
        purchase.news.append({"kind": "donation", "text": text})
    return lines


@functools.cache
def _share_in_one_sql() -> str:
    """``_share_in_one``'s statement. Parameters: the lock's space and the shop; the card; the
    active charities' ids, the default's, the active ids again; the line's columns in order
    but the charity and the choice (the idempotency key: its start); the program's
    ``updated_at`` it was decided by. Returns the charity given to, the choice followed (or
    NULL) and 1 if the line was inserted, 0 if the program has changed."""
    connection = connections[DEFAULT_DB_ALIAS]
    choice = sql.table(CharityChoice)
    columns, values = [], []
    for field in sql.insert_fields(Donation):
        columns.append(connection.ops.quote_name(field.column))
        values.append({"charity": "pick.charity_id", "choice": "pick.choice_id",
                       "idempotency_key": "CAST(%s AS text) || pick.charity_id"}.get(
            field.name, f"CAST(%s AS {field.db_type(connection)})"))
    select = ", ".join(values)
    # Identifiers only in the text; every value is a parameter.
    return (
        "WITH prog AS (SELECT p.updated_at FROM charity_program_shared(%s, %s) p),"  # noqa: S608
        f" latest AS (SELECT ch.id, ch.{sql.column(CharityChoice, 'charity')} AS charity_id"
        f" FROM {choice} ch WHERE ch.{sql.column(CharityChoice, 'membership')} = %s"
        f" ORDER BY ch.{sql.column(CharityChoice, 'chosen_at')} DESC, ch.id DESC LIMIT 1),"
        " pick AS (SELECT CASE WHEN l.charity_id = ANY(CAST(%s AS bigint[]))"
        " THEN l.charity_id ELSE CAST(%s AS bigint) END AS charity_id,"
        " CASE WHEN l.charity_id = ANY(CAST(%s AS bigint[])) THEN l.id END AS choice_id"
        " FROM (SELECT 1) one LEFT JOIN latest l ON TRUE),"
        f" ins AS (INSERT INTO {sql.table(Donation)} ({', '.join(columns)})"
        f" SELECT {select} FROM pick, prog WHERE prog.updated_at = %s RETURNING 1)"
        " SELECT pick.charity_id, pick.choice_id, (SELECT count(*) FROM ins) FROM pick"
    )


def _donation_summary(*, lines, currency: str, recipients) -> dict:
    """What a purchase gave, for the API's ``donation`` and the counter: the shop's share
    and the customer's round-up (decimal strings), the charity (its name; ``charities``
    names them all when the gift was split evenly), the currency."""
    def total(kind):
        return str(sum((line.amount for line in lines if line.kind == kind), ZERO))
    names = [charity.name for charity in recipients]
    return {"shop_share": total(DonationKind.SHOP_SHARE), "round_up": total(DonationKind.ROUND_UP),
            "currency": currency, "charity": names[0] if len(names) == 1 else None,
            "charities": names}


def _donation_words(summary: dict, *, chosen: bool = False) -> str:
    """"€0.50 round-up and €0.28 from the shop to KWF": what the counter and the API's
    ``news`` say of a purchase's gift (empty when it gave nothing)."""
    share, gift = Decimal(summary["shop_share"]), Decimal(summary["round_up"])
    currency = summary["currency"]  # only what the words need is formatted (the earn's path)
    values = {"share": money(share, currency) if share > 0 else "",
              "gift": money(gift, currency) if gift > 0 else "",
              "charity": ", ".join(summary["charities"])}
    if share > 0 and gift > 0:
        if chosen:
            return _("%(gift)s from the customer and %(share)s from the shop to "
                     "%(charity)s.") % values
        return _("%(gift)s round-up and %(share)s from the shop to %(charity)s.") % values
    if gift > 0:
        if chosen:
            return _("%(gift)s from the customer to %(charity)s.") % values
        return _("%(gift)s round-up to %(charity)s.") % values
    if share > 0:
        return _("%(share)s from the shop to %(charity)s.") % values
    return ""


def _open_month(*, program: CharityProgram, month: dt.date) -> dt.date:
    """``month``, or the first open month after it when it is closed."""
    if program.closed_through is not None and month <= program.closed_through:
        return months_add(program.closed_through, 1)
    return month


def _reversal(*, gift: Donation, amount: Decimal, program, refund=None, entry=None,
              key: str) -> Donation:
    source = DonationSource.REFUND if refund is not None else DonationSource.REDEMPTION
    return Donation(
        shop_id=gift.shop_id, charity_id=gift.charity_id, membership_id=gift.membership_id,
        choice_id=gift.choice_id, kind=DonationKind.REVERSAL, funded_by=gift.funded_by,
        source=source, amount=-amount, currency=gift.currency, purchase_id=gift.purchase_id,
        refund=refund, entry=entry, reverses=gift, idempotency_key=key,
        payable_at=gift.payable_at,
        month=_open_month(program=program, month=gift.month))


def _taken_back(gifts) -> dict[int, Decimal]:
    return {row["reverses"]: -row["total"] for row in Donation.objects.filter(
        reverses__in=gifts).values("reverses").annotate(total=Sum("amount"))}


def refund_donation_back(*, refund: Refund) -> list[Donation]:
    """The refund effect (settings.TROUW_EFFECTS["refund"]): the shop's share is taken back in
    proportion to what was refunded (cumulative, so partial refunds add up to all of it);
    the counter's undo takes back the round-up too (the customer's money went back), any
    other refund keeps it. A gift in a closed month is taken back in the next open one."""
    purchase = refund.purchase
    gifts = list(Donation.objects.filter(
        purchase_id=purchase.pk, kind__in=[DonationKind.SHOP_SHARE, DonationKind.ROUND_UP]))
    if not gifts:
        return []
    program = CharityProgram.objects.select_for_update().get(shop_id=purchase.shop_id)
    refunded = Refund.objects.filter(purchase_id=purchase.pk).aggregate(
        total=Sum("amount"))["total"] or ZERO
    undo = loyalty_services.refund_is_undo(refund)
    taken = _taken_back(gifts)
    lines = []
    for gift in gifts:
        if gift.kind == DonationKind.SHOP_SHARE:
            due = min(money_round(gift.amount * refunded / purchase.amount, gift.currency),
                      gift.amount)
        else:
            due = gift.amount if undo else ZERO
        amount = due - taken.get(gift.pk, ZERO)
        if amount > 0:
            lines.append(_reversal(gift=gift, amount=amount, program=program, refund=refund,
                                   key=f"refund:{refund.pk}:{gift.pk}"))
    Donation.objects.bulk_create(lines)
    given_back = -sum((line.amount for line in lines if line.funded_by == FundedBy.CUSTOMER),
                      ZERO)
    if given_back > 0 and hasattr(refund, "news"):
        refund.news.append({"kind": "donation", "text": _(
            "The %(amount)s round-up goes back to the customer.") % {
            "amount": money(given_back, purchase.currency)}})
    return lines


# --- Points given ----------------------------------------------------------------------------


def points_donation_quote(*, shop: Shop, membership: Membership, points) -> dict:
    """What giving ``points`` would donate, and to whom, before the member confirms: the
    same refusals as ``points_donate`` (a whole number above zero, a shop that takes points,
    worth at least a cent, no more than the spendable points). Writes nothing."""
    if isinstance(points, str):
        points = int(points.strip()) if points.strip().isdigit() else None
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise field_error("points", _("Enter a whole number of points above zero."))
    program = selectors.program_for(shop=shop)
    if program is None or not program.enabled or not program.points_per_unit:
        raise field_error("points", _("This shop does not take points as donations."),
                          code="not_allowed")
    money = money_round(Decimal(points) / program.points_per_unit, shop.currency)
    if money <= 0:
        raise field_error("points", _(
            "Give at least %(points)s points: fewer are worth nothing.") % {
            "points": (program.points_per_unit + 199) // 200})
    spendable = loyalty_services.membership_spendable_points(membership=membership)
    if points > spendable:
        raise field_error("points", _(
            "Not enough points: %(spendable)s can be spent, %(points)s asked."
        ) % {"spendable": spendable, "points": points}, code="insufficient_points")
    recipients = _recipients(program=program, shop_id=shop.pk, membership_id=membership.pk)
    if not recipients:
        raise field_error("points", _("This shop does not take donations."),
                          code="not_allowed")
    return {"points": points, "money": money, "currency": shop.currency,
            "charities": [charity for charity, _choice in recipients]}


def points_donate(*, shop: Shop, membership_id: int, points, charity_id=None,
                  by: User | None = None, api_key=None,
                  idempotency_key: str | None = None) -> list[Donation]:
    """A member gives points: they leave the card as a redemption (the rewards' ledger) and the
    shop donates their worth at the program's rate, to the charity named or the member's."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise field_error("points", _("Enter a whole number of points above zero."))
    with transaction.atomic():
        membership = loyalty_services.membership_lock(shop=shop, membership_id=membership_id)
        # A replay is told so before the balance it already spent is checked again (under the
        # card's lock: a twin waits here and sees the first's entry; the unique key holds it).
        if idempotency_key and LedgerEntry.objects.filter(
                shop=shop, idempotency_key=f"donate:{idempotency_key}").exists():
            raise loyalty_services.DuplicateRequest(None)
        program = CharityProgram.objects.select_for_update().filter(shop=shop).first()
        if program is None or not program.enabled or not program.points_per_unit:
            raise field_error("points", _("This shop does not take points as donations."),
                              code="not_allowed")
        money = money_round(Decimal(points) / program.points_per_unit, shop.currency)
        if money <= 0:
            raise field_error("points", _(
                "Give at least %(points)s points: fewer are worth nothing.") % {
                "points": (program.points_per_unit + 199) // 200})
        if charity_id not in (None, ""):
            charity = _charity_of_shop(shop=shop, charity_id=charity_id)
            recipients = [(charity, None)]
        else:
            recipients = _recipients(program=program, shop_id=shop.pk,
                                     membership_id=membership.pk)
        if not recipients:
            raise field_error("points", _("This shop does not take donations."),
                              code="not_allowed")
        # The entry's words are stored, as a reward's name is: in the shop's language and
        # number format, whatever the language of the page the member gave from.
        with translation.override(shop.language):
            note = _("Given to charity: %(amount)s") % {
                "amount": money_format(money, shop.currency)}
        try:
            entry = loyalty_services.points_spend(
                shop=shop, membership_id=membership.pk, points=points,
                kind=EntryKind.REDEMPTION, reference="charity.donation", note=note,
                actor_user=by, actor_api_key=api_key,
                idempotency_key=f"donate:{idempotency_key}" if idempotency_key else None)
        except IntegrityError:
            raise loyalty_services.DuplicateRequest(None) from None
        now = timezone.now()
        month = _open_month(program=program, month=selectors.month_of(now, shop.time_zone))
        lines = []
        for (charity, choice), part in zip(
                recipients, _split(money, len(recipients), shop.currency), strict=True):
            if part > 0:
                lines.append(Donation(
                    shop=shop, charity=charity, membership=membership, choice=choice,
                    kind=DonationKind.POINTS, funded_by=FundedBy.SHOP,
                    source=DonationSource.REDEMPTION, amount=part, currency=shop.currency,
                    entry=entry, idempotency_key=f"points:{entry.pk}:{charity.pk}",
                    payable_at=now, month=month))
        Donation.objects.bulk_create(lines)
        return lines


def points_donation_reverse(*, shop: Shop, donation_id: int, by: User | None,
                            reason: str = "") -> Donation:
    """The owner takes back a gift of points: the points come back to the card (a reversal
    of their redemption) and the donation is taken back in the first open month."""
    reason = (reason or "").strip()[:200]
    gift = Donation.objects.filter(shop=shop, pk=donation_id, kind=DonationKind.POINTS).first()
    if gift is None:
        raise ValidationError(_("No such gift of points at this shop."), code="not_found")
    with transaction.atomic():
        membership = loyalty_services.membership_lock(shop=shop, membership_id=gift.membership_id)
        program = CharityProgram.objects.select_for_update().get(shop=shop)
        if Donation.objects.filter(reverses=gift).exists():
            raise ValidationError(_("This gift of points was taken back already."),
                                  code="conflict")
        entry = LedgerEntry.objects.get(pk=gift.entry_id)
        # Its share of the redemption (an even split gave one line per charity).
        shares = Donation.objects.filter(entry_id=entry.pk, kind=DonationKind.POINTS)
        total = shares.aggregate(total=Sum("amount"))["total"]
        points = -entry.points if shares.count() == 1 else int(
            (Decimal(-entry.points) * gift.amount / total).to_integral_value(ROUND_HALF_UP))
        back = None
        if points > 0:
            back = loyalty_services.points_credit(
                shop=shop, membership_id=membership.pk, points=points, kind=EntryKind.REVERSAL,
                reverses=entry, reference=f"charity.donation:{gift.pk}", note=reason,
                actor_user=by, idempotency_key=f"donation-return:{gift.pk}")
        reversal = _reversal(gift=gift, amount=gift.amount, program=program, entry=back,
                             key=f"points-reverse:{gift.pk}")
        reversal.save()
        return reversal


# --- Months and statements ---------------------------------------------------------------------


def month_close(*, shop: Shop, month: dt.date, now: dt.datetime | None = None
                ) -> list[Statement]:
    """Close a month that has ended: each charity's statement is frozen from the ledger, and
    nothing of that month changes any more (a later refund lands in the next open month).
    Months close in order."""
    now = now or timezone.now()
    month = month.replace(day=1)
    with transaction.atomic():
        program = _program_lock(shop)
        if month >= selectors.month_of(now, shop.time_zone):
            raise field_error("month", _("A month can be closed once it has ended."))
        if selectors.month_is_closed(program=program, month=month):
            raise field_error("month", _("This month is closed already."), code="conflict")
        first_open = selectors.first_open_month(program=program, shop=shop)
        if first_open is not None and month != first_open and month > first_open:
            raise field_error("month", _(
                "Close %(month)s first: months are closed in order.") % {
                "month": first_open.strftime("%Y-%m")})
        statements = [
            Statement(shop=shop, charity=row["charity"], month=month, currency=shop.currency,
                      donations_count=row["count"], shop_funded=row["shop_funded"],
                      customer_funded=row["customer_funded"], closed_at=now,
                      payable_from=row["payable_from"] or now)
            for row in selectors.month_totals(shop=shop, month=month)]
        Statement.objects.bulk_create(statements)
        CharityProgram.objects.filter(pk=program.pk).update(closed_through=month)
        return statements


def statement_mark_paid(*, shop: Shop, statement_id: int, paid_on, reference: str
                        ) -> Statement:
    """Record that a closed statement was paid: the date and the payment's reference."""
    reference = (reference or "").strip()
    errors = {}
    if not isinstance(paid_on, dt.date):
        errors["paid_on"] = [_("Enter the date it was paid.")]
    elif paid_on > timezone.localdate() + dt.timedelta(days=1):
        errors["paid_on"] = [_("The date it was paid cannot be in the future.")]
    if not reference:
        errors["reference"] = [_("Enter the payment's reference (as on your bank statement).")]
    elif len(reference) > 100:
        errors["reference"] = [_("The reference may be 100 characters at most.")]
    if errors:
        raise ValidationError(errors)
    statement = Statement.objects.filter(shop=shop, pk=statement_id).first()
    if statement is None:
        raise ValidationError(_("No such statement at this shop."), code="not_found")
    payable_on = selectors.statement_payable_on(statement, shop=shop)
    if timezone.now() < statement.payable_from or paid_on < payable_on:
        # Until the return window of its last purchase ends, a refund may still take some of
        # it back: like the points, the donations are payable after the pending period.
        raise field_error("paid_on", _(
            "This statement can be paid from %(date)s, when the return window of the month's "
            "last purchase ends.") % {"date": date_format(payable_on, "SHORT_DATE_FORMAT")})
    Statement.objects.filter(pk=statement.pk).update(paid_on=paid_on, paid_reference=reference)
    statement.paid_on, statement.paid_reference = paid_on, reference
    return statement
