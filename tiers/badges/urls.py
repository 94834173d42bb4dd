"""URLs of badges: the owner's pages (dashboard) and the member's achievements (portal)."""

from django.urls import path

from . import views

urlpatterns = [
    path("dashboard/<slug:shop_slug>/badges/", views.badges_list, name="badges_list"),
    path("dashboard/<slug:shop_slug>/badges/new/", views.badge_create, name="badges_create"),
    path("dashboard/<slug:shop_slug>/badges/<int:badge_id>/", views.badge_edit,
         name="badges_edit"),
    path("dashboard/<slug:shop_slug>/badges/<int:badge_id>/toggle/", views.badge_toggle,
         name="badges_toggle"),
    path("portal/<slug:shop_slug>/achievements/", views.achievements,
         name="portal_achievements"),
]
