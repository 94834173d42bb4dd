"""Marketing consent: every change of a member's "news and offers" choice, with its time and
how it was made (a ConsentChange row), and the signed token of the one-click unsubscribe link
in marketing e-mails."""

from __future__ import annotations

from django.core import signing
from django.db import transaction
from django.utils import timezone

from ..models import ConsentChange, ConsentSource, Membership

UNSUBSCRIBE_SALT = "trouw.unsubscribe"


def membership_marketing_consent_set(*, membership: Membership, consent: bool,
                                     source: str) -> bool:
    """Set the member's marketing consent and record the change (``source``: a ConsentSource).
    Setting what is already set changes and records nothing (an unsubscribe link clicked twice,
    the mail program's one-click POST after the member's own click). Returns whether it
    changed."""
    if source not in ConsentSource.values:
        raise ValueError(f"Unknown consent source {source!r}")
    consent = bool(consent)
    with transaction.atomic():
        changed = Membership.objects.filter(
            pk=membership.pk, marketing_consent=not consent
        ).update(marketing_consent=consent,
                 marketing_consent_at=timezone.now() if consent else None)
        if changed:
            ConsentChange.objects.create(membership_id=membership.pk, marketing=consent,
                                         source=source)
    if changed:
        membership.marketing_consent = consent
    return bool(changed)


def unsubscribe_token(*, membership_id: int) -> str:
    """The signed token of a card's unsubscribe link. It never expires: an old e-mail's link
    must still work."""
    return signing.dumps({"m": membership_id}, salt=UNSUBSCRIBE_SALT, compress=True)


def unsubscribe_membership(*, token: str) -> Membership | None:
    """The card an unsubscribe token names, or None for a token that is tampered with, made
    for something else, or names a card that is gone."""
    try:
        payload = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    membership_id = payload.get("m") if isinstance(payload, dict) else None
    if not isinstance(membership_id, int):
        return None
    return Membership.objects.select_related("shop").filter(pk=membership_id).first()
