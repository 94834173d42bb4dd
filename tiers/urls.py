"""URLs of the levels app: the owner's page, a member's level on the dashboard, the portal."""

from django.urls import path

from .views import dashboard, dashboard_member, portal

urlpatterns = [
    path("dashboard/<slug:shop_slug>/levels/", dashboard.levels, name="tiers_levels"),
    path("dashboard/<slug:shop_slug>/members/<str:card_number>/level/",
         dashboard_member.member_level, name="tiers_member_level"),
    path("portal/<slug:shop_slug>/levels/", portal.levels, name="portal_levels"),
]
