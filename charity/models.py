"""Models of the charity app: a shop's charities and its program, each member's choice (with
its history), the append-only donation ledger and the monthly statements per charity.

Managers and querysets only construct and look up; every rule lives in ``charity/services.py``.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty.models import MONEY, Currency

MAX_CHARITIES_PER_SHOP = 12


class RegistrationKind(models.TextChoices):
    """What makes gifts to a charity trustworthy where it applies."""

    NONE = "", _("None")
    ANBI = "anbi", _("Dutch ANBI (RSIN)")
    SE_90 = "se90", _("Swedish 90-konto")


class CharityQuerySet(models.QuerySet):
    def for_shop(self, shop):
        return self.filter(shop=shop)


class Charity(models.Model):
    """A cause a shop's customers can give to. At most one per shop is the default."""

    shop = models.ForeignKey("loyalty.Shop", on_delete=models.PROTECT, related_name="charities")
    name = models.CharField(_("name"), max_length=100)
    description = models.CharField(_("short description"), max_length=300, blank=True)
    logo = models.ImageField(_("logo"), upload_to="charity/logos/", blank=True)
    website = models.URLField(_("website"), blank=True)
    registration_kind = models.CharField(_("registration"), max_length=4, blank=True,
                                         choices=RegistrationKind.choices)
    registration_number = models.CharField(_("registration number"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = CharityQuerySet.as_manager()

    class Meta:
        verbose_name = _("charity")
        verbose_name_plural = _("charities")
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["shop"], condition=models.Q(is_default=True),
                                    name="charity_one_default_per_shop"),
            models.UniqueConstraint(fields=["shop", "name"], name="charity_name_unique_per_shop"),
            models.CheckConstraint(
                condition=models.Q(registration_kind__in=RegistrationKind.values),
                name="charity_registration_kind_known"),
            models.CheckConstraint(
                condition=(models.Q(registration_kind="", registration_number="")
                           | (~models.Q(registration_kind="")
                              & ~models.Q(registration_number=""))),
                name="charity_registration_number_with_kind"),
            models.CheckConstraint(condition=~models.Q(is_default=True, active=False),
                                   name="charity_default_is_active"),
        ]

    def __str__(self) -> str:
        return self.name


class ProgramMode(models.TextChoices):
    BESIDE = "beside", _("Beside points")
    INSTEAD = "instead", _("Instead of points")


class RuleKind(models.TextChoices):
    PERCENT = "percent", _("A percentage of the purchase")
    PER_UNIT = "per_unit", _("An amount per whole euro or krona")
    PER_PURCHASE = "per_purchase", _("An amount per purchase")


class Split(models.TextChoices):
    DEFAULT = "default", _("The default charity")
    EVEN = "even", _("Split evenly over the active charities")


class CharityProgram(models.Model):
    """A shop's charity program. A change of it and a month close lock its row and, on
    PostgreSQL, the program's advisory lock, which giving purchases hold shared
    (``charity.services._program_read``); refunds and points given lock the row."""

    shop = models.OneToOneField("loyalty.Shop", on_delete=models.CASCADE,
                                related_name="charity_program")
    enabled = models.BooleanField(_("on"), default=False)
    mode = models.CharField(_("donations come"), max_length=8, choices=ProgramMode.choices,
                            default=ProgramMode.BESIDE)
    rule_kind = models.CharField(_("the shop gives"), max_length=12, choices=RuleKind.choices,
                                 default=RuleKind.PERCENT)
    rule_value = models.DecimalField(_("value"), max_digits=8, decimal_places=2, default=1)
    monthly_cap = models.DecimalField(_("at most per month"), null=True, blank=True, **MONEY)
    split = models.CharField(_("until a member chooses"), max_length=8, choices=Split.choices,
                             default=Split.DEFAULT)
    points_per_unit = models.PositiveIntegerField(
        _("points for 1 unit donated"), null=True, blank=True,
        help_text=_("Members may give this many points for 1 euro or krona donated by you. "
                    "Empty: members cannot give points."))
    round_up_max = models.DecimalField(_("largest round-up"), default=5, **MONEY)
    # Months are closed in order: every month up to this one (its first day) is closed.
    closed_through = models.DateField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("charity program")
        verbose_name_plural = _("charity programs")
        constraints = [
            models.CheckConstraint(condition=models.Q(mode__in=ProgramMode.values),
                                   name="charity_program_mode_known"),
            models.CheckConstraint(condition=models.Q(rule_kind__in=RuleKind.values),
                                   name="charity_program_rule_kind_known"),
            models.CheckConstraint(condition=models.Q(split__in=Split.values),
                                   name="charity_program_split_known"),
            models.CheckConstraint(condition=models.Q(rule_value__gte=0),
                                   name="charity_program_value_not_negative"),
            models.CheckConstraint(
                condition=~models.Q(rule_kind=RuleKind.PERCENT) | models.Q(rule_value__lte=100),
                name="charity_program_percent_range"),
            models.CheckConstraint(
                condition=models.Q(monthly_cap__isnull=True) | models.Q(monthly_cap__gt=0),
                name="charity_program_cap_positive"),
            models.CheckConstraint(
                condition=models.Q(points_per_unit__isnull=True) | models.Q(points_per_unit__gt=0),
                name="charity_program_points_rate_positive"),
            models.CheckConstraint(condition=models.Q(round_up_max__gte=0),
                                   name="charity_program_round_up_max_not_negative"),
        ]

    def __str__(self) -> str:
        return f"charity program of shop {self.shop_id}"


class ChoiceSource(models.TextChoices):
    PORTAL = "portal", _("In the member portal")
    COUNTER = "counter", _("At the counter")
    API = "api", _("API")
    OWNER = "owner", _("By the shop")


class CharityChoice(models.Model):
    """A member's choice of charity from a moment on. Never edited: the latest is the current
    one, and a donation points at the choice it followed, so its attribution is provable."""

    membership = models.ForeignKey("loyalty.Membership", on_delete=models.PROTECT,
                                   related_name="charity_choices", db_index=False)
    charity = models.ForeignKey(Charity, on_delete=models.PROTECT, related_name="choices")
    source = models.CharField(_("how"), max_length=8, choices=ChoiceSource.choices)
    chosen_at = models.DateTimeField(_("chosen at"), auto_now_add=True)

    class Meta:
        verbose_name = _("charity choice")
        verbose_name_plural = _("charity choices")
        ordering = ["-chosen_at", "-pk"]
        indexes = [models.Index(fields=["membership", "-chosen_at"],
                                name="charity_choice_member_idx")]

    def __str__(self) -> str:
        return f"{self.membership_id} → {self.charity_id}"


class DonationKind(models.TextChoices):
    SHOP_SHARE = "shop_share", _("Share of a purchase, given by the shop")
    ROUND_UP = "round_up", _("Round-up, given by the customer")
    POINTS = "points", _("Points given, donated by the shop")
    REVERSAL = "reversal", _("Taken back")


class DonationSource(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    REFUND = "refund", _("Refund")
    REDEMPTION = "redemption", _("Points given")


class FundedBy(models.TextChoices):
    SHOP = "shop", _("The shop")
    CUSTOMER = "customer", _("The customer")


class Donation(models.Model):
    """One line of the donation ledger: money promised to a charity. Append-only (the database
    refuses UPDATE and DELETE); a correction is a negative line that points at the one it
    reverses, in an open month."""

    shop = models.ForeignKey("loyalty.Shop", on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    charity = models.ForeignKey(Charity, on_delete=models.PROTECT, related_name="donations",
                                db_index=False)
    membership = models.ForeignKey("loyalty.Membership", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="donations", db_index=False)
    choice = models.ForeignKey(CharityChoice, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", db_index=False)
    kind = models.CharField(_("kind"), max_length=10, choices=DonationKind.choices)
    funded_by = models.CharField(_("given by"), max_length=8, choices=FundedBy.choices)
    source = models.CharField(_("from"), max_length=10, choices=DonationSource.choices)
    amount = models.DecimalField(_("amount"), **MONEY)
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    purchase = models.ForeignKey("loyalty.Purchase", on_delete=models.PROTECT, null=True,
                                 blank=True, related_name="donations", db_index=False)
    refund = models.ForeignKey("loyalty.Refund", on_delete=models.PROTECT, null=True,
                               blank=True, related_name="donations", db_index=False)
    entry = models.ForeignKey("loyalty.LedgerEntry", on_delete=models.PROTECT, null=True,
                              blank=True, related_name="+", db_index=False)
    reverses = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="reversals", db_index=False)
    idempotency_key = models.CharField(max_length=160, unique=True)
    # When the money may be paid out: after the purchase's pending period (its return window).
    payable_at = models.DateTimeField(_("payable from"))
    # The statement month it counts in (its first day, on the shop's clock).
    month = models.DateField(_("month"))
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("donation")
        verbose_name_plural = _("donations")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind__in=DonationKind.values),
                                   name="donation_kind_known"),
            models.CheckConstraint(condition=models.Q(source__in=DonationSource.values),
                                   name="donation_source_known"),
            models.CheckConstraint(condition=models.Q(funded_by__in=FundedBy.values),
                                   name="donation_funded_by_known"),
            models.CheckConstraint(condition=models.Q(currency__in=Currency.values),
                                   name="donation_currency_known"),
            # A gift is positive, a reversal negative and points at what it reverses.
            models.CheckConstraint(
                condition=(models.Q(kind=DonationKind.REVERSAL, amount__lt=0,
                                    reverses__isnull=False)
                           | (~models.Q(kind=DonationKind.REVERSAL)
                              & models.Q(amount__gt=0, reverses__isnull=True))),
                name="donation_sign_by_kind"),
            models.CheckConstraint(
                condition=~models.Q(kind__in=[DonationKind.SHOP_SHARE, DonationKind.ROUND_UP])
                | models.Q(purchase__isnull=False),
                name="donation_purchase_share_has_purchase"),
            models.CheckConstraint(
                condition=~models.Q(kind=DonationKind.POINTS) | models.Q(entry__isnull=False),
                name="donation_points_has_entry"),
            # One gift of each kind per purchase and charity (an even split gives one per
            # charity); one reversal per refund of each gift.
            models.UniqueConstraint(
                fields=["purchase", "kind", "charity"],
                condition=models.Q(purchase__isnull=False) & ~models.Q(kind="reversal"),
                name="donation_one_per_purchase_kind"),
            models.UniqueConstraint(
                fields=["reverses", "refund"], condition=models.Q(reverses__isnull=False),
                name="donation_one_reversal_per_refund"),
        ]
        indexes = [
            models.Index(fields=["shop", "month"], name="donation_shop_month_idx"),
            models.Index(fields=["charity", "month"], name="donation_charity_month_idx"),
            models.Index(fields=["membership", "-created_at"], name="donation_member_idx",
                         condition=models.Q(membership__isnull=False)),
            models.Index(fields=["purchase"], name="donation_purchase_idx",
                         condition=models.Q(purchase__isnull=False)),
            models.Index(fields=["reverses"], name="donation_reverses_idx",
                         condition=models.Q(reverses__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} {self.kind} → {self.charity_id}"


class Statement(models.Model):
    """What a shop owes one charity for one month, frozen from the ledger when the month is
    closed; then marked paid (date and reference)."""

    shop = models.ForeignKey("loyalty.Shop", on_delete=models.PROTECT, related_name="+",
                             db_index=False)
    charity = models.ForeignKey(Charity, on_delete=models.PROTECT, related_name="statements")
    month = models.DateField(_("month"))
    currency = models.CharField(_("currency"), max_length=3, choices=Currency.choices)
    donations_count = models.PositiveIntegerField(_("donations"), default=0)
    shop_funded = models.DecimalField(_("given by the shop"), default=0, **MONEY)
    customer_funded = models.DecimalField(_("given by customers"), default=0, **MONEY)
    closed_at = models.DateTimeField(_("closed at"))
    # When the return window of the month's last purchase for this charity ends: a refund
    # until then could still take some of it back (in the next open month), so the statement
    # can be marked paid from then on (as the points of a purchase can be spent).
    payable_from = models.DateTimeField(_("payable from"))
    paid_on = models.DateField(_("paid on"), null=True, blank=True)
    paid_reference = models.CharField(_("payment reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["-month", "charity__name"]
        constraints = [
            models.UniqueConstraint(fields=["charity", "month"],
                                    name="statement_one_per_charity_month"),
            models.CheckConstraint(condition=models.Q(currency__in=Currency.values),
                                   name="statement_currency_known"),
            models.CheckConstraint(
                condition=models.Q(paid_on__isnull=True) | ~models.Q(paid_reference=""),
                name="statement_paid_has_reference"),
        ]
        indexes = [models.Index(fields=["shop", "-month"], name="statement_shop_month_idx")]

    def __str__(self) -> str:
        return f"statement {self.month:%Y-%m} of charity {self.charity_id}"

    @property
    def total(self):
        return self.shop_funded + self.customer_funded
