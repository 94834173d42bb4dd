"""URLs of the rewards app: catalogue (dashboard), counter, portal, and the rewards API."""

from django.urls import path

from . import api
from .views import counter, dashboard, portal, public

urlpatterns = [
    path("dashboard/<slug:shop_slug>/rewards/", dashboard.catalogue, name="rewards_catalogue"),
    path("dashboard/<slug:shop_slug>/rewards/new/", dashboard.reward_create,
         name="rewards_create"),
    path("dashboard/<slug:shop_slug>/rewards/<int:reward_id>/", dashboard.reward_edit,
         name="rewards_edit"),
    path("dashboard/<slug:shop_slug>/rewards/<int:reward_id>/delete/", dashboard.reward_delete,
         name="rewards_delete"),
    path("dashboard/<slug:shop_slug>/rewards/<int:reward_id>/move/", dashboard.reward_move,
         name="rewards_move"),
    path("dashboard/<slug:shop_slug>/rewards/<int:reward_id>/toggle/", dashboard.reward_toggle,
         name="rewards_toggle"),
    path("dashboard/<slug:shop_slug>/members/<str:card_number>/vouchers/",
         dashboard.member_vouchers, name="rewards_member_vouchers"),
    path("dashboard/<slug:shop_slug>/vouchers/<int:voucher_id>/cancel/",
         dashboard.voucher_cancel, name="rewards_voucher_cancel"),
    path("counter/<slug:shop_slug>/vouchers/", counter.voucher_lookup, name="counter_voucher"),
    path("counter/<slug:shop_slug>/vouchers/<str:code>/use/", counter.voucher_use,
         name="counter_voucher_use"),
    path("counter/<slug:shop_slug>/members/<str:card_number>/rewards/", counter.member_rewards,
         name="counter_member_rewards"),
    path("counter/<slug:shop_slug>/members/<str:card_number>/redeem/", counter.member_redeem,
         name="counter_member_redeem"),
    path("counter/<slug:shop_slug>/members/<str:card_number>/pay-with-points/",
         counter.member_pay_with_points, name="counter_member_pay"),
    path("portal/<slug:shop_slug>/rewards/", portal.rewards, name="portal_rewards"),
    path("portal/<slug:shop_slug>/rewards/<int:reward_id>/claim/", portal.claim,
         name="portal_claim"),
    path("portal/<slug:shop_slug>/vouchers/<str:code>/", portal.voucher, name="portal_voucher"),
    path("portal/<slug:shop_slug>/vouchers/<str:code>/cancel/", portal.cancel,
         name="portal_voucher_cancel"),
    path("s/<slug:shop_slug>/rewards/", public.public_rewards, name="public_rewards"),
    path("api/v1/rewards/", api.RewardsView.as_view(), name="api-rewards"),
    path("api/v1/rewards/<int:reward_id>/", api.RewardDetailView.as_view(), name="api-reward"),
    path("api/v1/redemptions/", api.RedemptionsView.as_view(), name="api-redemptions"),
    path("api/v1/vouchers/<str:code>/use", api.VoucherUseView.as_view(), name="api-voucher-use"),
]
