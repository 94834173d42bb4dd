"""REST API v1 for rewards: the catalogue (manage keys write it), redemptions and vouchers."""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.response import Response

from loyalty import selectors as loyalty_selectors
from loyalty import services as loyalty_services
from loyalty.api import ApiError, InputSerializer, ShopApiView, api_errors, idempotent
from loyalty.models import ApiKeyScope

from . import services
from .models import LimitPeriod, Reward, RewardKind


class ManageScope(permissions.BasePermission):
    # Lazy: translated per request, in the caller's language, not once at import.
    message = gettext_lazy("This API key may not change the catalogue: it needs the “manage” "
                           "scope.")

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or (
            request.auth is not None and request.auth.scope == ApiKeyScope.MANAGE)


def _date_in_our_era(value):
    """Before 1940 a shop's zone may have an offset with seconds (Amsterdam's was +00:19:32),
    which the answer's ISO 8601 time cannot carry, and near the year 9999 a zone's offset
    overflows: 2000–2100 is what an availability window needs."""
    if value is not None and not 2000 <= value.year <= 2100:
        raise serializers.ValidationError(_("Give a date between the years 2000 and 2100."))


class RewardInput(InputSerializer):
    """The same fields and validation as the dashboard's form (the service checks them)."""

    kind = serializers.ChoiceField(choices=RewardKind.values)
    name = serializers.CharField(max_length=100)
    description = serializers.CharField(required=False, allow_blank=True, max_length=1000)
    points_cost = serializers.IntegerField()
    value_amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False,
                                            allow_null=True)
    value_percent = serializers.IntegerField(required=False, allow_null=True)
    product_name = serializers.CharField(required=False, allow_blank=True, max_length=100)
    active = serializers.BooleanField(required=False)
    display_order = serializers.IntegerField(required=False, min_value=0)
    available_from = serializers.DateTimeField(required=False, allow_null=True,
                                               validators=[_date_in_our_era])
    available_until = serializers.DateTimeField(required=False, allow_null=True,
                                                validators=[_date_in_our_era])
    stock_total = serializers.IntegerField(required=False, allow_null=True)
    limit_per_member = serializers.IntegerField(required=False, allow_null=True)
    limit_period = serializers.ChoiceField(choices=LimitPeriod.values, required=False)
    min_tier_level = serializers.IntegerField(required=False, allow_null=True, help_text=(
        "The lowest level that may claim it, by rank (1 for the shop's lowest level); null "
        "for everyone. A rank the shop's levels do not have is a 400."))
    voucher_valid_days = serializers.IntegerField(required=False, min_value=1)


class RewardOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    points_cost = serializers.IntegerField()
    value_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    value_percent = serializers.IntegerField(allow_null=True)
    product_name = serializers.CharField()
    active = serializers.BooleanField()
    display_order = serializers.IntegerField()
    available_from = serializers.DateTimeField(allow_null=True)
    available_until = serializers.DateTimeField(allow_null=True)
    stock_total = serializers.IntegerField(allow_null=True)
    stock_left = serializers.IntegerField(allow_null=True)
    limit_per_member = serializers.IntegerField(allow_null=True)
    limit_period = serializers.CharField()
    min_tier_level = serializers.IntegerField(allow_null=True)
    voucher_valid_days = serializers.IntegerField()


class RewardListOutput(serializers.Serializer):
    results = RewardOutput(many=True, help_text="The whole catalogue, in display order.")


_TILL_KEY = {403: "A `till` key: changing the catalogue needs a key with the `manage` scope."}


class RewardsView(ShopApiView):
    permission_classes = [*ShopApiView.permission_classes, ManageScope]

    @extend_schema(responses={200: RewardListOutput}, summary="The rewards catalogue",
                   operation_id="v1_rewards_list")
    def get(self, request):
        rewards = Reward.objects.for_shop(self.shop).order_by("display_order", "pk")
        return Response({"results": RewardOutput(rewards, many=True).data})

    @extend_schema(request=RewardInput, responses={201: RewardOutput, **api_errors(_TILL_KEY)},
                   summary="Add a reward (manage scope)")
    def post(self, request):
        data = RewardInput(data=request.data)
        data.is_valid(raise_exception=True)
        reward = services.reward_create(shop=self.shop, **data.validated_data)
        return Response(RewardOutput(reward).data, status=status.HTTP_201_CREATED)


class RewardDetailView(ShopApiView):
    permission_classes = [*ShopApiView.permission_classes, ManageScope]

    @extend_schema(responses={200: RewardOutput, **api_errors({
        404: "No reward with this id at the key's shop (`not_found`)."})}, summary="A reward")
    def get(self, request, reward_id: int):
        reward = Reward.objects.for_shop(self.shop).filter(pk=reward_id).first()
        if reward is None:
            raise ApiError(404, "not_found", _("No such reward at this shop."), "reward")
        return Response(RewardOutput(reward).data)

    @extend_schema(request=RewardInput(partial=True), responses={
        200: RewardOutput, **api_errors({
            **_TILL_KEY, 404: "No reward with this id at the key's shop (`not_found`)."})},
        summary="Change a reward (manage scope)")
    def patch(self, request, reward_id: int):
        data = RewardInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        reward = services.reward_update(shop=self.shop, reward_id=reward_id,
                                        **data.validated_data)
        return Response(RewardOutput(reward).data)


class RedemptionInput(InputSerializer):
    member = serializers.CharField(help_text="The member's card number.")
    reward = serializers.IntegerField()


class VoucherOutput(serializers.Serializer):
    code = serializers.CharField()
    status = serializers.CharField()
    reward = serializers.IntegerField(source="reward_id")
    reward_name = serializers.CharField(source="reward.name")
    member = serializers.CharField(source="membership.card_number")
    points_spent = serializers.IntegerField()
    balance = serializers.IntegerField(source="membership.points_balance")
    expires_at = serializers.DateTimeField()
    used_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class RedemptionsView(ShopApiView):
    @extend_schema(
        request=RedemptionInput, responses={201: VoucherOutput, **api_errors({
            400: "For example too few points on the card, a reward that is not available "
                 "(`unavailable`), a reward for a higher level than the member's "
                 "(`level_too_low`), the member's limit for it reached (`limit_reached`), or "
                 "no `Idempotency-Key` (`idempotency_key_missing`).",
            404: "No member with this card number (`member_not_found`, `field`: `member`), or "
                 "no such reward at the shop (`not_found`, `field`: `reward`).",
            409: "The `Idempotency-Key` was used for another request "
                 "(`idempotency_key_reused`).",
        })},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     required=True)],
        summary="Claim a reward for a member: points off, a voucher issued",
    )
    def post(self, request):
        data = RedemptionInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = loyalty_selectors.membership_by_card(
            shop=self.shop, card_number=data.validated_data["member"])
        if membership is None:
            raise ApiError(404, "member_not_found", _("No member with this card number."),
                           "member")

        def perform(key):
            try:
                voucher = services.voucher_claim(
                    shop=self.shop, membership_id=membership.pk,
                    reward_id=data.validated_data["reward"], actor_api_key=self.api_key,
                    idempotency_key=f"api:{key}",
                )
            except loyalty_services.DuplicateRequest:
                raise ApiError(409, "idempotency_key_reused",
                               _("This Idempotency-Key was used for a different request."),
                               "Idempotency-Key") from None
            voucher.membership.refresh_from_db(fields=["points_balance"])
            return status.HTTP_201_CREATED, VoucherOutput(voucher).data

        return idempotent(request, shop=self.shop, operation="redemption", perform=perform)


class VoucherUseView(ShopApiView):
    @extend_schema(request=None, responses={200: VoucherOutput, **api_errors({
        404: "No voucher with this code at the key's shop (`not_found`).",
        409: "The voucher was used, has expired or was cancelled (`conflict`); `message` says "
             "which.",
    })}, summary="Use a voucher (once); 409 when used, expired or cancelled")
    def post(self, request, code: str):
        voucher = services.voucher_use(shop=self.shop, code=code, actor_api_key=self.api_key)
        return Response(VoucherOutput(voucher).data)
