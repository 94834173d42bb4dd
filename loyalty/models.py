"""Core models: people who sign in, shops, their staff, and memberships
(a customer's card at a shop).

Managers and querysets only construct and look up; every rule lives in ``loyalty/services/``.
"""

from __future__ import annotations

import zoneinfo
from decimal import Decimal

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import ExtractDay, ExtractMonth, Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Currency(models.TextChoices):
    EUR = "EUR", _("Euro (€)")
    SEK = "SEK", _("Swedish krona (kr)")


class Country(models.TextChoices):
    """Where a shop is: the default region for the phone numbers its customers give."""

    NL = "NL", _("Netherlands")
    BE = "BE", _("Belgium")
    SE = "SE", _("Sweden")
    DE = "DE", _("Germany")
    DK = "DK", _("Denmark")
    NO = "NO", _("Norway")
    FI = "FI", _("Finland")


class Language(models.TextChoices):
    EN = "en", _("English")
    NL = "nl", _("Dutch")
    SV = "sv", _("Swedish")


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """One login for every role: owner or staff of shops, member of shops, or all of these.

    ``is_staff`` / ``is_superuser`` are Django's admin flags for the installation's operator;
    shop roles live in :class:`StaffMember`.
    """

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.name or self.email

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name.split(" ")[0] if self.name else self.email


brand_color_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Pick a colour, or type one as # and six hex digits, such as #8a4b2a."),
)

slug_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,48}[a-z0-9]$",
    _("Use 2–50 lowercase letters, digits and hyphens; start and end with a letter or digit."),
)


class ShopQuerySet(models.QuerySet):
    def for_user_role(self, user, roles):
        return self.filter(
            staff__user=user, staff__is_active=True, staff__role__in=roles
        ).distinct()


class Shop(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(
        _("web address"), max_length=50, unique=True, validators=[slug_validator],
        help_text=_("Your public page will be /s/<web address>/."),
        error_messages={"unique": _("This web address is taken. Try another.")},
    )
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.EN,
        help_text=_("The language of your public page and of messages to your members."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/Amsterdam", validators=[validate_time_zone]
    )
    country = models.CharField(
        _("country"), max_length=2, choices=Country.choices, default=Country.NL,
        help_text=_("Phone numbers your customers give without a country code are read as "
                    "numbers of this country."),
    )
    brand_color = models.CharField(
        _("colour"), max_length=7, default="#8a4b2a", validators=[brand_color_validator],
        help_text=_("Your colour on the public page, the poster and the customer's card."),
    )
    privacy_url = models.URLField(
        _("privacy statement"), blank=True,
        help_text=_("A link to your own privacy statement. Leave it empty to use the standard "
                    "statement Trouw shows for your shop."),
    )
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    website = models.URLField(_("website"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="shops/logos/", blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The latest ProgramRules version, kept by the services that add one, so that whoever
    # loads the shop (an API key, a staff role) gets the rules in force in the same query.
    current_rules = models.ForeignKey(
        "loyalty.ProgramRules", verbose_name=_("rules in force"), null=True, blank=True,
        editable=False, on_delete=models.SET_NULL, related_name="+",
    )
    # The last local day whose birthday gifts a completed run gave under the rules in force
    # (loyalty/services/birthdays.py): the next run looks only at the days after it. New rules
    # clear it (their window may make other days due).
    birthdays_given_through = models.DateField(null=True, blank=True, editable=False)
    # Whether the shop's levels (the tiers app) are on, as tiers last wrote it: loaded with the
    # shop wherever the earn gets it (the API key's row, the staff role's), so the purchase's
    # levels effect costs a shop without levels no query. The core never reads it.
    levels_enabled = models.BooleanField(default=False, editable=False)
    # Whether the shop has an active badge (the tiers app's badges), as they last wrote it: the
    # same for the badges' purchase effect — a shop without badges costs the earn no query.
    badges_enabled = models.BooleanField(default=False, editable=False)
    # Whether the shop's charity program is on, as the charity app last wrote it: the same for
    # its purchase effect — a shop without the program costs the earn no query.
    charity_enabled = models.BooleanField(default=False, editable=False)
    # Whether the shop's purchases earn points: false while its charity program gives
    # "instead of points" (written only by the charity app's program save). Loaded with the
    # shop, so the earn reads it at no query; the counter and the API say so instead of points.
    earns_points = models.BooleanField(default=True, editable=False)

    objects = ShopQuerySet.as_manager()

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(currency__in=Currency.values), name="shop_currency_known"
            ),
            models.CheckConstraint(
                condition=models.Q(language__in=Language.values), name="shop_language_known"
            ),
            models.CheckConstraint(
                condition=models.Q(country__in=Country.values), name="shop_country_known"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StaffRole(models.TextChoices):
    OWNER = "owner", _("Owner")
    STAFF = "staff", _("Staff")


class StaffMember(models.Model):
    """A user's role at a shop. Owners configure everything; staff use the counter only."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="staff")
    user = models.ForeignKey("loyalty.User", on_delete=models.CASCADE, related_name="shop_roles")
    role = models.CharField(_("role"), max_length=10, choices=StaffRole.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff members")
        ordering = ["role", "user__email"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "user"], name="staff_one_role_per_shop"),
            models.CheckConstraint(
                condition=models.Q(role__in=StaffRole.values), name="staff_role_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} @ {self.shop}"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    ACCEPTED = "accepted", _("Accepted")
    REVOKED = "revoked", _("Revoked")
    EXPIRED = "expired", _("Expired")


class StaffInvitation(models.Model):
    """An e-mailed invitation to join a shop's staff; the link carries a signed, expiring token."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"))
    invited_by = models.ForeignKey(
        "loyalty.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires at"))
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        "loyalty.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("staff invitation")
        verbose_name_plural = _("staff invitations")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                "shop", Lower("email"),
                condition=models.Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=InvitationStatus.values),
                name="invitation_status_known",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="accepted") | models.Q(accepted_at__isnull=False),
                name="invitation_accepted_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.shop}"


class MembershipSource(models.TextChoices):
    PUBLIC_PAGE = "public", _("Public page")
    COUNTER = "counter", _("Counter")
    API = "api", _("API")
    IMPORT = "import", _("Import")


class MembershipQuerySet(models.QuerySet):
    def for_shop(self, shop: Shop):
        return self.filter(shop=shop)


class Membership(models.Model):
    """A customer's card at one shop. It holds the points balance.

    The customer's details live here, per shop: each shop is the controller of its members' data
    and collects its own consent, and a card can exist without a login (a phone-only customer
    enrolled at the counter). ``user`` links the card to a login for the member portal.
    """

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="memberships")
    user = models.ForeignKey(
        "loyalty.User", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="memberships",
    )
    card_number = models.CharField(_("card number"), max_length=20, unique=True, editable=False)
    name = models.CharField(_("name"), max_length=150)
    email = models.EmailField(_("e-mail address"), blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    # When the birthday was last set or changed: one set shortly before it falls counts from
    # the next year (settings.TROUW_BIRTHDAY_NOTICE_DAYS).
    birthday_set_at = models.DateTimeField(_("birthday set at"), null=True, blank=True)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.EN
    )
    marketing_consent = models.BooleanField(_("marketing consent"), default=False)
    marketing_consent_at = models.DateTimeField(_("consent given at"), null=True, blank=True)
    points_balance = models.IntegerField(_("points balance"), default=0, editable=False)
    source = models.CharField(
        _("joined via"), max_length=10, choices=MembershipSource.choices,
        default=MembershipSource.PUBLIC_PAGE,
    )
    joined_at = models.DateTimeField(_("joined at"), auto_now_add=True)
    # The last purchase on the card: the clock of expiry after a time without purchases.
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)
    # The card's level (tier) as the tiers app last wrote it: what the earn needs at the moment
    # of a purchase (its multiplier, read with the row the earn locks anyway) and what the
    # counter shows beside the balance. The core never decides a level; it only applies it.
    level_name = models.CharField(_("level"), max_length=40, blank=True, editable=False)
    # The level's place, 1 for the lowest; 0 below the first (rewards' minimum tier compares
    # with it).
    level_rank = models.PositiveSmallIntegerField(default=0, editable=False)
    level_colour = models.CharField(max_length=7, blank=True, editable=False)
    level_multiplier = models.DecimalField(_("level earn multiplier"), max_digits=4,
                                           decimal_places=2, default=Decimal("1.00"),
                                           editable=False)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["-joined_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(points_balance__gte=0), name="membership_balance_not_negative"
            ),
            models.CheckConstraint(
                condition=~models.Q(email="", phone=""), name="membership_has_contact"
            ),
            models.CheckConstraint(
                condition=models.Q(level_multiplier__gte=1, level_multiplier__lte=10),
                name="membership_level_multiplier_range",
            ),
            models.UniqueConstraint(
                fields=["shop", "user"], condition=models.Q(user__isnull=False),
                name="membership_one_per_user_per_shop",
            ),
            models.UniqueConstraint(
                "shop", Lower("email"), condition=~models.Q(email=""),
                name="membership_email_unique_per_shop",
            ),
            models.UniqueConstraint(
                fields=["shop", "phone"], condition=~models.Q(phone=""),
                name="membership_phone_unique_per_shop",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "name"], name="membership_shop_name_idx"),
            # The counter's search as you type: phone LIKE '+31612%' within a shop. The
            # pattern operator class lets PostgreSQL use the index for LIKE in any collation
            # (ignored on SQLite).
            models.Index(fields=["shop", "phone"], opclasses=["int8_ops", "varchar_pattern_ops"],
                         name="membership_phone_prefix_idx"),
            # The day's birthdays of a shop: birthday__month and birthday__day, as the
            # birthday job asks for them.
            models.Index(models.F("shop"), ExtractMonth("birthday"), ExtractDay("birthday"),
                         condition=models.Q(birthday__isnull=False),
                         name="membership_birthday_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.card_number_display})"

    @property
    def card_number_display(self) -> str:
        n = self.card_number
        return " ".join(n[i : i + 4] for i in range(0, len(n), 4))


# --- The points engine ------------------------------------------------------------------------
# Money is Decimal with two places and a currency beside it; points are signed integers. Rules are
# versioned rows that are never edited; purchases point at the version they used. The ledger is
# append-only (a database trigger refuses UPDATE and DELETE on PostgreSQL and SQLite).

MONEY = {"max_digits": 12, "decimal_places": 2}


class ProgramKind(models.TextChoices):
    """How a shop's customers collect: points, or stamps on a card.

    A stamp is a point in the ledger (a purchase that reaches the stamp's minimum earns one, as
    a one-step table with no rate); the kind only changes what customers and staff are shown
    (7 of 10 stamps) and that a full card is handed out as ``stamp_reward``."""

    POINTS = "points", _("Points")
    STAMPS = "stamps", _("Stamp card")


class BirthdayWindow(models.TextChoices):
    """When a member's birthday gift arrives (from 06:00 in the shop's time zone)."""

    DAY = "day", _("On the birthday")
    DAYS_BEFORE = "before", _("Some days before the birthday")
    WEEK = "week", _("At the start of the birthday week")
    MONTH = "month", _("At the start of the birthday month")


class ExpiryPolicy(models.TextChoices):
    """When points expire. A policy holds for points earned while it is in force: each lot
    keeps the terms it was earned under."""

    NEVER = "never", _("Never")
    AFTER_EARNING = "earned", _("Some months after they were earned")
    INACTIVITY = "inactive", _("After some months without a purchase")


class BonusCombine(models.TextChoices):
    STACK = "stack", _("Stack: all of them apply")
    BEST = "best", _("Best of: only the one that gives the most")


class ProgramRules(models.Model):
    """One version of a shop's earn rules. Saving new rules adds a version; none is edited."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="rule_versions")
    version = models.PositiveIntegerField(_("version"))
    program = models.CharField(
        _("program"), max_length=10, choices=ProgramKind.choices, default=ProgramKind.POINTS
    )
    stamps_per_card = models.PositiveSmallIntegerField(_("stamps for a full card"), null=True,
                                                       blank=True)
    stamp_reward = models.CharField(_("a full card gives"), max_length=100, blank=True)
    points_per_unit = models.PositiveIntegerField(
        _("points per currency unit"), default=10,
        help_text=_("Points for every whole euro or krona; cents are rounded down."),
    )
    # [{"min_amount": "20.00", "points": 1000}, ...], sorted by min_amount; the highest step
    # reached applies, in place of (or on top of) the rate.
    steps = models.JSONField(_("steps"), default=list, blank=True)
    steps_replace_rate = models.BooleanField(
        _("a step replaces the rate"), default=True,
        help_text=_("On: a purchase that reaches a step earns the step's points only. "
                    "Off: it earns the rate and the step's points."),
    )
    minimum_amount = models.DecimalField(_("minimum purchase"), default=0, **MONEY)
    cap_per_purchase = models.PositiveIntegerField(
        _("most points per purchase"), null=True, blank=True
    )
    points_per_currency_value = models.PositiveIntegerField(
        _("points worth 1 currency unit"), default=100,
        help_text=_("For reporting and paying with points: e.g. 100 points = €1."),
    )
    signup_bonus = models.PositiveIntegerField(_("sign-up bonus"), default=0)
    pending_days = models.PositiveIntegerField(
        _("pending days"), default=0,
        help_text=_("Points become spendable this many days after the purchase (your return "
                    "window). 0: at once."),
    )
    birthday_points = models.PositiveIntegerField(_("birthday points"), default=0)
    birthday_window = models.CharField(
        _("birthday gift arrives"), max_length=10, choices=BirthdayWindow.choices,
        default=BirthdayWindow.DAY,
    )
    birthday_days_before = models.PositiveSmallIntegerField(
        _("days before the birthday"), default=0)
    expiry_policy = models.CharField(
        _("points expire"), max_length=10, choices=ExpiryPolicy.choices,
        default=ExpiryPolicy.NEVER,
    )
    expiry_months = models.PositiveSmallIntegerField(_("months"), null=True, blank=True)
    # Bonus-point events (loyalty.bonus): a list of {"name", "kind": "multiplier" | "extra",
    # "value", "starts_on", "ends_on", "weekdays", "from_hour", "to_hour", "categories"}, each
    # limited to dates, weekdays and hours on the shop's clock and optionally to product
    # categories. Part of the rules: a purchase's rules version says which events were in force.
    bonus_events = models.JSONField(_("bonus-point events"), default=list, blank=True)
    # How the level's multiplier and the events that apply combine: all of them, or only the
    # one that gives the most.
    bonus_combine = models.CharField(_("bonuses combine"), max_length=5,
                                     choices=BonusCombine.choices, default=BonusCombine.STACK)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        "loyalty.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("program rules")
        verbose_name_plural = _("program rules")
        ordering = ["shop", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "version"], name="rules_version_unique"),
            models.CheckConstraint(condition=models.Q(minimum_amount__gte=0),
                                   name="rules_minimum_not_negative"),
            models.CheckConstraint(condition=models.Q(points_per_currency_value__gt=0),
                                   name="rules_point_value_positive"),
            models.CheckConstraint(condition=models.Q(program__in=ProgramKind.values),
                                   name="rules_program_known"),
            models.CheckConstraint(
                condition=models.Q(program=ProgramKind.POINTS)
                | models.Q(stamps_per_card__gte=2, stamps_per_card__lte=50),
                name="rules_stamp_card_size",
            ),
            models.CheckConstraint(condition=models.Q(birthday_window__in=BirthdayWindow.values),
                                   name="rules_birthday_window_known"),
            models.CheckConstraint(condition=models.Q(birthday_days_before__lte=31),
                                   name="rules_birthday_days_before_range"),
            models.CheckConstraint(
                condition=models.Q(expiry_policy=ExpiryPolicy.NEVER)
                | models.Q(expiry_policy__in=ExpiryPolicy.values, expiry_months__gte=1,
                           expiry_months__lte=120),
                name="rules_expiry_policy_months",
            ),
        ]

    def __str__(self) -> str:
        return f"rules v{self.version} of shop {self.shop_id}"

    @property
    def is_stamp_card(self) -> bool:
        return self.program == ProgramKind.STAMPS

    @property
    def stamp_minimum(self):
        """The amount a purchase must reach to earn a stamp (the one step's)."""
        from decimal import Decimal

        return Decimal(self.steps[0]["min_amount"]) if self.steps else self.minimum_amount


class ApiKeyScope(models.TextChoices):
    TILL = "till", _("Till: look up, earn, refund, redeem")
    MANAGE = "manage", _("Manage: till, and the rewards catalogue")


class ApiKey(models.Model):
    """A shop's key for tills and webshops. Only a SHA-256 hash of the key is stored."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=60)
    prefix = models.CharField(_("starts with"), max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scope = models.CharField(_("scope"), max_length=10, choices=ApiKeyScope.choices,
                             default=ApiKeyScope.TILL)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        "loyalty.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(scope__in=ApiKeyScope.values),
                                   name="api_key_scope_known"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Purchase(models.Model):
    """A purchase as recorded at the counter or by a till; with or without a member's card."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="purchases")
    membership = models.ForeignKey(
        Membership, on_delete=models.PROTECT, null=True, blank=True, related_name="purchases",
        db_index=False,  # purchase_member_idx
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    reference = models.CharField(_("receipt number"), max_length=64, blank=True)
    rules = models.ForeignKey(ProgramRules, on_delete=models.PROTECT, related_name="+")
    points_earned = models.IntegerField(_("points earned"), default=0)
    # How ``points_earned`` came about when more than the rate applied: {"base": the rules'
    # points, "parts": [{"source": "level" | "event", "name": …, "points": …, "multiplier": "1.25"
    # (a multiplier's factor then)}, …]}; empty when only the rate did. The history says
    # "+540 points, of which +270 for Double Tuesday".
    earn_detail = models.JSONField(_("earned how"), default=dict, blank=True)
    points_available_at = models.DateTimeField(_("points spendable from"))
    refunded_amount = models.DecimalField(_("refunded"), default=0, **MONEY)
    recorded_by = models.ForeignKey(
        "loyalty.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("purchase")
        verbose_name_plural = _("purchases")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0),
                                   name="purchase_amount_positive"),
            models.CheckConstraint(condition=models.Q(points_earned__gte=0),
                                   name="purchase_points_not_negative"),
            models.CheckConstraint(
                condition=models.Q(refunded_amount__gte=0)
                & models.Q(refunded_amount__lte=models.F("amount")),
                name="purchase_refund_within_amount",
            ),
            models.UniqueConstraint(
                fields=["shop", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="purchase_idempotency_key_unique_per_shop",
            ),
        ]
        indexes = [
            models.Index(fields=["shop", "-created_at"], name="purchase_shop_created_idx"),
            # A card's purchases, with what the badges and levels read of them on every earn
            # (tiers: the member's history, the measure): on PostgreSQL the earn reads the
            # index alone, not the purchases' rows scattered over the table (benchmarks.md).
            models.Index(fields=["membership"], name="purchase_member_idx",
                         include=["created_at", "amount", "refunded_amount"]),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} @ {self.shop_id}"


class PurchaseItem(models.Model):
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, related_name="items")
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=100, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), **MONEY)

    class Meta:
        verbose_name = _("purchase line")
        verbose_name_plural = _("purchase lines")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0),
                                   name="item_quantity_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0),
                                   name="item_price_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class Refund(models.Model):
    """Money given back on a purchase. It reverses the proportional points; what was already
    spent cannot be taken back, and is recorded as the shortfall."""

    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, related_name="refunds")
    amount = models.DecimalField(_("amount"), **MONEY)
    points_reversed = models.IntegerField(_("points taken back"), default=0)
    points_shortfall = models.IntegerField(_("points already spent"), default=0)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        "loyalty.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    api_key = models.ForeignKey(
        ApiKey, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(points_reversed__gte=0) & models.Q(points_shortfall__gte=0),
                name="refund_points_not_negative",
            ),
            models.UniqueConstraint(
                fields=["purchase", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="refund_idempotency_key_unique_per_purchase",
            ),
        ]

    def __str__(self) -> str:
        return f"refund {self.amount} of purchase {self.purchase_id}"


class EntryKind(models.TextChoices):
    EARN = "earn", _("Purchase")
    SIGNUP_BONUS = "signup", _("Sign-up bonus")
    ADJUSTMENT = "adjust", _("Adjustment")
    REDEMPTION = "redeem", _("Redemption")
    REVERSAL = "reversal", _("Reversal")
    EXPIRY = "expiry", _("Expiry")
    BONUS = "bonus", _("Bonus")
    BIRTHDAY = "birthday", _("Birthday gift")
    BADGE = "badge", _("Badge")


class LedgerEntry(models.Model):
    """One change of a member's points. Append-only: a correction is a new entry (a reversal
    points at the entry it reverses). The membership's cached balance is the sum of its entries."""

    # Every index is written on every entry (earns, birthdays, expiry): the foreign keys get
    # no index of their own where a composite one starts with them, and the mostly empty ones
    # only partial indexes (rows that have them), see Meta.indexes.
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="+", db_index=False)
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="entries",
                                   db_index=False)
    points = models.IntegerField(_("points"))
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind.choices)
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="entries", db_index=False)
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="entries", db_index=False)
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="reversals", db_index=False)
    # What caused it outside the core (a reward, a voucher, …): "<app>.<model>:<pk>".
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    # ``note``: what the shop records (an adjustment's reason, a reward's name); staff see it.
    # ``customer_note``: what the member is told about an adjustment; the portal never shows
    # ``note`` of an adjustment.
    note = models.CharField(_("note"), max_length=200, blank=True)
    customer_note = models.CharField(_("note for the customer"), max_length=200, blank=True)
    # PROTECT, not SET_NULL: that would UPDATE the entry, which the database refuses. People
    # and keys are deactivated or revoked, never deleted, once they have acted on the ledger.
    actor_user = models.ForeignKey("loyalty.User", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+", db_index=False)
    actor_api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="+", db_index=False)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True)
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="entry_idempotency_key_unique_per_shop",
            ),
            models.CheckConstraint(condition=models.Q(kind__in=EntryKind.values),
                                   name="entry_kind_known"),
            models.CheckConstraint(condition=~models.Q(points=0), name="entry_points_not_zero"),
        ]
        indexes = [
            # A card's entries; with what a level's points measure sums (PostgreSQL reads the
            # index alone on every earn of a shop with levels).
            models.Index(fields=["membership", "-created_at"], name="entry_member_idx",
                         include=["shop", "kind", "points", "purchase"]),
            models.Index(fields=["shop", "created_at"], name="entry_shop_time_idx"),
            *(models.Index(fields=[name], name=f"entry_{name}_idx",
                           condition=models.Q(**{f"{name}__isnull": False}))
              for name in ("purchase", "refund", "reverses", "actor_user", "actor_api_key")),
        ]

    def __str__(self) -> str:
        return f"{self.points:+d} {self.kind} ({self.membership_id})"

    @property
    def actor(self) -> str:
        if self.actor_user_id:
            return str(self.actor_user)
        if self.actor_api_key_id:
            return f"API: {self.actor_api_key}"
        return "system"


class PointLot(models.Model):
    """Points that arrived together (an earn, a bonus, a return). Spending and expiry take points
    from the oldest spendable lots first; the sum of what remains equals the balance."""

    # No index of its own: lot_member_idx starts with it.
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT, related_name="lots",
                                   db_index=False)
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, related_name="lot")
    points = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    available_at = models.DateTimeField()
    # The expiry terms the points were earned under (never retroactive): a date (points expire
    # N months after they were earned), or a number of months without a purchase on the card.
    expires_at = models.DateTimeField(null=True, blank=True)
    inactivity_months = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["available_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(remaining__lte=models.F("points")),
                                   name="lot_remaining_within_points"),
        ]
        indexes = [
            models.Index(fields=["membership", "available_at"], name="lot_member_idx"),
            # The expiry night's two questions: lots with points left whose date has come, and
            # lots with points left under months-without-a-purchase terms.
            models.Index(fields=["expires_at"], name="lot_expires_idx",
                         condition=models.Q(remaining__gt=0, expires_at__isnull=False)),
            models.Index(fields=["membership"], name="lot_inactivity_idx",
                         condition=models.Q(remaining__gt=0, inactivity_months__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.points} points from entry {self.entry_id}"


class IdempotentRequest(models.Model):
    """An API write done under an Idempotency-Key: its replay gets the same status and body."""

    # No index of its own: the unique (shop, key) index starts with the shop. One key names one
    # request of a shop, whatever the endpoint: sent to another one it is a 409, not new work.
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=120)
    operation = models.CharField(max_length=40)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    # The answer's body as it was sent (JSON text): a replay sends the same bytes, and nothing
    # has to encode it twice or parse it into jsonb.
    response = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["shop", "key"], name="idempotent_request_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.key}"


# --- Birthdays ---------------------------------------------------------------------------------


class BirthdayGift(models.Model):
    """A member's birthday gift of one year. The unique (membership, year) makes a second gift
    in the same year impossible, whatever runs twice; ``entry`` is its points, ``extras`` what
    other apps gave with it (a voucher: ``{"kind": "voucher", "name": …, "code": …}``)."""

    # No indexes of their own: the unique (membership, year) and birthday_gift_shop_idx start
    # with them.
    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="+", db_index=False)
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT,
                                   related_name="birthday_gifts", db_index=False)
    year = models.PositiveSmallIntegerField(_("year"))
    birthday = models.DateField(_("birthday that year"))
    points = models.PositiveIntegerField(_("points"), default=0)
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    extras = models.JSONField(default=list, blank=True)
    given_at = models.DateTimeField(_("given at"), auto_now_add=True)

    class Meta:
        verbose_name = _("birthday gift")
        verbose_name_plural = _("birthday gifts")
        constraints = [
            models.UniqueConstraint(fields=["membership", "year"],
                                    name="birthday_gift_once_a_year"),
        ]
        indexes = [models.Index(fields=["shop", "-given_at"], name="birthday_gift_shop_idx")]

    def __str__(self) -> str:
        return f"birthday gift {self.year} of {self.membership_id}"


# --- Consent and the outbox --------------------------------------------------------------------


class ConsentSource(models.TextChoices):
    ENROLMENT = "enrol", _("On joining")
    PORTAL = "portal", _("In the member portal")
    UNSUBSCRIBE = "unsub", _("Unsubscribe link in an e-mail")
    COUNTER = "counter", _("At the counter")
    OWNER = "owner", _("By the shop")


class ConsentChange(models.Model):
    """A change of a member's marketing consent, with its time and how it was made."""

    membership = models.ForeignKey(Membership, on_delete=models.CASCADE,
                                   related_name="consent_changes")
    marketing = models.BooleanField(_("marketing consent"))
    source = models.CharField(_("how"), max_length=10, choices=ConsentSource.choices)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"consent {self.marketing} of {self.membership_id} ({self.source})"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent")


class OutboxMessage(models.Model):
    """Something that must happen after a commit (an e-mail), written in the transaction that
    decided it and sent by Celery. ``key`` names the occasion ("birthday:<card>:2026"): one
    message per key, ever."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="messages", db_index=False)  # outbox_member_idx
    kind = models.CharField(_("kind"), max_length=30)
    key = models.CharField(max_length=200)
    to = models.EmailField(_("to"))
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    context = models.JSONField(default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=OutboxStatus.choices,
                              default=OutboxStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    last_error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("written at"), auto_now_add=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["key"], name="outbox_key_unique"),
            models.CheckConstraint(condition=models.Q(status__in=OutboxStatus.values),
                                   name="outbox_status_known"),
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due_idx"),
            models.Index(fields=["membership", "-created_at"], name="outbox_member_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} to {self.to} ({self.status})"
