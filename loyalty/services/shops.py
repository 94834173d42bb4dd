"""Shops: creating one with its first owner, its web address (slug), and changing its details."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from ..models import (
    Country,
    Currency,
    Language,
    Shop,
    StaffMember,
    StaffRole,
    User,
)
from ..selectors import api_keys_forget

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
