"""What every core service shares: reading and showing amounts of money and points, and the errors
they raise (a field's error, a repeated idempotency key)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import formats
from django.utils.translation import gettext as _

MAX_AMOUNT = Decimal("100000.00")
_MONEY_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)")


def field_error(field: str, message: str, code: str = "invalid") -> ValidationError:
    """A ValidationError on one field that keeps its code (a dict-level code would be lost)."""
    return ValidationError({field: [ValidationError(message, code=code)]})


IMAGE_MAX_BYTES = 2 * 1024 * 1024
IMAGE_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}


def image_upload_check(upload, *, field: str, too_large: str) -> None:
    """An uploaded picture (a reward's image, a charity's logo): a JPEG, PNG, WebP or GIF that
    Pillow can read, 2 MB at most; ``too_large`` says so in the caller's words. Nothing given:
    nothing to check."""
    if not upload:
        return
    if upload.size > IMAGE_MAX_BYTES:
        raise field_error(field, too_large)
    from PIL import Image, UnidentifiedImageError

    try:
        upload.seek(0)
        with Image.open(upload) as picture:
            picture.verify()
            kind = picture.format
    except (UnidentifiedImageError, OSError, SyntaxError):
        raise field_error(field, _("Upload a JPEG, PNG, WebP or GIF image.")) from None
    finally:
        upload.seek(0)
    if kind not in IMAGE_FORMATS:
        raise field_error(field, _("Upload a JPEG, PNG, WebP or GIF image."))


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
