"""URLs of the customer side: shop pages, the portal, and the members API."""

from django.urls import include, path

from . import api
from .views import counter, portal, public, unsubscribe

portal_patterns = [
    path("", portal.index, name="index"),
    path("<slug:shop_slug>/", portal.card, name="card"),
    path("<slug:shop_slug>/how-it-works/", portal.how_it_works, name="how_it_works"),
    path("<slug:shop_slug>/birthday/", portal.birthday, name="birthday"),
]

urlpatterns = [
    path("s/<slug:shop_slug>/", public.shop_page, name="shop_page"),
    path("s/<slug:shop_slug>/joined/", public.joined, name="shop_joined"),
    path("s/<slug:shop_slug>/privacy/", public.privacy, name="shop_privacy"),
    path("s/<slug:shop_slug>/theme.css", public.theme_css, name="shop_theme"),
    path("unsubscribe/<str:token>/", unsubscribe.unsubscribe, name="member_unsubscribe"),
    path("portal/", include((portal_patterns, "portal"))),
    path("counter/<slug:shop_slug>/enrol/", counter.enrol, name="counter_enrol"),
    path("api/v1/members/", api.MembersView.as_view(), name="api-members"),
    path("api/v1/members/<str:card_number>/", api.MemberDetailView.as_view(),
         name="api-member"),
]
