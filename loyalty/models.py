"""Core models: people who sign in, shops, their staff, and memberships
(a customer's card at a shop).

Managers and querysets only construct and look up; every rule lives in ``loyalty/services.py``.
"""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Currency(models.TextChoices):
    EUR = "EUR", _("Euro (€)")
    SEK = "SEK", _("Swedish krona (kr)")


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


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
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
    email = models.EmailField(_("contact e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    website = models.URLField(_("website"), blank=True)
    logo = models.ImageField(_("logo"), upload_to="shops/logos/", blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

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
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.card_number_display})"

    @property
    def card_number_display(self) -> str:
        n = self.card_number
        return " ".join(n[i : i + 4] for i in range(0, len(n), 4))
