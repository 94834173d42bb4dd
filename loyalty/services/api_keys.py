"""API keys for tills and webshops, and the housekeeping of the API's Idempotency-Key records."""

from __future__ import annotations

import datetime as dt
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import (
    ApiKey,
    ApiKeyScope,
    IdempotentRequest,
    Shop,
    User,
)
from ..selectors import api_key_hash, api_keys_forget


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
