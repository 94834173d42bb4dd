"""URLs of the charity app: the owner's program, charities and monthly statements; the member's
charity and impact in the portal; the shop's public impact page and its panel."""

from django.urls import path

from .views import counter, dashboard, portal, public

urlpatterns = [
    path("dashboard/<slug:shop_slug>/charity/", dashboard.program, name="charity_program"),
    path("dashboard/<slug:shop_slug>/charity/charities/new/", dashboard.charity_create,
         name="charity_create"),
    path("dashboard/<slug:shop_slug>/charity/charities/<int:charity_id>/",
         dashboard.charity_edit, name="charity_edit"),
    path("dashboard/<slug:shop_slug>/charity/months/", dashboard.months, name="charity_months"),
    path("dashboard/<slug:shop_slug>/charity/months/<str:month>/", dashboard.month,
         name="charity_month"),
    path("dashboard/<slug:shop_slug>/charity/months/<str:month>/close/", dashboard.month_close,
         name="charity_month_close"),
    path("dashboard/<slug:shop_slug>/charity/months/<str:month>/statements.csv",
         dashboard.month_csv, name="charity_month_csv"),
    path("dashboard/<slug:shop_slug>/charity/months/<str:month>/print/",
         dashboard.month_print, name="charity_month_print"),
    path("dashboard/<slug:shop_slug>/charity/statements/<int:statement_id>/paid/",
         dashboard.statement_paid, name="charity_statement_paid"),
    path("dashboard/<slug:shop_slug>/charity/gifts/<int:donation_id>/reverse/",
         dashboard.points_gift_reverse, name="charity_points_gift_reverse"),
    path("dashboard/<slug:shop_slug>/members/<str:card_number>/charity/",
         dashboard.member_panel, name="charity_member_panel"),
    path("portal/<slug:shop_slug>/charity/", portal.charity, name="portal_charity"),
    path("portal/<slug:shop_slug>/impact/", portal.impact, name="portal_impact"),
    path("portal/<slug:shop_slug>/impact/<int:year>/", portal.impact_year,
         name="portal_impact_year"),
    path("portal/<slug:shop_slug>/impact/give-points/", portal.points_give,
         name="portal_points_give"),
    path("s/<slug:shop_slug>/impact/", public.impact, name="charity_public_impact"),
    path("s/<slug:shop_slug>/impact/panel/", public.impact_panel, name="charity_public_panel"),
    path("counter/<slug:shop_slug>/members/<str:card_number>/charity/", counter.member_charity,
         name="counter_member_charity"),
    path("counter/<slug:shop_slug>/members/<str:card_number>/charity/choose/",
         counter.member_charity_choose, name="counter_member_charity_choose"),
]
