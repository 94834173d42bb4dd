"""Levels (tiers): a shop's tier program, its ordered tiers, each card's level state and the
append-only log of level changes.

What the earn needs at a purchase (the level's name, colour, rank and multiplier) is held on the
card in the core (``loyalty.Membership.level_*``) and written only by ``tiers.services`` when a
level changes; the rows here say why a card holds its level and until when.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from loyalty.models import Membership, Purchase, Refund, Shop, User

from .badges.models import *  # noqa: F403  (the badges' models live in tiers/badges/)


class Measure(models.TextChoices):
    POINTS = "points", _("Points earned")
    AMOUNT = "amount", _("Amount spent")
    VISITS = "visits", _("Visits")


class Period(models.TextChoices):
    LIFETIME = "lifetime", _("Since joining")
    YEAR = "year", _("Calendar year (a level reached holds through next year)")
    ROLLING = "rolling", _("The last 12 months")


class Downgrade(models.TextChoices):
    ONE = "one", _("One level at a time")
    STRAIGHT = "straight", _("Straight to the level earned")


class ChangeReason(models.TextChoices):
    PURCHASE = "purchase", _("Purchase")
    REFUND = "refund", _("Refund")
    REEVALUATION = "reevaluation", _("Re-evaluation")
    OWNER = "owner", _("Set by the owner")
    PROGRAM = "program", _("Levels set up or changed")


MAX_TIERS = 10
MIN_MULTIPLIER = Decimal("1.00")
MAX_MULTIPLIER = Decimal("10.00")
MAX_GRACE_DAYS = 365
MAX_BIRTHDAY_POINTS = 100_000  # a level's birthday gift, at most


class TierProgram(models.Model):
    """A shop's levels: on or off, what qualifies (one measure over one period) and how a
    level is lost at re-evaluation."""

    shop = models.OneToOneField(Shop, on_delete=models.CASCADE, related_name="tier_program")
    enabled = models.BooleanField(_("levels on"), default=False)
    measure = models.CharField(_("what counts"), max_length=10, choices=Measure.choices,
                               default=Measure.POINTS)
    period = models.CharField(_("over which time"), max_length=10, choices=Period.choices,
                              default=Period.YEAR)
    downgrade = models.CharField(_("going down"), max_length=10, choices=Downgrade.choices,
                                 default=Downgrade.ONE)
    grace_days = models.PositiveSmallIntegerField(
        _("grace days"), default=0,
        help_text=_("Days after the re-evaluation date before a level goes down."))
    # When the levels were first switched on: members were placed by their history then.
    first_enabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The last local day the re-evaluation ran for (it runs once a shop's day).
    reevaluated_through = models.DateField(null=True, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("level program")
        verbose_name_plural = _("level programs")
        constraints = [
            models.CheckConstraint(condition=models.Q(measure__in=Measure.values),
                                   name="tier_program_measure_known"),
            models.CheckConstraint(condition=models.Q(period__in=Period.values),
                                   name="tier_program_period_known"),
            models.CheckConstraint(condition=models.Q(downgrade__in=Downgrade.values),
                                   name="tier_program_downgrade_known"),
            models.CheckConstraint(condition=models.Q(grace_days__lte=MAX_GRACE_DAYS),
                                   name="tier_program_grace_days_range"),
        ]

    def __str__(self) -> str:
        return f"levels of {self.shop_id}"


class TierQuerySet(models.QuerySet):
    def for_shop(self, shop: Shop):
        return self.filter(shop=shop)


class Tier(models.Model):
    """One level. Its rank is its place by threshold (1 for the lowest), not stored here: the
    card holds the rank it reached (``Membership.level_rank``)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="tiers")
    name = models.CharField(_("name"), max_length=40)
    colour = models.CharField(_("colour"), max_length=7, default="#b08d57")
    # Money (amount spent) with cents; points and visits are whole numbers (the services
    # refuse decimals for them).
    threshold = models.DecimalField(_("from"), max_digits=12, decimal_places=2)
    multiplier = models.DecimalField(_("earn multiplier"), max_digits=4, decimal_places=2,
                                     default=Decimal("1.00"))
    perks = models.TextField(_("perks"), blank=True, max_length=500)
    # This level's birthday points instead of the shop's (empty: the shop's usual gift; 0: no
    # points on this level, the shop's birthday voucher still comes).
    birthday_points = models.PositiveIntegerField(
        _("birthday points"), null=True, blank=True,
        help_text=_("Empty: the shop's usual birthday points. 0: no birthday points at this "
                    "level."))

    objects = TierQuerySet.as_manager()

    class Meta:
        verbose_name = _("level")
        verbose_name_plural = _("levels")
        ordering = ["shop", "threshold"]
        constraints = [
            models.UniqueConstraint(Lower("name"), "shop", name="tier_name_unique_per_shop"),
            models.UniqueConstraint(fields=["shop", "threshold"],
                                    name="tier_threshold_unique_per_shop"),
            models.CheckConstraint(condition=models.Q(threshold__gt=0),
                                   name="tier_threshold_positive"),
            models.CheckConstraint(
                condition=models.Q(multiplier__gte=MIN_MULTIPLIER,
                                   multiplier__lte=MAX_MULTIPLIER),
                name="tier_multiplier_range"),
            models.CheckConstraint(condition=~models.Q(name=""), name="tier_name_not_empty"),
            models.CheckConstraint(
                condition=models.Q(birthday_points__isnull=True)
                | models.Q(birthday_points__lte=MAX_BIRTHDAY_POINTS),
                name="tier_birthday_points_range"),
        ]

    def __str__(self) -> str:
        return self.name


class TierState(models.Model):
    """A card's level: which tier, since when, until when it holds at least (re-evaluation
    may take it down from then on, after the grace days), and an owner's override."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    membership = models.OneToOneField(Membership, on_delete=models.CASCADE,
                                      related_name="tier_state")
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, null=True, blank=True,
                             related_name="states")
    reached_at = models.DateTimeField(_("reached"), null=True, blank=True)
    holds_until = models.DateField(_("holds until"), null=True, blank=True)
    # Set by the owner by hand: the reason, and the day the card goes back to what it earns.
    override_reason = models.CharField(_("reason"), max_length=200, blank=True)
    override_until = models.DateField(_("until"), null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("card level")
        verbose_name_plural = _("card levels")
        indexes = [models.Index(fields=["shop", "holds_until"], name="tier_state_holds_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(override_until__isnull=True) | ~models.Q(override_reason=""),
                name="tier_state_override_has_reason"),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id}: {self.tier_id}"


class LevelChange(models.Model):
    """One change of a card's level, with its reason and what caused it. Append-only: the
    names and ranks are copied, so the log reads the same after a tier is renamed or removed."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE,
                                   related_name="level_changes")
    from_tier = models.ForeignKey(Tier, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    to_tier = models.ForeignKey(Tier, on_delete=models.SET_NULL, null=True, blank=True,
                                related_name="+")
    from_name = models.CharField(max_length=40, blank=True)
    to_name = models.CharField(max_length=40, blank=True)
    from_rank = models.PositiveSmallIntegerField(default=0)
    to_rank = models.PositiveSmallIntegerField(default=0)
    reason = models.CharField(_("reason"), max_length=15, choices=ChangeReason.choices)
    purchase = models.ForeignKey(Purchase, on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="+")
    refund = models.ForeignKey(Refund, on_delete=models.CASCADE, null=True, blank=True,
                               related_name="+")
    note = models.CharField(_("note"), max_length=200, blank=True)
    by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, blank=True,
                           related_name="+")
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("level change")
        verbose_name_plural = _("level changes")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["membership", "-created_at"],
                                name="level_change_member_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(reason__in=ChangeReason.values),
                                   name="level_change_reason_known"),
            # A purchase raises a level once, whatever retries; a refund takes it back once.
            models.UniqueConstraint(fields=["purchase"], name="level_change_once_per_purchase",
                                    condition=models.Q(reason="purchase")),
            models.UniqueConstraint(fields=["refund"], name="level_change_once_per_refund",
                                    condition=models.Q(reason="refund")),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id}: {self.from_name or '-'} → {self.to_name or '-'}"
