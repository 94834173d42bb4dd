"""The core's write operations, one module a concern:

- ``common``: amounts of money and points, read and shown; the shared errors.
- ``shops``: shops and their web addresses.
- ``staff``: staff invitations and roles.
- ``rules``: the program rules (points, steps, stamp cards, bonus-point events).
- ``ledger``: the points ledger (spend, credit, adjust, stamp cards, sign-up bonus).
- ``purchases``: purchases, their effects, refunds and undo.
- ``expiry``: points expiry (the terms of a lot, the nightly job, the reminders).
- ``api_keys``: API keys and the Idempotency-Key records.
- ``outbox``: what must happen after a commit (e-mails): written, sent, retried, swept.
- ``consent``: marketing consent changes and the unsubscribe link's token.
- ``birthdays``: birthday gifts, given once a year from 06:00 on the shop's clock.

Plain, keyword-only functions called by views, API views, tasks and management commands alike.
Bad input raises ``django.core.exceptions.ValidationError`` with a translated message and
changes nothing. Callers use the package (``from loyalty import services``); the modules are
where a reader finds a rule by its name."""

from .api_keys import (
    api_key_create,
    api_key_revoke,
    idempotent_requests_prune,
)
from .birthdays import (
    birthday_counts_from,
    birthday_gift_by_level_lines,
    birthday_gift_date,
    birthday_gift_sentence,
    birthday_gift_words,
    birthday_gifts_give,
    birthday_in_year,
    birthdays_due,
    birthdays_give_all,
    shop_local_now,
)
from .common import (
    MAX_AMOUNT,
    DuplicateRequest,
    field_error,
    image_upload_check,
    money_display,
    money_parse,
    points_display,
)
from .consent import (
    UNSUBSCRIBE_SALT,
    membership_marketing_consent_set,
    unsubscribe_membership,
    unsubscribe_token,
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
    points_credit_locked,
    points_spend,
    points_take_back_locked,
    signup_bonus_award,
    stamp_card_redeem,
)
from .outbox import (
    outbox_drain,
    outbox_send_one,
    outbox_sweep,
    outbox_write,
    outbox_write_many,
)
from .purchases import (
    purchase_effects,
    purchase_record,
    purchase_refund,
    purchase_undo,
    refund_is_undo,
)
from .rules import (
    RULE_FIELDS,
    bonus_event_clean,
    bonus_events_clean,
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
    "UNSUBSCRIBE_SALT",
    "api_key_create",
    "api_key_revoke",
    "birthday_counts_from",
    "birthday_gift_date",
    "birthday_gift_by_level_lines",
    "birthday_gift_sentence",
    "birthday_gift_words",
    "birthday_gifts_give",
    "birthday_in_year",
    "birthdays_due",
    "birthdays_give_all",
    "field_error",
    "image_upload_check",
    "idempotent_requests_prune",
    "lot_terms",
    "points_expire",
    "points_expire_shop",
    "points_expiring_remind",
    "membership_lock",
    "membership_marketing_consent_set",
    "membership_spendable_points",
    "money_display",
    "money_parse",
    "outbox_drain",
    "outbox_send_one",
    "outbox_sweep",
    "outbox_write",
    "outbox_write_many",
    "points_adjust",
    "points_credit",
    "points_credit_locked",
    "points_display",
    "points_spend",
    "points_take_back_locked",
    "bonus_event_clean",
    "bonus_events_clean",
    "program_rules_current",
    "program_rules_draft",
    "program_rules_update",
    "purchase_effects",
    "purchase_record",
    "purchase_refund",
    "purchase_undo",
    "refund_is_undo",
    "shop_create",
    "shop_local_now",
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
    "unsubscribe_membership",
    "unsubscribe_token",
]
