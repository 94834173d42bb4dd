"""Trouw's URLs: four front doors (public, dashboard, counter, portal), the API and the admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language
from drf_spectacular.views import SpectacularAPIView

from . import api
from .access import public_view
from .views import api_docs, birthdays, bonus_events, counter, dashboard, errors, public

dashboard_patterns = [
    path("", dashboard.index, name="index"),
    path("shops/new/", dashboard.shop_create, name="shop_create"),
    path("<slug:shop_slug>/", dashboard.overview, name="overview"),
    path("<slug:shop_slug>/settings/", dashboard.shop_settings, name="settings"),
    path("<slug:shop_slug>/staff/", dashboard.staff, name="staff"),
    path("<slug:shop_slug>/staff/invite/", dashboard.staff_invite, name="staff_invite"),
    path("<slug:shop_slug>/staff/invitations/<int:invitation_id>/revoke/",
         dashboard.staff_invitation_revoke, name="staff_invitation_revoke"),
    path("<slug:shop_slug>/staff/<int:staff_id>/active/", dashboard.staff_set_active,
         name="staff_set_active"),
    path("<slug:shop_slug>/members/", dashboard.members, name="members"),
    path("<slug:shop_slug>/members/<str:card_number>/", dashboard.member_detail, name="member"),
    path("<slug:shop_slug>/program/", dashboard.program, name="program"),
    path("<slug:shop_slug>/program/example/", dashboard.program_example, name="program_example"),
    path("<slug:shop_slug>/birthday/", birthdays.birthday_gift, name="birthday"),
    path("<slug:shop_slug>/bonus-points/", bonus_events.bonus_events, name="bonus_events"),
    path("<slug:shop_slug>/api-keys/", dashboard.api_keys, name="api_keys"),
    path("<slug:shop_slug>/api-keys/<int:api_key_id>/revoke/", dashboard.api_key_revoke,
         name="api_key_revoke"),
    path("<slug:shop_slug>/poster/", dashboard.poster, {"size": "a4"}, name="poster"),
    path("<slug:shop_slug>/poster/table-card/", dashboard.poster, {"size": "a6"},
         name="table_card"),
]

counter_patterns = [
    path("", counter.index, name="index"),
    path("<slug:shop_slug>/", counter.screen, name="screen"),
    path("<slug:shop_slug>/sale/", counter.sale_without_card, name="sale"),
    path("<slug:shop_slug>/members/<str:card_number>/", counter.member, name="member"),
    path("<slug:shop_slug>/members/<str:card_number>/earn/", counter.earn, name="earn"),
    path("<slug:shop_slug>/members/<str:card_number>/donation-offer/", counter.donation_offer,
         name="donation_offer"),
    path("<slug:shop_slug>/members/<str:card_number>/stamp-card/", counter.stamp_card_redeem,
         name="stamp_card_redeem"),
    path("<slug:shop_slug>/purchases/<int:purchase_id>/undo/", counter.undo, name="undo"),
]

urlpatterns = [
    # First: every till purchase resolves this URL, so it is not tried after all the pages.
    path("api/v1/purchases/", api.PurchasesView.as_view(), name="api-purchases"),
    path("api/v1/purchases/<int:purchase_id>/refunds/", api.RefundsView.as_view(),
         name="api-refunds"),
    path("", public.home, name="home"),
    path("healthz", public.healthz, name="healthz"),
    path("robots.txt", public.robots_txt, name="robots_txt"),
    path("start/", public.start, name="start"),
    path("invite/<str:token>/", public.staff_invitation_accept, name="staff_invitation_accept"),
    path("dashboard/", include((dashboard_patterns, "dashboard"))),
    path("counter/", include((counter_patterns, "counter"))),
    # The customer side lives in members/ (loyalty does not import it; the URLconf includes it).
    path("", include("members.urls")),
    path("", include("rewards.urls")),
    path("", include("tiers.badges.urls")),
    path("", include("tiers.urls")),
    path("", include("charity.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", public_view(set_language), name="set_language"),
    path("api/schema/", public_view(SpectacularAPIView.as_view()), name="api-schema"),
    path("api/docs/", public_view(api_docs.ApiDocsView.as_view(url_name="api-schema")),
         name="api-docs"),
    path("admin/", admin.site.urls),
]

# JSON in the API's error shape under /api/v1/, Django's HTML pages elsewhere.
handler404 = errors.page_not_found
handler500 = errors.server_error

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
