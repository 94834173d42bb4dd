"""Enrolment: a customer becomes a member of a shop, from its public page, the counter
or the API."""

from __future__ import annotations

import datetime as dt
import re
import secrets

import phonenumbers
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty import moments
from loyalty import services as loyalty_services
from loyalty.models import ConsentSource, Language, Membership, MembershipSource, Shop, User

CARD_BODY_DIGITS = 12
_CARD_ATTEMPTS = 5


def luhn_check_digit(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return str((10 - total % 10) % 10)


def card_number_is_valid(card_number: str) -> bool:
    return (
        len(card_number) == CARD_BODY_DIGITS + 1
        and card_number.isdigit()
        and luhn_check_digit(card_number[:-1]) == card_number[-1]
    )


def card_number_new() -> str:
    """12 random digits and a Luhn check digit: 10¹² cards, typos caught at the counter."""
    body = "".join(secrets.choice("0123456789") for _ in range(CARD_BODY_DIGITS))
    if body[0] == "0":  # a leading zero gets lost in spreadsheets and some tills
        body = str(secrets.randbelow(9) + 1) + body[1:]
    return body + luhn_check_digit(body)


# What people write around the digits of a phone number: "+31 (0)6-1234.5678", "070/123 45 67".
_PHONE_PUNCTUATION = re.compile(r"[\s\-+().\/]")


def phone_normalize(raw: str, *, country: str) -> str:
    """A phone number in E.164 (+31612345678), read with ``country`` (the shop's, e.g. "NL") as
    the region of a number given without a country code: 06 1234 5678, +31 6 1234 5678 and
    0031 6 1234 5678 are the same number. Raises ValidationError for letters, extensions and
    numbers that no phone network has (phonenumbers' metadata decides, not our own rules)."""
    raw = (raw or "").strip()
    if not raw:
        return ""
    digits = _PHONE_PUNCTUATION.sub("", raw)
    if not (digits.isascii() and digits.isdigit()):
        raise ValidationError({"phone": [_("Enter a phone number with digits only.")]})
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError({"phone": [_(
            "That is not a phone number we can call: check the digits. A number from another "
            "country starts with + and its country code."
        )]})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _birthday_error(birthday: dt.date | None) -> str | None:
    if birthday is None:
        return None
    if birthday > timezone.localdate():
        return _("The birthday cannot be in the future.")
    if birthday < dt.date(1900, 1, 1):
        return _("Enter a birthday after 1900.")
    return None


def _clean_member_details(*, name, email, phone, birthday, language, country) -> dict:
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    email = (email or "").strip().lower()
    # The name is optional: a phone number (or an e-mail address) is enough for a card.
    if len(name) > 150:
        errors["name"] = [_("The name may be 150 characters at most.")]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    try:
        phone = phone_normalize(phone, country=country)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        phone = ""
    if not email and not phone and "email" not in errors and "phone" not in errors:
        errors["email"] = [_("Enter an e-mail address or a phone number.")]
    if birthday_error := _birthday_error(birthday):
        errors["birthday"] = [birthday_error]
    if language not in Language.values:
        errors["language"] = [_("Unknown language “%(value)s”.") % {"value": language}]
    if errors:
        raise ValidationError(errors)
    return {"name": name, "email": email, "phone": phone}


def member_enrol(
    *,
    shop: Shop,
    name: str,
    email: str = "",
    phone: str = "",
    birthday: dt.date | None = None,
    language: str | None = None,
    marketing_consent: bool = False,
    source: str = MembershipSource.PUBLIC_PAGE,
    user: User | None = None,
) -> Membership:
    """Give a customer a card at ``shop``. Refuses a second card for the same e-mail or phone."""
    language = language or shop.language
    details = _clean_member_details(
        name=name, email=email, phone=phone, birthday=birthday, language=language,
        country=shop.country,
    )
    duplicate = Q(email__iexact=details["email"]) if details["email"] else Q(pk__in=[])
    if details["phone"]:
        # Numbers are stored in E.164, so the same number written another way (06… and +316…)
        # is the same string (0010 migrated the older rows).
        duplicate |= Q(phone=details["phone"])
    if user is not None:
        duplicate |= Q(user=user)
    existing = Membership.objects.for_shop(shop).filter(duplicate).first()
    if existing is not None:
        if user is not None and existing.user_id == user.pk:
            raise ValidationError(_("You are already a member of %(shop)s.") % {
                "shop": shop.name}, code="duplicate")
        field = (
            "email" if details["email"] and existing.email.lower() == details["email"] else "phone"
        )
        raise ValidationError({field: [ValidationError(_(
            "There is already a member with this %(what)s at %(shop)s."
        ) % {"what": _("e-mail address") if field == "email" else _("phone number"),
             "shop": shop.name}, code="duplicate")]})
    now = timezone.now()
    for _attempt in range(_CARD_ATTEMPTS):
        try:
            with transaction.atomic():
                membership = Membership.objects.create(
                    shop=shop, user=user, card_number=card_number_new(),
                    birthday=birthday, birthday_set_at=now if birthday else None,
                    language=language, source=source,
                    **details,
                )
                if marketing_consent:
                    loyalty_services.membership_marketing_consent_set(
                        membership=membership, consent=True,
                        source=(ConsentSource.COUNTER if source == MembershipSource.COUNTER
                                else ConsentSource.ENROLMENT))
                loyalty_services.signup_bonus_award(membership=membership)
                # What an enrolment does beyond the card (settings.TROUW_EFFECTS["enrolment"]:
                # the welcome e-mail, …), in its transaction.
                moments.announce("enrolment", membership=membership)
                return membership
        except IntegrityError as exc:
            if "card_number" in str(exc):
                continue  # a card number collision (1 in 10¹² per card): draw again
            # Someone enrolled the same details at the same moment: the database refused.
            raise ValidationError(
                _("This customer is already a member of %(shop)s.") % {"shop": shop.name},
                code="duplicate",
            ) from None
    raise RuntimeError("Could not draw a free card number")


def member_birthday_set(*, membership: Membership, birthday: dt.date | None) -> bool:
    """Set, change or remove a member's birthday (the member on the portal). Its time is
    recorded: a birthday set or changed less than the notice days before it falls counts
    from next year, and the birthday job gives no second gift within 365 days of the last,
    so changing it cannot earn another. Returns whether anything changed."""
    if error := _birthday_error(birthday):
        raise ValidationError({"birthday": [error]})
    with transaction.atomic():
        card = Membership.objects.select_for_update().get(pk=membership.pk)
        if card.birthday == birthday:
            return False
        card.birthday = birthday
        card.birthday_set_at = timezone.now() if birthday else None
        card.save(update_fields=["birthday", "birthday_set_at"])
    membership.birthday, membership.birthday_set_at = card.birthday, card.birthday_set_at
    return True


def welcome_write(*, membership: Membership) -> None:
    """The welcome e-mail of a new member with an e-mail address, an outbox row written in
    the enrolment's transaction (sent after its commit; once per card). An ``enrolment``
    effect (settings.TROUW_EFFECTS)."""
    if membership.email:
        loyalty_services.outbox_write(
            shop=membership.shop, kind="welcome", key=f"welcome:{membership.pk}",
            to=membership.email, language=membership.language, membership=membership)


def member_join_public(
    *,
    shop: Shop,
    user: User | None,
    name: str,
    email: str = "",
    phone: str = "",
    birthday: dt.date | None = None,
    marketing_consent: bool = False,
    password: str = "",
    language: str | None = None,
) -> tuple[Membership, User | None]:
    """Join ``shop`` from its public page.

    A signed-in user joins with their own login. A visitor with an e-mail address gets a login
    for the portal (``password`` is required); one with only a phone number gets a card and no
    login. Returns the membership and the login created, if any.
    """
    if user is not None:
        return member_enrol(
            shop=shop, user=user, name=name or user.name, email=user.email, phone=phone,
            birthday=birthday, marketing_consent=marketing_consent, language=language,
        ), None
    email = (email or "").strip().lower()
    if not email:
        return member_enrol(
            shop=shop, name=name, phone=phone, birthday=birthday,
            marketing_consent=marketing_consent, language=language,
        ), None
    # The card's details are checked before a login is made, so that bad ones (a name too
    # long for the login too) are refused with our message and nothing is written.
    _clean_member_details(name=name, email=email, phone=phone, birthday=birthday,
                          language=language or shop.language, country=shop.country)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": [_(
            "You already have a Trouw login with this address. Sign in first, then join."
        )]})
    if not password:
        raise ValidationError({"password": [_("Choose a password for your member portal.")]})
    try:
        password_validation.validate_password(password, User(email=email, name=name or ""))
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    try:
        with transaction.atomic():
            new_user = User.objects.create_user(
                email=email, password=password, name=(name or "").strip()
            )
            membership = member_enrol(
                shop=shop, user=new_user, name=name, email=email, phone=phone,
                birthday=birthday, marketing_consent=marketing_consent, language=language,
            )
    except IntegrityError:  # the same address signed up at the same moment
        raise ValidationError({"email": [_(
            "You already have a Trouw login with this address. Sign in first, then join."
        )]}) from None
    return membership, new_user
