"""URLs of the levels app: the owner's page, the member's page and the API-free fragments."""

from django.urls import path

from .views import dashboard, portal

urlpatterns = [
    path("dashboard/<slug:shop_slug>/levels/", dashboard.levels, name="tiers_levels"),
    path("portal/<slug:shop_slug>/levels/", portal.levels, name="portal_levels"),
]
