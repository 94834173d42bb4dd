"""Core write operations: shops, staff roles and invitations.

Plain, keyword-only functions called by views, API views, tasks and management commands alike.
Bad input raises ``django.core.exceptions.ValidationError`` with a translated message and
changes nothing.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import secrets
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, models, transaction
from django.utils import formats, timezone
from django.utils.module_loading import import_string
from django.utils.text import slugify
from django.utils.translation import gettext as _

from . import sql
from .models import (
    ApiKey,
    ApiKeyScope,
    Country,
    Currency,
    EntryKind,
    IdempotentRequest,
    InvitationStatus,
    Language,
    LedgerEntry,
    Membership,
    PointLot,
    ProgramKind,
    ProgramRules,
    Purchase,
    PurchaseItem,
    Refund,
    Shop,
    StaffInvitation,
    StaffMember,
    StaffRole,
    User,
)
from .points import (
    MAX_BALANCE,
    MAX_PENDING_DAYS,
    MAX_POINTS_PER_PURCHASE,
    MAX_RULE_NUMBER,
    STAMP_REWARD_MAX_LENGTH,
    STAMPS_PER_CARD_MAX,
    STAMPS_PER_CARD_MIN,
    points_for_amount,
)
from .selectors import UNDO_WINDOW, api_key_hash, api_keys_forget, digits_only

INVITATION_SALT = "trouw.staff-invitation"
# Words of our own URLs that a shop's web address may not take.
RESERVED_SLUGS = frozenset({"shops", "new", "admin", "api", "static", "media", "portal"})


# Letters that Unicode does not decompose into a plain letter and an accent.
_SLUG_LETTERS = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "œ": "oe",
                               "Œ": "oe", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "þ": "th"})
SLUG_MAX_LENGTH = 50


def shop_slug_from_name(name: str) -> str:
    """The web address a name suggests: "Bakkerij De Gouden Korst" → "bakkerij-de-gouden-korst",
    "Café Ørsted" → "cafe-orsted". static/js/shop_create.js does the same as it is typed."""
    slug = slugify((name or "").translate(_SLUG_LETTERS)).replace("_", "-")
    slug = re.sub(r"-{2,}", "-", slug)[:SLUG_MAX_LENGTH]
    return slug.strip("-")


def _slug_with_number(slug: str, number: int) -> str:
    suffix = f"-{number}"
    return slug[:SLUG_MAX_LENGTH - len(suffix)].rstrip("-") + suffix


def shop_slug_free(slug: str) -> str:
    """``slug`` if no shop has it and it is not one of our words, else the first free
    "<slug>-2", "<slug>-3", …"""
    taken = set(Shop.objects.filter(slug__startswith=slug[:40]).values_list("slug", flat=True))
    taken |= RESERVED_SLUGS
    if slug not in taken:
        return slug
    number = 2
    while _slug_with_number(slug, number) in taken:
        number += 1
    return _slug_with_number(slug, number)


def shop_create(
    *,
    owner: User,
    name: str,
    slug: str = "",
    currency: str,
    language: str,
    time_zone: str,
    country: str = Country.NL,
    email: str = "",
    phone: str = "",
    address: str = "",
    website: str = "",
) -> Shop:
    """Create a shop with ``owner`` as its first owner. Without a ``slug`` (its web address)
    one is made from the name: the first free of "<name>", "<name>-2", …"""
    name = (name or "").strip()
    slug = (slug or "").strip().lower()
    suggested = not slug
    if suggested:
        slug = shop_slug_from_name(name)
        if not slug:
            raise ValidationError({"slug": [_(
                "Choose a web address: your shop's name has no letters or digits to make one "
                "of.")]})
    for _attempt in range(5):
        if suggested:
            slug = shop_slug_free(slug)
        try:
            return _shop_create(owner=owner, name=name, slug=slug, suggested=suggested,
                                currency=currency, language=language, time_zone=time_zone,
                                country=country, email=email, phone=phone, address=address,
                                website=website)
        except _SlugTaken:
            if not suggested:
                raise ValidationError({"slug": [_slug_taken_message(slug)]}) from None
    raise ValidationError({"slug": [_("Choose a web address: the ones made of your shop's "
                                      "name are taken.")]})


class _SlugTaken(Exception):
    """The web address is taken, and nothing else is wrong: a suggested one can be retried."""


def _slug_taken_message(slug: str) -> str:
    return _("The web address “%(slug)s” is taken. Try another, such as “%(free)s”.") % {
        "slug": slug, "free": shop_slug_free(slug)}


def _shop_create(*, owner: User, name: str, slug: str, suggested: bool, currency: str,
                 language: str, time_zone: str, **details) -> Shop:
    errors: dict[str, list[str]] = {}
    if currency not in Currency.values:
        errors["currency"] = [
            _("Unknown currency “%(value)s”. Choose one of: %(choices)s.")
            % {"value": currency, "choices": ", ".join(Currency.values)}
        ]
    if language not in Language.values:
        errors["language"] = [
            _("Unknown language “%(value)s”. Choose one of: %(choices)s.")
            % {"value": language, "choices": ", ".join(Language.values)}
        ]
    if slug in RESERVED_SLUGS:
        errors["slug"] = [_("The web address “%(slug)s” is reserved. Try another.") % {
            "slug": slug}]
    shop = Shop(name=name, slug=slug, currency=currency, language=language, time_zone=time_zone,
                **details)
    slug_taken = False
    try:
        shop.full_clean(exclude=list(errors))
    except ValidationError as exc:
        for field, field_errors in exc.error_dict.items():
            for error in field_errors:
                if field == "slug" and error.code == "unique":
                    slug_taken = True
                else:
                    errors.setdefault(field, []).extend(error.messages)
    if errors:
        if slug_taken and not suggested:
            errors.setdefault("slug", []).append(_slug_taken_message(slug))
        raise ValidationError(errors)
    if slug_taken:
        raise _SlugTaken
    try:
        with transaction.atomic():
            shop.save()
            StaffMember.objects.create(shop=shop, user=owner, role=StaffRole.OWNER)
    except IntegrityError:
        raise _SlugTaken from None  # taken a moment ago, by another request
    return shop


def shop_update(*, shop: Shop, **fields) -> Shop:
    """Change a shop's details. The currency is fixed once the shop exists: points and money
    recorded in it would otherwise change meaning."""
    allowed = {"name", "language", "time_zone", "email", "phone", "address", "website", "logo",
               "country", "brand_color", "privacy_url"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(_("These details cannot be changed: %(fields)s") % {
            "fields": ", ".join(sorted(unknown))})
    for key, value in fields.items():
        setattr(shop, key, value.strip() if isinstance(value, str) else value)
    shop.full_clean(exclude=["slug"])
    shop.save(update_fields=sorted(fields))
    api_keys_forget()  # a key's row holds its shop (time zone, …)
    return shop


# --- Staff invitations ------------------------------------------------------------------------


def staff_invite(*, shop: Shop, email: str, invited_by: User) -> StaffInvitation:
    """Invite ``email`` to the staff of ``shop``; a pending invitation to it is replaced."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationError({"email": [_("Enter a valid e-mail address.")]}) from None
    if StaffMember.objects.filter(shop=shop, user__email__iexact=email, is_active=True).exists():
        raise ValidationError({"email": [_("%(email)s is already on your team.") % {
            "email": email}]})
    now = timezone.now()
    with transaction.atomic():
        StaffInvitation.objects.filter(
            shop=shop, email__iexact=email, status=InvitationStatus.PENDING
        ).update(status=InvitationStatus.REVOKED)
        invitation = StaffInvitation.objects.create(
            shop=shop, email=email, invited_by=invited_by,
            expires_at=now + dt.timedelta(days=settings.TROUW_INVITATION_MAX_AGE_DAYS),
        )
        from .tasks import staff_invitation_send

        transaction.on_commit(lambda: staff_invitation_send.delay(invitation.pk))
    return invitation


def staff_invitation_token(invitation: StaffInvitation) -> str:
    return signing.dumps({"id": invitation.pk}, salt=INVITATION_SALT, compress=True)


class InvitationInvalid(Exception):
    """The link is wrong, expired, used or revoked; ``str(exc)`` is a message for the invitee."""


def staff_invitation_from_token(token: str) -> StaffInvitation:
    max_age = dt.timedelta(days=settings.TROUW_INVITATION_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=INVITATION_SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise InvitationInvalid(
            _("This invitation has expired. Ask the shop owner to send a new one.")
        ) from None
    except signing.BadSignature:
        raise InvitationInvalid(_("This invitation link is not valid.")) from None
    invitation = (
        StaffInvitation.objects.select_related("shop").filter(pk=payload.get("id")).first()
    )
    if invitation is None:
        raise InvitationInvalid(_("This invitation link is not valid."))
    if invitation.status == InvitationStatus.ACCEPTED:
        raise InvitationInvalid(_("This invitation has already been used. Sign in instead."))
    if invitation.status == InvitationStatus.REVOKED:
        raise InvitationInvalid(_("This invitation was withdrawn by the shop."))
    if invitation.status == InvitationStatus.EXPIRED or invitation.expires_at <= timezone.now():
        raise InvitationInvalid(
            _("This invitation has expired. Ask the shop owner to send a new one.")
        )
    return invitation


def staff_invitation_accept(*, invitation: StaffInvitation, user: User) -> StaffMember:
    """Make ``user`` staff of the invitation's shop. Works once: a second accept fails."""
    if user.email.lower() != invitation.email.lower():
        raise InvitationInvalid(
            _("This invitation was sent to %(email)s. Sign in with that address to accept it.")
            % {"email": invitation.email}
        )
    now = timezone.now()
    with transaction.atomic():
        claimed = StaffInvitation.objects.filter(
            pk=invitation.pk, status=InvitationStatus.PENDING, expires_at__gt=now
        ).update(status=InvitationStatus.ACCEPTED, accepted_at=now, accepted_by=user)
        if claimed != 1:
            raise InvitationInvalid(_("This invitation is no longer valid."))
        staff_member, created = StaffMember.objects.select_for_update().get_or_create(
            shop_id=invitation.shop_id, user=user, defaults={"role": StaffRole.STAFF}
        )
        if not created and not staff_member.is_active:
            staff_member.is_active = True
            staff_member.save(update_fields=["is_active"])
    return staff_member


def staff_invitation_accept_new_user(
    *, invitation: StaffInvitation, name: str, password: str
) -> StaffMember:
    """Create the invitee's login (its e-mail is proven by the link) and accept."""
    from allauth.account.models import EmailAddress

    with transaction.atomic():
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise InvitationInvalid(
                _("An account for %(email)s exists already. Sign in to accept the invitation.")
                % {"email": invitation.email}
            )
        user = User.objects.create_user(email=invitation.email, password=password, name=name)
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return staff_invitation_accept(invitation=invitation, user=user)


def staff_invitation_revoke(*, shop: Shop, invitation_id: int) -> None:
    updated = StaffInvitation.objects.filter(
        shop=shop, pk=invitation_id, status=InvitationStatus.PENDING
    ).update(status=InvitationStatus.REVOKED)
    if updated != 1:
        raise ValidationError(_("This invitation is no longer pending."))


def staff_invitations_expire(*, now: dt.datetime | None = None) -> int:
    """Mark pending invitations past their date as expired. Safe to run any number of times."""
    now = now or timezone.now()
    return StaffInvitation.objects.filter(
        status=InvitationStatus.PENDING, expires_at__lte=now
    ).update(status=InvitationStatus.EXPIRED)


def idempotent_requests_prune(*, now: dt.datetime | None = None, batch: int = 5000) -> int:
    """Delete the stored answers of Idempotency-Keys older than
    ``settings.TROUW_IDEMPOTENCY_KEEP_DAYS``, in batches (short transactions, no long lock).
    A till retries within minutes; after the keep days a key sent again gets a 409 and still
    records nothing twice (the purchase or refund keeps its own unique key). Safe to run any
    number of times."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.TROUW_IDEMPOTENCY_KEEP_DAYS)
    deleted = 0
    while True:
        ids = list(IdempotentRequest.objects.filter(created_at__lt=cutoff)
                   .order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += IdempotentRequest.objects.filter(pk__in=ids).delete()[0]


def staff_set_active(*, shop: Shop, staff_member_id: int, active: bool, acting_user: User) -> (
    StaffMember
):
    """Deactivate or reactivate a staff member. An owner cannot be switched off here."""
    staff_member = StaffMember.objects.filter(shop=shop, pk=staff_member_id).first()
    if staff_member is None:
        raise ValidationError(_("No such staff member at this shop."))
    if staff_member.role == StaffRole.OWNER:
        raise ValidationError(_("An owner cannot be deactivated."))
    if staff_member.user_id == acting_user.pk:
        raise ValidationError(_("You cannot deactivate yourself."))
    StaffMember.objects.filter(pk=staff_member.pk).update(is_active=active)
    staff_member.is_active = active
    return staff_member


# --- The points engine ------------------------------------------------------------------------
# Lock order, everywhere: the membership row first, then the purchase row. Every change of points
# writes a ledger entry, moves lots and updates the cached balance in one transaction.

MAX_AMOUNT = Decimal("100000.00")
_MONEY_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")


def field_error(field: str, message: str, code: str = "invalid") -> ValidationError:
    """A ValidationError on one field that keeps its code (a dict-level code would be lost)."""
    return ValidationError({field: [ValidationError(message, code=code)]})


class DuplicateRequest(Exception):
    """The idempotency key was used before; ``existing`` is what it created."""

    def __init__(self, existing):
        super().__init__("duplicate idempotency key")
        self.existing = existing


def money_display(amount: Decimal) -> str:
    """An amount for a message, as the active language writes it: 27,50 in Dutch and Swedish."""
    return formats.number_format(amount, decimal_pos=2, force_grouping=True)


def points_display(points: int) -> str:
    """A number of points for a message, grouped as the active language groups it."""
    return formats.number_format(points, force_grouping=True)


def _balance_room_check(membership: Membership, points: int) -> None:
    """Refuse points that would take the (locked) card beyond MAX_BALANCE."""
    if points > 0 and membership.points_balance + points > MAX_BALANCE:
        raise field_error("member", _("This card cannot hold more points (at most %(max)s).") % {
            "max": points_display(MAX_BALANCE)}, code="conflict")


def money_parse(value, *, field: str = "amount", allow_zero: bool = False) -> Decimal:
    """Parse an amount of money strictly: a number with at most two decimals, positive, sane."""
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip() if value is not None else ""
    try:
        # Plain digits (0-9) with one optional decimal point or comma: Decimal alone would also
        # take "1e2", "1_000", "Infinity" and digits of other scripts.
        amount = Decimal(text.replace(",", ".")) if _MONEY_TEXT.fullmatch(text) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError({field: [_("Enter an amount, such as 27.50.")]}, code="invalid")
    if amount.as_tuple().exponent < -2:
        raise ValidationError({field: [_("Use at most two decimals.")]}, code="invalid")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError({field: [_("The amount must be more than zero.")]}, code="invalid")
    if amount > MAX_AMOUNT:
        raise ValidationError({field: [_("That amount is too large (at most %(max)s).") % {
            "max": money_display(MAX_AMOUNT)}]}, code="invalid")
    return amount.quantize(Decimal("0.01"))


def program_rules_current(*, shop: Shop) -> ProgramRules:
    """The shop's rules in force; a shop without any gets version 1 with the defaults.

    Read from ``shop.current_rules``: loaded with the shop (an API key or a staff role selects
    it in the same query), so the hot path does not ask for it again."""
    if shop.current_rules_id is not None:
        return shop.current_rules
    with transaction.atomic():
        # Lock the shop so that two first purchases cannot both create version 1.
        locked = (Shop.objects.select_for_update(of=("self",)).select_related("current_rules")
                  .get(pk=shop.pk))
        rules = locked.current_rules
        if rules is None:
            rules = ProgramRules.objects.create(shop=shop, version=1)
            Shop.objects.filter(pk=shop.pk).update(current_rules=rules)
            api_keys_forget()
    shop.current_rules = rules
    return rules


def _steps_clean(steps) -> list[dict]:
    cleaned = []
    for index, step in enumerate(steps or [], start=1):
        try:
            min_amount = money_parse(step.get("min_amount"), field="steps")
            points = int(step.get("points"))
        except (ValidationError, TypeError, ValueError, AttributeError):
            raise ValidationError({"steps": [_(
                "Step %(n)s: enter an amount above zero and a whole number of points."
            ) % {"n": index}]}) from None
        if points <= 0:
            raise ValidationError({"steps": [_("Step %(n)s: points must be more than zero.") % {
                "n": index}]})
        if points > MAX_POINTS_PER_PURCHASE:
            raise ValidationError({"steps": [_("Step %(n)s: at most %(max)s points.") % {
                "n": index, "max": points_display(MAX_POINTS_PER_PURCHASE)}]})
        cleaned.append({"min_amount": str(min_amount), "points": points})
    amounts = [step["min_amount"] for step in cleaned]
    if len(set(amounts)) != len(amounts):
        raise ValidationError({"steps": [_("Two steps start at the same amount.")]})
    cleaned.sort(key=lambda s: Decimal(s["min_amount"]))
    # A bigger purchase must never earn less: each step gives more than the one below it.
    for lower, higher in zip(cleaned, cleaned[1:], strict=False):
        if higher["points"] <= lower["points"]:
            raise ValidationError({"steps": [_(
                "A higher step must give more points: from %(amount)s it gives %(points)s, "
                "no more than the step below."
            ) % {"amount": money_display(Decimal(higher["min_amount"])),
                 "points": higher["points"]}]})
    return cleaned


RULE_FIELDS = ("program", "stamps_per_card", "stamp_reward", "points_per_unit", "steps",
               "steps_replace_rate", "minimum_amount", "cap_per_purchase",
               "points_per_currency_value", "signup_bonus", "pending_days")


def _rule_names_check(fields: dict) -> None:
    unknown = set(fields) - {*RULE_FIELDS, "stamp_minimum"}
    if unknown:
        raise ValidationError(_("Unknown rule settings: %(fields)s") % {
            "fields": ", ".join(sorted(unknown))})


def _program_rules_values(*, current: ProgramRules, fields: dict) -> dict:
    """``fields`` over the rules in force, checked and in the stored shape; refuses bad input.

    A stamp card is stored as a one-step table (``stamp_minimum`` → one stamp, no rate, the step
    replacing the rate), so the engine counts stamps as points; a points program has no card."""
    _rule_names_check(fields)
    values = {name: getattr(current, name) for name in RULE_FIELDS}
    values.update({name: value for name, value in fields.items() if name != "stamp_minimum"})
    if values["program"] not in ProgramKind.values:
        raise ValidationError({"program": [_("Choose points or a stamp card.")]})
    stamps = values["program"] == ProgramKind.STAMPS
    if stamps:
        if fields.get("points_per_unit"):
            raise ValidationError({"points_per_unit": [_(
                "A stamp card gives one stamp per purchase, not points for every amount: "
                "choose a points program for that.")]})
        if "stamp_minimum" in fields:
            values["steps"] = [{"min_amount": fields["stamp_minimum"], "points": 1}]
        elif not current.is_stamp_card and "steps" not in fields:
            raise ValidationError({"stamp_minimum": [_(
                "Enter the smallest purchase that earns a stamp.")]})
        values.update(points_per_unit=0, steps_replace_rate=True, cap_per_purchase=None,
                      minimum_amount=Decimal("0.00"))
    else:
        values.update(stamps_per_card=None, stamp_reward="")
    values["steps"] = _steps_clean(values["steps"])
    values["minimum_amount"] = money_parse(values["minimum_amount"], field="minimum_amount",
                                           allow_zero=True)
    errors = {}
    for name in ("points_per_unit", "points_per_currency_value", "signup_bonus", "pending_days"):
        value = values[name]
        if not isinstance(value, int) or value < 0 or value > MAX_RULE_NUMBER:
            errors[name] = [_("Enter a whole number from 0 to %(max)s.") % {
                "max": points_display(MAX_RULE_NUMBER)}]
    if values["points_per_currency_value"] == 0:
        errors["points_per_currency_value"] = [_("Enter a number above zero.")]
    if values["pending_days"] is not None and isinstance(values["pending_days"], int) and (
        values["pending_days"] > MAX_PENDING_DAYS
    ):
        errors["pending_days"] = [_("At most %(days)s days.") % {"days": MAX_PENDING_DAYS}]
    cap = values["cap_per_purchase"]
    if cap is not None and (not isinstance(cap, int) or cap <= 0):
        errors["cap_per_purchase"] = [_("Enter a number above zero, or leave it empty.")]
    elif cap is not None and cap > MAX_POINTS_PER_PURCHASE:
        errors["cap_per_purchase"] = [_("At most %(max)s points.") % {
            "max": points_display(MAX_POINTS_PER_PURCHASE)}]
    if stamps:
        errors.update(_stamp_card_errors(values))
    if errors:
        raise ValidationError(errors)
    return values


def _stamp_card_errors(values: dict) -> dict:
    errors = {}
    if len(values["steps"]) != 1 or values["steps"][0]["points"] != 1:
        errors["steps"] = [_("A stamp card has one stamp per purchase: give only the smallest "
                             "purchase that earns it.")]
    size = values["stamps_per_card"]
    if not isinstance(size, int) or not STAMPS_PER_CARD_MIN <= size <= STAMPS_PER_CARD_MAX:
        errors["stamps_per_card"] = [_("A full card has %(min)s to %(max)s stamps.") % {
            "min": STAMPS_PER_CARD_MIN, "max": STAMPS_PER_CARD_MAX}]
    elif isinstance(values["signup_bonus"], int) and values["signup_bonus"] >= size:
        errors["signup_bonus"] = [_("A new card can start with at most %(max)s stamps, one "
                                    "less than a full card.") % {"max": size - 1}]
    reward = str(values["stamp_reward"] or "").strip()
    if not reward:
        errors["stamp_reward"] = [_("Say what a full card gives, such as “a free coffee”.")]
    elif len(reward) > STAMP_REWARD_MAX_LENGTH:
        errors["stamp_reward"] = [_("Keep it to %(max)s characters or fewer.") % {
            "max": STAMP_REWARD_MAX_LENGTH}]
    values["stamp_reward"] = reward
    return errors


def program_rules_draft(*, shop: Shop, **fields) -> ProgramRules:
    """The rules that ``fields`` would make, checked like program_rules_update but not saved:
    the rules editor's preview shows exactly what saving would store."""
    current = shop.current_rules or ProgramRules(shop=shop, version=0)  # as in force
    values = _program_rules_values(current=current, fields=fields)
    return ProgramRules(shop=shop, version=current.version, **values)


def program_rules_update(*, shop: Shop, by: User | None, **fields) -> ProgramRules:
    """Save new rules as the next version. Points already earned keep the version they used.

    ``program="stamps"`` with ``stamp_minimum``, ``stamps_per_card`` and ``stamp_reward`` makes a
    stamp card; ``program="points"`` a points program (rate, steps, cap, minimum)."""
    _rule_names_check(fields)
    shop.refresh_from_db(fields=["current_rules"])  # compare with what is in force now
    current = program_rules_current(shop=shop)
    values = _program_rules_values(current=current, fields=fields)
    if all(getattr(current, name) == values[name] for name in RULE_FIELDS) and current.pk:
        return current
    with transaction.atomic():
        # Lock the shop row so two editors cannot both create version n+1.
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        latest = ProgramRules.objects.filter(shop=shop).order_by("-version").first()
        rules = ProgramRules.objects.create(
            shop=shop, version=(latest.version + 1) if latest else 1, created_by=by, **values
        )
        Shop.objects.filter(pk=shop.pk).update(current_rules=rules)
        api_keys_forget()  # a key's row holds the rules in force
    shop.current_rules = rules
    return rules


def membership_lock(*, shop: Shop, membership_id: int | None = None,
                    card_number: str | None = None) -> Membership:
    """Lock a member's row (found by id or card number) for the rest of the transaction. Every
    change of points starts here, so other apps that check something about a member before
    spending (a per-member limit) lock first too, and the check holds until they commit."""
    by, value = ("id", membership_id) if membership_id is not None else (
        "card_number", digits_only(card_number or ""))
    row = sql.fetch_one(_membership_lock_sql(by), [shop.pk, value])
    membership = sql.columns(Membership, "m").load(row) if row else None
    if membership is None:
        if membership_id is None:
            raise field_error("member", _("No member with this card number."),
                              code="member_not_found")
        raise ValidationError(_("No such member at this shop."), code="not_found")
    membership.shop = shop
    return membership


@functools.cache
def _membership_lock_sql(by: str) -> str:
    # Plain SQL: every earn runs it (loyalty.sql). Both lookups are unique, so no ORDER BY.
    # Identifiers come from the model, values are parameters (hence the noqa).
    return (f"SELECT {sql.columns(Membership, 'm').sql} FROM {sql.table(Membership)} m"  # noqa: S608
            f" WHERE m.shop_id = %s AND m.{sql.column(Membership, by)} = %s{sql.for_update()}")


def _lots_take(*, membership: Membership, points: int, now: dt.datetime,
               spendable_only: bool, first_lot_id: int | None = None) -> int:
    """Take up to ``points`` from the member's lots, oldest first (``first_lot_id`` before all).
    Returns how many were taken. The caller holds the membership's lock."""
    lots = PointLot.objects.filter(membership=membership, remaining__gt=0)
    if spendable_only:
        lots = lots.filter(available_at__lte=now)
    ordered = list(lots.order_by("available_at", "pk").select_for_update())
    if first_lot_id is not None:
        ordered.sort(key=lambda lot: lot.pk != first_lot_id)
    taken = 0
    changed = []
    for lot in ordered:
        if taken == points:
            break
        take = min(lot.remaining, points - taken)
        lot.remaining -= take
        taken += take
        changed.append(lot)
    PointLot.objects.bulk_update(changed, ["remaining"])
    return taken


def _entry_write(*, membership: Membership, points: int, kind: str, now: dt.datetime,
                 available_at: dt.datetime | None = None, entry: LedgerEntry | None = None,
                 **links) -> LedgerEntry:
    """Append an entry (``entry``, or one made of ``links``), add its lot (for points in) and
    move the cached balance. Points out must already have been taken from lots by the caller."""
    # Plain SQL (loyalty.sql): every earn runs this. On PostgreSQL the entry, its lot and the
    # balance are one statement (one round trip instead of three).
    _balance_room_check(membership, points)
    if entry is None:
        entry = LedgerEntry(
            shop_id=membership.shop_id, membership=membership, points=points, kind=kind, **links
        )
    if points > 0 and sql.chains_writes():
        row = sql.fetch_one(_entry_lot_balance_sql(), [
            *sql.values(entry), *_lot_values(membership, points, available_at or now),
            points, membership.pk,
        ])
        membership.points_balance, entry.pk = row
        entry._state.adding, entry._state.db = False, "default"
        return entry
    sql.insert(entry)
    if points > 0:
        sql.insert_row(PointLot, membership_id=membership.pk, entry_id=entry.pk, points=points,
                       remaining=points, available_at=available_at or now)
    row = sql.fetch_one(_balance_move_sql(), [points, membership.pk])
    membership.points_balance = row[0] if row else membership.points_balance + points
    return entry


_LOT_ENTRY_INDEX = [f.name for f in PointLot._meta.local_concrete_fields
                    if f is not PointLot._meta.auto_field].index("entry")
_ENTRY_PURCHASE_INDEX = [f.name for f in LedgerEntry._meta.local_concrete_fields
                         if f is not LedgerEntry._meta.auto_field].index("purchase")


def _lot_values(membership: Membership, points: int, available_at: dt.datetime) -> list:
    """The values of a new lot but its entry's id, which the statement takes from its entry."""
    values = sql.row_values(PointLot, membership_id=membership.pk, entry_id=None, points=points,
                            remaining=points, available_at=available_at)
    del values[_LOT_ENTRY_INDEX]
    return values


def _purchase_earn_write(*, purchase: Purchase, membership: Membership, points: int,
                         available_at: dt.datetime, entry: dict) -> None:
    """PostgreSQL, a purchase that earns points: insert the purchase, its earn entry (of the
    ``entry`` attributes) and the entry's lot and move the balance in one statement — the
    earn's one round trip between locking the card and storing the API's answer. Fills in the
    purchase's id and the new balance. The entry and the lot get no model instances: nothing
    reads them afterwards, and the earn is the hot path."""
    _balance_room_check(membership, points)
    entry_values = sql.row_values(LedgerEntry, **entry, purchase_id=None)
    del entry_values[_ENTRY_PURCHASE_INDEX]  # the purchase's new id
    row = sql.fetch_one(_purchase_entry_lot_balance_sql(), [
        *sql.values(purchase), *entry_values, *_lot_values(membership, points, available_at),
        points, membership.pk,
    ])
    membership.points_balance, purchase.pk, _entry_id = row
    purchase._state.adding, purchase._state.db = False, "default"


@functools.cache
def _purchase_entry_lot_balance_sql() -> str:
    """PostgreSQL: insert the purchase, its entry with the purchase's new id, the entry's lot,
    move the balance; returns the balance, the purchase's id and the entry's."""
    entry_columns = list(sql.insert_columns(LedgerEntry))
    purchase_column = entry_columns.pop(_ENTRY_PURCHASE_INDEX)
    return (
        f"WITH p AS ({sql.insert_sql(Purchase)}),"  # noqa: S608 (identifiers only)
        f" e AS (INSERT INTO {sql.table(LedgerEntry)} ({purchase_column},"
        f" {', '.join(entry_columns)}) SELECT p.id, {', '.join(['%s'] * len(entry_columns))}"
        f" FROM p RETURNING id),{_lot_balance_sql()}, (SELECT id FROM p), (SELECT id FROM e)"
    )


@functools.cache
def _entry_lot_balance_sql() -> str:
    """PostgreSQL: append the entry, add its lot with the entry's new id, move the balance;
    returns the balance and the entry's id."""
    return (f"WITH e AS ({sql.insert_sql(LedgerEntry)}),"  # noqa: S608 (identifiers only)
            f"{_lot_balance_sql()}, (SELECT id FROM e)")


@functools.cache
def _lot_balance_sql() -> str:
    """The end of both statements above: the lot of entry ``e`` (its values but the entry as
    parameters), then the balance (points, membership id), returning the new balance."""
    lot_columns = list(sql.insert_columns(PointLot))
    entry_column = lot_columns.pop(_LOT_ENTRY_INDEX)
    balance = sql.column(Membership, "points_balance")
    return (
        f" l AS (INSERT INTO {sql.table(PointLot)} ({entry_column}, {', '.join(lot_columns)})"  # noqa: S608
        f" SELECT e.id, {', '.join(['%s'] * len(lot_columns))} FROM e)"
        f" UPDATE {sql.table(Membership)} SET {balance} = {balance} + %s"
        f" WHERE {sql.column(Membership, 'id')} = %s RETURNING {balance}"
    )


@functools.cache
def _balance_move_sql() -> str:
    balance = sql.column(Membership, "points_balance")
    returning = (f" RETURNING {balance}"
                 if transaction.get_connection().features.can_return_columns_from_insert else "")
    return (f"UPDATE {sql.table(Membership)} SET {balance} = {balance} + %s"  # noqa: S608
            f" WHERE {sql.column(Membership, 'id')} = %s{returning}")


def membership_spendable_points(*, membership: Membership, now: dt.datetime | None = None) -> int:
    now = now or timezone.now()
    return PointLot.objects.filter(
        membership=membership, remaining__gt=0, available_at__lte=now
    ).aggregate(total=models.Sum("remaining"))["total"] or 0


def _items_clean(items) -> list[PurchaseItem]:
    cleaned = []
    for index, item in enumerate(items or [], start=1):
        if not isinstance(item, dict):
            raise ValidationError({"items": [_("Line %(n)s is not valid.") % {"n": index}]})
        name = str(item.get("name") or "").strip()
        if not name or len(name) > 200:
            raise ValidationError({"items": [_("Line %(n)s needs a name.") % {"n": index}]})
        try:
            quantity = Decimal(str(item.get("quantity", 1)))
            if not quantity.is_finite() or quantity <= 0 or quantity > 100000 or (
                quantity.as_tuple().exponent < -3
            ):
                raise InvalidOperation
        except InvalidOperation:
            raise ValidationError({"items": [_("Line %(n)s: the quantity must be above zero.") % {
                "n": index}]}) from None
        unit_price = money_parse(item.get("unit_price"), field="items", allow_zero=True)
        cleaned.append(PurchaseItem(
            sku=str(item.get("sku") or "")[:64], name=name,
            category=str(item.get("category") or "")[:100], quantity=quantity,
            unit_price=unit_price,
        ))
    return cleaned


def purchase_record(
    *,
    shop: Shop,
    amount,
    currency: str | None = None,
    membership_id: int | None = None,
    card_number: str | None = None,
    reference: str = "",
    items=(),
    recorded_by: User | None = None,
    api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
    in_transaction: bool = False,
) -> Purchase:
    """Record a purchase and credit its points to the member's card (by id or card number; with
    neither, a sale without a card).

    Raises ValidationError for bad input (nothing written) and DuplicateRequest when the
    idempotency key was used before for this shop. With ``in_transaction=True`` the caller
    runs this inside its own transaction and handles a duplicate itself: no savepoint is
    made, and a duplicate key surfaces as the IntegrityError that breaks that transaction
    (the API's ``idempotent()`` rolls back and replays the stored answer)."""
    amount = money_parse(amount)
    currency = (currency or shop.currency).upper()
    if currency != shop.currency:
        raise ValidationError({"currency": [_(
            "This shop works in %(currency)s, not %(given)s."
        ) % {"currency": shop.currency, "given": currency}]}, code="invalid")
    reference = (reference or "").strip()
    if len(reference) > 64:
        raise ValidationError(
            {"reference": [_("The receipt number may be 64 characters at most.")]}
        )
    item_rows = _items_clean(items)
    now = timezone.now()
    try:
        with transaction.atomic(savepoint=not in_transaction):
            membership = None
            if membership_id is not None or card_number not in (None, ""):
                membership = membership_lock(shop=shop, membership_id=membership_id,
                                             card_number=card_number)
            rules = program_rules_current(shop=shop)
            points = points_for_amount(rules=rules, amount=amount) if membership else 0
            if points > MAX_POINTS_PER_PURCHASE:
                raise ValidationError({"amount": [_(
                    "This purchase would earn more than %(max)s points, the most one purchase "
                    "may earn. Set a cap or lower the rate in the earn rules."
                ) % {"max": points_display(MAX_POINTS_PER_PURCHASE)}]}, code="invalid")
            available_at = now + dt.timedelta(days=rules.pending_days)
            purchase = Purchase(
                shop=shop, membership=membership, amount=amount, currency=currency,
                reference=reference, rules=rules, points_earned=points,
                points_available_at=available_at, recorded_by=recorded_by, api_key=api_key,
                idempotency_key=idempotency_key,
            )
            earn = None
            if membership is not None and points > 0:
                earn = {
                    "shop_id": shop.pk, "membership_id": membership.pk, "points": points,
                    "kind": EntryKind.EARN,
                    "actor_user_id": recorded_by.pk if recorded_by else None,
                    "actor_api_key_id": api_key.pk if api_key else None,
                    "idempotency_key": (f"purchase:{idempotency_key}" if idempotency_key
                                        else None),
                }
            if earn is not None and sql.chains_writes():
                _purchase_earn_write(purchase=purchase, membership=membership, points=points,
                                     available_at=available_at, entry=earn)
            else:
                sql.insert(purchase)
                if earn is not None:
                    _entry_write(membership=membership, points=points, kind=EntryKind.EARN,
                                 now=now, available_at=available_at,
                                 entry=LedgerEntry(**earn, purchase_id=purchase.pk))
            if item_rows:
                for row in item_rows:
                    row.purchase = purchase
                PurchaseItem.objects.bulk_create(item_rows)
            for effect in purchase_effects():
                effect(purchase=purchase)
    except IntegrityError:
        if idempotency_key is None or in_transaction:
            raise
        existing = Purchase.objects.filter(shop=shop, idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        raise DuplicateRequest(existing) from None
    return purchase


def purchase_effects():
    """The functions named in settings.TROUW_PURCHASE_EFFECTS, in order."""
    return [import_string(path) for path in settings.TROUW_PURCHASE_EFFECTS]


def purchase_refund(
    *,
    shop: Shop,
    purchase_id: int,
    amount,
    reason: str = "",
    recorded_by: User | None = None,
    api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
) -> Refund:
    """Give back money on a purchase and take back the proportional points. Points already
    spent cannot be taken: the balance stops at zero and the rest is the refund's shortfall."""
    amount = money_parse(amount)
    reason = (reason or "").strip()[:200]
    now = timezone.now()
    found = Purchase.objects.filter(shop=shop, pk=purchase_id).values("membership_id").first()
    if found is None:
        raise ValidationError(_("No such purchase at this shop."), code="not_found")
    try:
        with transaction.atomic():
            membership = None
            if found["membership_id"] is not None:
                membership = membership_lock(shop=shop, membership_id=found["membership_id"])
            purchase = Purchase.objects.select_for_update(of=("self",)).get(pk=purchase_id)
            if idempotency_key is not None:
                existing = purchase.refunds.filter(idempotency_key=idempotency_key).first()
                if existing is not None:  # a retry of a refund that went through
                    raise DuplicateRequest(existing)
            refundable = purchase.amount - purchase.refunded_amount
            if amount > refundable:
                raise ValidationError({"amount": [_(
                    "At most %(amount)s %(currency)s of this purchase can still be refunded."
                ) % {"amount": money_display(refundable), "currency": purchase.currency}]},
                    code="invalid")
            refunded_after = purchase.refunded_amount + amount
            # Cumulative, so partial refunds add up to exactly the points earned.
            due_after = int(purchase.points_earned * refunded_after / purchase.amount)
            settled = purchase.refunds.aggregate(
                total=models.Sum(models.F("points_reversed") + models.F("points_shortfall"))
            )["total"] or 0
            to_reverse = max(due_after - settled, 0)
            taken = 0
            earn_entry = None
            if membership is not None and to_reverse > 0:
                earn_entry = purchase.entries.filter(kind=EntryKind.EARN).first()
                own_lot_id = getattr(getattr(earn_entry, "lot", None), "pk", None)
                taken = _lots_take(membership=membership, points=to_reverse, now=now,
                                   spendable_only=False, first_lot_id=own_lot_id)
            refund = Refund.objects.create(
                purchase=purchase, amount=amount, points_reversed=taken,
                points_shortfall=to_reverse - taken, reason=reason, recorded_by=recorded_by,
                api_key=api_key, idempotency_key=idempotency_key,
            )
            Purchase.objects.filter(pk=purchase.pk).update(refunded_amount=refunded_after)
            if taken:
                _entry_write(
                    membership=membership, points=-taken, kind=EntryKind.REVERSAL, now=now,
                    purchase=purchase, refund=refund, reverses=earn_entry, note=reason,
                    actor_user=recorded_by, actor_api_key=api_key,
                    idempotency_key=f"refund:{purchase.pk}:{idempotency_key}"
                    if idempotency_key else None,
                )
    except IntegrityError:
        if idempotency_key is None:
            raise
        existing = Refund.objects.filter(purchase_id=purchase_id,
                                         idempotency_key=idempotency_key).first()
        if existing is None:
            raise
        raise DuplicateRequest(existing) from None
    return refund


def purchase_undo(*, shop: Shop, purchase_id: int, reason: str, by: User) -> Refund:
    """The counter's undo: a full refund of a purchase made in the last 10 minutes."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the purchase is undone.")]})
    purchase = Purchase.objects.filter(shop=shop, pk=purchase_id).first()
    if purchase is None:
        raise ValidationError(_("No such purchase at this shop."), code="not_found")
    if timezone.now() - purchase.created_at > UNDO_WINDOW:
        raise ValidationError(_("A purchase can be undone within 10 minutes only. "
                                "Record a refund instead."))
    already = ValidationError(_("This purchase has been (partly) refunded already."))
    if purchase.refunded_amount > 0:
        raise already
    try:
        return purchase_refund(shop=shop, purchase_id=purchase.pk, amount=purchase.amount,
                               reason=_("Undone at the counter: %(reason)s") % {"reason": reason},
                               recorded_by=by, idempotency_key=f"undo:{purchase.pk}")
    except DuplicateRequest:
        raise already from None  # undone at the same moment from another screen


def points_spend(
    *,
    shop: Shop,
    membership_id: int,
    points: int,
    kind: str = EntryKind.REDEMPTION,
    reference: str = "",
    note: str = "",
    customer_note: str = "",
    actor_user: User | None = None,
    actor_api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry:
    """Take ``points`` of the member's spendable points (oldest first): a redemption, a
    negative adjustment. Refuses more than the spendable balance, and changes nothing then."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationError({"points": [_("Enter a whole number of points above zero.")]})
    now = timezone.now()
    with transaction.atomic():
        membership = membership_lock(shop=shop, membership_id=membership_id)
        spendable = membership_spendable_points(membership=membership, now=now)
        if points > spendable:
            raise field_error("points", _(
                "Not enough points: %(spendable)s can be spent, %(points)s asked."
            ) % {"spendable": spendable, "points": points}, code="insufficient_points")
        taken = _lots_take(membership=membership, points=points, now=now, spendable_only=True)
        assert taken == points  # noqa: S101 - guaranteed by the spendable check under the lock
        return _entry_write(
            membership=membership, points=-points, kind=kind, now=now, reference=reference,
            note=note, customer_note=customer_note, actor_user=actor_user,
            actor_api_key=actor_api_key, idempotency_key=idempotency_key,
        )


def points_credit(
    *,
    shop: Shop,
    membership_id: int,
    points: int,
    kind: str,
    reference: str = "",
    note: str = "",
    customer_note: str = "",
    reverses: LedgerEntry | None = None,
    actor_user: User | None = None,
    actor_api_key: ApiKey | None = None,
    idempotency_key: str | None = None,
) -> LedgerEntry | None:
    """Give points (a bonus, an adjustment, points returned). With an idempotency key it
    happens once: a repeat returns None and changes nothing."""
    if isinstance(points, bool) or not isinstance(points, int) or points <= 0:
        raise ValidationError({"points": [_("Enter a whole number of points above zero.")]})
    now = timezone.now()
    try:
        with transaction.atomic():
            membership = membership_lock(shop=shop, membership_id=membership_id)
            return _entry_write(
                membership=membership, points=points, kind=kind, now=now, reference=reference,
                note=note, customer_note=customer_note, reverses=reverses, actor_user=actor_user,
                actor_api_key=actor_api_key, idempotency_key=idempotency_key,
            )
    except IntegrityError:
        if idempotency_key and LedgerEntry.objects.filter(
            shop=shop, idempotency_key=idempotency_key
        ).exists():
            return None
        raise


def points_adjust(*, shop: Shop, membership_id: int, points: int, reason: str,
                  by: User, customer_note: str = "") -> LedgerEntry:
    """An owner's correction, up or down. The reason is recorded for the shop (the customer
    never sees it); the customer is told ``customer_note``, or "Adjustment by the shop"."""
    reason = (reason or "").strip()
    customer_note = (customer_note or "").strip()
    errors = {}
    if not reason:
        errors["reason"] = [_("Say why the points are adjusted.")]
    elif len(reason) > 200:
        errors["reason"] = [_("Keep the reason to 200 characters.")]
    if len(customer_note) > 200:
        errors["customer_note"] = [_("Keep the note for the customer to 200 characters.")]
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        errors["points"] = [_("Enter a whole number of points, not zero.")]
    if errors:
        raise ValidationError(errors)
    if points > 0:
        return points_credit(shop=shop, membership_id=membership_id, points=points,
                             kind=EntryKind.ADJUSTMENT, note=reason,
                             customer_note=customer_note, actor_user=by)
    return points_spend(shop=shop, membership_id=membership_id, points=-points,
                        kind=EntryKind.ADJUSTMENT, note=reason, customer_note=customer_note,
                        actor_user=by)


def stamp_card_redeem(*, shop: Shop, membership_id: int, by: User | None,
                      idempotency_key: str | None = None) -> LedgerEntry:
    """Hand out a full stamp card's reward: its stamps (``stamps_per_card`` points) come off the
    card as one redemption, with the reward as its note. Refuses a card that is not full, and a
    shop whose program is not a stamp card. With an idempotency key (the counter's form token)
    it happens once: a repeat raises DuplicateRequest with the entry of the first."""
    rules = program_rules_current(shop=shop)
    if not rules.is_stamp_card or not rules.stamps_per_card:
        raise ValidationError(_("This shop's program is not a stamp card."), code="not_allowed")
    try:
        with transaction.atomic():
            membership = membership_lock(shop=shop, membership_id=membership_id)
            done = idempotency_key and LedgerEntry.objects.filter(
                shop=shop, membership=membership, idempotency_key=idempotency_key).first()
            if done:
                raise DuplicateRequest(done)  # a double tap: the card is emptier by now
            spendable = membership_spendable_points(membership=membership)
            if spendable < rules.stamps_per_card:
                raise ValidationError(_(
                    "The card is not full yet: %(filled)s of %(total)s stamps."
                ) % {"filled": points_display(max(spendable, 0)),
                     "total": points_display(rules.stamps_per_card)}, code="not_full")
            return points_spend(
                shop=shop, membership_id=membership.pk, points=rules.stamps_per_card,
                kind=EntryKind.REDEMPTION, reference="stamp-card",
                note=rules.stamp_reward or _("Full stamp card"), actor_user=by,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        existing = idempotency_key and LedgerEntry.objects.filter(
            shop=shop, idempotency_key=idempotency_key).first()
        if not existing:
            raise
        raise DuplicateRequest(existing) from None


def signup_bonus_award(*, membership: Membership) -> LedgerEntry | None:
    """The shop's sign-up bonus, once per membership."""
    rules = program_rules_current(shop=membership.shop)
    if rules.signup_bonus <= 0:
        return None
    return points_credit(
        shop=membership.shop, membership_id=membership.pk, points=rules.signup_bonus,
        kind=EntryKind.SIGNUP_BONUS, idempotency_key=f"signup:{membership.pk}",
    )


# --- API keys ---------------------------------------------------------------------------------


def api_key_create(*, shop: Shop, name: str, scope: str = ApiKeyScope.TILL,
                   by: User | None = None) -> tuple[ApiKey, str]:
    """A new key for a till or webshop. The raw key is returned once and never stored."""
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationError({"name": [_("Give the key a name of at most 60 characters, "
                                          "such as “till-1”.")]})
    if scope not in ApiKeyScope.values:
        raise ValidationError({"scope": [_("Unknown scope “%(scope)s”: use till or manage.") % {
            "scope": scope}]})
    raw_key = "trw_" + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(shop=shop, name=name, scope=scope, created_by=by,
                                    prefix=raw_key[:10], key_hash=api_key_hash(raw_key))
    return api_key, raw_key


def api_key_revoke(*, shop: Shop, api_key_id: int) -> None:
    updated = ApiKey.objects.filter(shop=shop, pk=api_key_id, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    if updated != 1:
        raise ValidationError(_("This key is revoked already, or is not yours."))
    api_keys_forget()
