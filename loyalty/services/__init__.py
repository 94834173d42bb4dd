"""The core's write operations, one module a concern:

- ``common``: amounts of money and points, read and shown; the shared errors.
- ``shops``: shops and their web addresses.
- ``staff``: staff invitations and roles.
- ``rules``: the program rules (points, steps, stamp cards).
- ``ledger``: the points ledger (spend, credit, adjust, stamp cards, sign-up bonus).
- ``purchases``: purchases, their effects, refunds and undo.
- ``expiry``: points expiry (the terms of a lot, the nightly job, the reminders).
- ``api_keys``: API keys and the Idempotency-Key records.

Plain, keyword-only functions called by views, API views, tasks and management commands alike.
Bad input raises ``django.core.exceptions.ValidationError`` with a translated message and
changes nothing. Callers use the package (``from loyalty import services``); the modules are
where a reader finds a rule by its name."""

from .api_keys import (
    api_key_create,
    api_key_revoke,
    idempotent_requests_prune,
)
from .common import (
    MAX_AMOUNT,
    DuplicateRequest,
    field_error,
    money_display,
    money_parse,
    points_display,
)
from .expiry import (
    lot_terms,
    points_expire,
    points_expire_shop,
    points_expiring_remind,
)
from .ledger import (
    membership_lock,
    membership_spendable_points,
    points_adjust,
    points_credit,
    points_spend,
    signup_bonus_award,
    stamp_card_redeem,
)
from .purchases import (
    purchase_effects,
    purchase_record,
    purchase_refund,
    purchase_undo,
)
from .rules import (
    RULE_FIELDS,
    program_rules_current,
    program_rules_draft,
    program_rules_update,
)
from .shops import (
    RESERVED_SLUGS,
    SLUG_MAX_LENGTH,
    shop_create,
    shop_slug_free,
    shop_slug_from_name,
    shop_update,
)
from .staff import (
    INVITATION_SALT,
    InvitationInvalid,
    staff_invitation_accept,
    staff_invitation_accept_new_user,
    staff_invitation_from_token,
    staff_invitation_revoke,
    staff_invitation_token,
    staff_invitations_expire,
    staff_invite,
    staff_set_active,
)

__all__ = [
    "DuplicateRequest",
    "INVITATION_SALT",
    "InvitationInvalid",
    "MAX_AMOUNT",
    "RESERVED_SLUGS",
    "RULE_FIELDS",
    "SLUG_MAX_LENGTH",
    "api_key_create",
    "api_key_revoke",
    "field_error",
    "idempotent_requests_prune",
    "lot_terms",
    "points_expire",
    "points_expire_shop",
    "points_expiring_remind",
    "membership_lock",
    "membership_spendable_points",
    "money_display",
    "money_parse",
    "points_adjust",
    "points_credit",
    "points_display",
    "points_spend",
    "program_rules_current",
    "program_rules_draft",
    "program_rules_update",
    "purchase_effects",
    "purchase_record",
    "purchase_refund",
    "purchase_undo",
    "shop_create",
    "shop_slug_free",
    "shop_slug_from_name",
    "shop_update",
    "signup_bonus_award",
    "staff_invitation_accept",
    "staff_invitation_accept_new_user",
    "staff_invitation_from_token",
    "staff_invitation_revoke",
    "staff_invitation_token",
    "staff_invitations_expire",
    "staff_invite",
    "staff_set_active",
    "stamp_card_redeem",
]
