"""Badges and challenges: what a shop's members can earn (a badge made from a template with its
parameters), and who earned which (an award, at most one live award per member and badge).

A badge's bonus points go through the core's ledger as an entry of kind ``badge``, pending like
the points of the purchase that earned it; a reversal entry takes them back when that purchase
is refunded within its pending window and the badge no longer holds."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from loyalty.models import MONEY, LedgerEntry, Membership, Purchase, Shop

__all__ = ["BUILTIN_ICONS", "MAX_BADGE_BONUS", "Badge", "BadgeAward", "BadgeTemplate"]

# The most bonus points one badge may give (a badge is a treat, not a second earn rule).
MAX_BADGE_BONUS = 100_000


class BadgeTemplate(models.TextChoices):
    FIRST_PURCHASE = "first_purchase", _("First purchase")
    VISITS = "visits", _("Visits")
    SPEND_TOTAL = "spend_total", _("Spend in total")
    SPEND_WITHIN = "spend_within", _("Challenge: spend within a number of days")
    WEEK_STREAK = "week_streak", _("Visits in consecutive weeks")
    WEEKDAYS = "weekdays", _("Visits on different weekdays")
    CATEGORIES = "categories", _("Different product categories")
    REFERRALS = "referrals", _("Friends referred")


# The templates' parameters: which of the badge's fields each one needs.
TEMPLATE_PARAMETERS: dict[str, tuple[str, ...]] = {
    BadgeTemplate.FIRST_PURCHASE: (),
    BadgeTemplate.VISITS: ("count",),
    BadgeTemplate.SPEND_TOTAL: ("amount",),
    BadgeTemplate.SPEND_WITHIN: ("amount", "days", "starts_on"),
    BadgeTemplate.WEEK_STREAK: ("count",),
    BadgeTemplate.WEEKDAYS: ("count",),
    BadgeTemplate.CATEGORIES: ("count",),
    BadgeTemplate.REFERRALS: ("count",),
}

# The built-in icons: tiers/static/tiers/badges/<key>.svg.
BUILTIN_ICONS = {
    "coffee": _("Coffee cup"), "star": _("Star"), "heart": _("Heart"), "flame": _("Flame"),
    "calendar": _("Calendar"), "trophy": _("Trophy"), "leaf": _("Leaf"), "gift": _("Gift"),
    "bag": _("Shopping bag"), "crown": _("Crown"),
}


class BadgeQuerySet(models.QuerySet):
    def for_shop(self, shop: Shop):
        return self.filter(shop=shop)


class Badge(models.Model):
    """A badge of a shop: a template with its parameters (``count`` N or K, ``amount`` X,
    ``days`` Y from ``starts_on`` for a challenge), a name, an icon and optional bonus points."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    template = models.CharField(_("kind"), max_length=20, choices=BadgeTemplate.choices)
    name = models.CharField(_("name"), max_length=60)
    icon = models.CharField(_("icon"), max_length=20, blank=True)  # a BUILTIN_ICONS key
    icon_upload = models.FileField(_("own icon"), upload_to="badges/", blank=True)
    count = models.PositiveIntegerField(_("how many"), null=True, blank=True)
    amount = models.DecimalField(_("amount"), null=True, blank=True, **MONEY)
    days = models.PositiveSmallIntegerField(_("days"), null=True, blank=True)
    starts_on = models.DateField(_("starts on"), null=True, blank=True)
    hidden = models.BooleanField(_("hidden until earned"), default=False)
    bonus_points = models.PositiveIntegerField(_("bonus points"), default=0)
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = BadgeQuerySet.as_manager()

    class Meta:
        verbose_name = _("badge")
        verbose_name_plural = _("badges")
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(template__in=BadgeTemplate.values),
                                   name="badge_template_known"),
            models.CheckConstraint(condition=Q(bonus_points__gte=0)
                                   & Q(bonus_points__lte=MAX_BADGE_BONUS),
                                   name="badge_bonus_within_limit"),
            models.CheckConstraint(
                condition=~Q(template__in=[t for t, p in TEMPLATE_PARAMETERS.items()
                                           if "count" in p])
                | Q(count__isnull=False, count__gte=1),
                name="badge_count_needed"),
            models.CheckConstraint(condition=~Q(template="weekdays") | Q(count__lte=7),
                                   name="badge_weekdays_at_most_seven"),
            models.CheckConstraint(
                condition=~Q(template__in=["spend_total", "spend_within"])
                | Q(amount__isnull=False, amount__gt=0),
                name="badge_amount_needed"),
            models.CheckConstraint(
                condition=~Q(template="spend_within")
                | Q(days__isnull=False, days__gte=1, starts_on__isnull=False),
                name="badge_challenge_has_a_window"),
            models.CheckConstraint(condition=~Q(icon="") | ~Q(icon_upload=""),
                                   name="badge_has_an_icon"),
        ]
        indexes = [models.Index(fields=["shop", "active"], name="badge_shop_active_idx")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_challenge(self) -> bool:
        return self.template == BadgeTemplate.SPEND_WITHIN


class BadgeAward(models.Model):
    """A member earned a badge, at a purchase, with its bonus entry. At most one live award per
    member and badge (the database's unique constraint); a reversed award (``revoked_at``) keeps
    its record, and the badge can be earned again."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False)
    badge = models.ForeignKey(Badge, on_delete=models.PROTECT, related_name="awards")
    membership = models.ForeignKey(Membership, on_delete=models.PROTECT,
                                   related_name="badge_awards", db_index=False)
    purchase = models.ForeignKey(Purchase, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    entry = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="+")
    earned_at = models.DateTimeField(_("earned at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("taken back at"), null=True, blank=True)
    reversal = models.OneToOneField(LedgerEntry, on_delete=models.PROTECT, null=True,
                                    blank=True, related_name="+")

    class Meta:
        verbose_name = _("badge earned")
        verbose_name_plural = _("badges earned")
        ordering = ["-earned_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "badge"],
                                    condition=Q(revoked_at__isnull=True),
                                    name="badge_award_once_per_member"),
        ]
        indexes = [models.Index(fields=["shop", "badge"], name="badge_award_shop_idx")]

    def __str__(self) -> str:
        return f"badge {self.badge_id} of {self.membership_id}"
