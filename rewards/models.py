"""Rewards: the catalogue a shop offers, and the vouchers members claim with their points.

A voucher's points leave the card through the core's ledger (a redemption entry); a cancelled or
(per shop setting) expired voucher gives them back with a reversal entry that points at it.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from loyalty.models import MONEY, ApiKey, LedgerEntry, Membership, Shop


class RewardKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", _("Amount off")
    PERCENT_OFF = "percent_off", _("Percentage off")
    FREE_PRODUCT = "free_product", _("Free product")
    GIFT_VOUCHER = "gift_voucher", _("Gift voucher")
    PERK = "perk", _("Perk")


class LimitPeriod(models.TextChoices):
    MONTH = "month", _("per month")
    EVER = "ever", _("ever")


class RewardQuerySet(models.QuerySet):
    def for_shop(self, shop: Shop):
        return self.filter(shop=shop)


class Reward(models.Model):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="rewards")
    kind = models.CharField(_("kind"), max_length=20, choices=RewardKind.choices)
    name = models.CharField(_("name"), max_length=100)
    description = models.TextField(_("description"), blank=True, max_length=1000)
    image = models.ImageField(_("image"), upload_to="rewards/", blank=True)
    points_cost = models.PositiveIntegerField(_("points"))
    # What the reward is worth, by kind: an amount (amount off, gift voucher), a percentage,
    # or the product's name (free product). A perk is described by its name and description.
    value_amount = models.DecimalField(_("amount"), null=True, blank=True, **MONEY)
    value_percent = models.PositiveSmallIntegerField(_("percentage"), null=True, blank=True)
    product_name = models.CharField(_("product"), max_length=100, blank=True)
    active = models.BooleanField(_("active"), default=True)
    display_order = models.PositiveIntegerField(_("order"), default=0)
    available_from = models.DateTimeField(_("available from"), null=True, blank=True)
    available_until = models.DateTimeField(_("available until"), null=True, blank=True)
    stock_total = models.PositiveIntegerField(_("stock"), null=True, blank=True,
                                              help_text=_("Leave empty for no limit."))
    stock_claimed = models.PositiveIntegerField(_("claimed"), default=0, editable=False)
    limit_per_member = models.PositiveIntegerField(_("limit per member"), null=True, blank=True)
    limit_period = models.CharField(_("limit period"), max_length=10,
                                    choices=LimitPeriod.choices, default=LimitPeriod.EVER)
    min_tier_level = models.PositiveSmallIntegerField(
        _("minimum tier"), null=True, blank=True,
        help_text=_("Used once tiers exist: members below this tier level cannot claim it."),
    )
    voucher_valid_days = models.PositiveIntegerField(_("voucher valid for (days)"), default=30)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = RewardQuerySet.as_manager()

    class Meta:
        verbose_name = _("reward")
        verbose_name_plural = _("rewards")
        ordering = ["display_order", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(points_cost__gt=0),
                                   name="reward_cost_positive"),
            models.CheckConstraint(condition=models.Q(kind__in=RewardKind.values),
                                   name="reward_kind_known"),
            models.CheckConstraint(
                condition=models.Q(stock_total__isnull=True)
                | models.Q(stock_claimed__lte=models.F("stock_total")),
                name="reward_stock_not_exceeded",
            ),
            models.CheckConstraint(
                condition=models.Q(value_percent__isnull=True)
                | models.Q(value_percent__gte=1, value_percent__lte=100),
                name="reward_percent_1_to_100",
            ),
            models.CheckConstraint(
                condition=models.Q(value_amount__isnull=True) | models.Q(value_amount__gt=0),
                name="reward_amount_positive",
            ),
            models.CheckConstraint(condition=models.Q(voucher_valid_days__gte=1),
                                   name="reward_voucher_days_positive"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def stock_left(self) -> int | None:
        if self.stock_total is None:
            return None
        return max(self.stock_total - self.stock_claimed, 0)


class VoucherStatus(models.TextChoices):
    OPEN = "open", _("Open")
    USED = "used", _("Used")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")


class Voucher(models.Model):
    """A claimed reward: paid in points, shown at the counter by its code, used once."""

    shop = models.ForeignKey(Shop, on_delete=models.PROTECT, related_name="vouchers")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="vouchers")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT,
                                   related_name="vouchers")
    code = models.CharField(_("code"), max_length=16, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=VoucherStatus.choices,
                              default=VoucherStatus.OPEN)
    points_spent = models.PositiveIntegerField(_("points"))
    # The points' redemption; none for a gift (a birthday voucher costs no points).
    redemption_entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, null=True,
                                            blank=True, related_name="voucher")
    # The birthday gift a gift voucher came with ("loyalty.birthdaygift" id); one per gift.
    birthday_gift = models.OneToOneField("loyalty.BirthdayGift", on_delete=models.PROTECT,
                                         null=True, blank=True, related_name="+")
    return_entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, null=True,
                                        blank=True, related_name="returned_voucher")
    created_at = models.DateTimeField(_("claimed at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("valid until"))
    claimed_by = models.ForeignKey("loyalty.User", on_delete=models.PROTECT, null=True,
                                   blank=True, related_name="+")
    claimed_by_api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, null=True,
                                           blank=True, related_name="+")
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)
    used_by = models.ForeignKey("loyalty.User", on_delete=models.PROTECT, null=True,
                                blank=True, related_name="+")
    used_by_api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, null=True,
                                        blank=True, related_name="+")
    closed_at = models.DateTimeField(_("cancelled or expired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("voucher")
        verbose_name_plural = _("vouchers")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(status__in=VoucherStatus.values),
                                   name="voucher_status_known"),
            models.CheckConstraint(
                condition=~models.Q(status="used") | models.Q(used_at__isnull=False),
                name="voucher_used_has_time",
            ),
            # Claimed with points (a redemption entry) or given (no points), nothing between.
            models.CheckConstraint(
                condition=models.Q(redemption_entry__isnull=False, points_spent__gt=0)
                | models.Q(redemption_entry__isnull=True, points_spent=0,
                           birthday_gift__isnull=False),
                name="voucher_claimed_or_given",
            ),
        ]
        indexes = [
            models.Index(fields=["membership", "reward", "created_at"],
                         name="voucher_member_reward_idx"),
            models.Index(fields=["status", "expires_at"], name="voucher_status_expiry_idx"),
        ]

    def __str__(self) -> str:
        return self.code


class RewardSettings(models.Model):
    """A shop's choices about redemption."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="reward_settings")
    expired_vouchers_return_points = models.BooleanField(
        _("expired vouchers give their points back"), default=True)
    pay_with_points = models.BooleanField(
        _("staff may take points off a purchase as money"), default=False)
    pay_with_points_cap = models.PositiveIntegerField(
        _("most points per purchase"), null=True, blank=True)
    birthday_reward = models.ForeignKey(
        Reward, verbose_name=_("birthday gift"), on_delete=models.SET_NULL, null=True,
        blank=True, related_name="+",
        help_text=_("Members get a voucher for this reward with their birthday gift, free."))

    class Meta:
        verbose_name = _("reward settings")
        verbose_name_plural = _("reward settings")

    def __str__(self) -> str:
        return f"reward settings of {self.shop}"
