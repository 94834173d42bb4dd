"""REST API v1 for members: enrol, look up, and read a card's balance."""

from __future__ import annotations

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from loyalty import selectors
from loyalty.api import ApiError, InputSerializer, ShopApiView, api_errors
from loyalty.models import Language, MembershipSource

from . import services

LOOKUP_LIMIT = 20


class MemberInput(InputSerializer):
    name = serializers.CharField(max_length=150)
    email = serializers.CharField(required=False, allow_blank=True, default="")
    phone = serializers.CharField(
        required=False, allow_blank=True, default="",
        help_text="In any form (06 1234 5678, +31 6 1234 5678, 0031 6 1234 5678): a number "
                  "without a country code is read as one of the shop's country. Stored and "
                  "answered in E.164 (+31612345678); a number that cannot be called is a 400.")
    birthday = serializers.DateField(required=False, allow_null=True, default=None)
    language = serializers.ChoiceField(choices=Language.values, required=False)
    marketing_consent = serializers.BooleanField(required=False, default=False)


class LevelProgressOutput(serializers.Serializer):
    next_level = serializers.CharField(help_text="The next level's name.")
    left = serializers.CharField(help_text=(
        "What is left to reach it, in the member's terms and the shop's language: "
        "\"€42.50 or 3 visits more\"."))
    percent = serializers.IntegerField(min_value=0, max_value=100)


class LevelOutput(serializers.Serializer):
    name = serializers.CharField(help_text="The member's level; empty below the first one.")
    colour = serializers.CharField(help_text="The level's colour (#rrggbb), or empty.")
    multiplier = serializers.CharField(help_text="Its earn multiplier, e.g. \"1.25\".")
    progress = LevelProgressOutput(allow_null=True, help_text=(
        "How far the member is from the next level; null at the top level."))


class MemberOutput(serializers.Serializer):
    card_number = serializers.CharField()
    name = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField(
        help_text="E.164 (+31612345678), or empty for a member without a phone number. A "
                  "number stored before E.164 that could not be read keeps its old form.")
    language = serializers.CharField()
    balance = serializers.IntegerField()
    joined_at = serializers.DateTimeField()
    level = LevelOutput(allow_null=True, help_text="Null when the shop has no levels (tiers).")


class MemberListOutput(serializers.Serializer):
    results = MemberOutput(many=True, help_text=f"At most {LOOKUP_LIMIT} members.")


def _levels_progress(shop, memberships) -> dict[int, dict | None]:
    """From the app named in settings.TROUW_LEVEL_PROGRESS, each card's progress to the next
    level at once (a constant number of queries for a page); empty without one."""
    path = settings.TROUW_LEVEL_PROGRESS
    return import_string(path)(shop=shop, memberships=memberships) if path else {}


def _level_body(membership, progress: dict | None) -> dict | None:
    """The card's level (held on the card by the tiers app) and its progress to the next one;
    None without levels."""
    if not membership.level_name and progress is None:
        return None
    return {"name": membership.level_name, "colour": membership.level_colour,
            "multiplier": str(membership.level_multiplier), "progress": progress}


def member_body(membership, progress: dict | None) -> dict:
    return MemberOutput({
        "card_number": membership.card_number, "name": membership.name,
        "email": membership.email, "phone": membership.phone,
        "language": membership.language, "balance": membership.points_balance,
        "joined_at": membership.joined_at, "level": _level_body(membership, progress),
    }).data


def member_bodies(shop, memberships) -> list[dict]:
    memberships = list(memberships)
    progress = _levels_progress(shop, memberships)
    return [member_body(m, progress.get(m.pk)) for m in memberships]


class MembersView(ShopApiView):
    @extend_schema(
        parameters=[OpenApiParameter(
            "q", {"type": "string", "minLength": 3}, required=True,
            description="The start of a phone number in any form (06 12…, +31 6 12…, "
                        "0031 6 12…; at least three digits after the country code or the 0; "
                        "encode the + as %2B) or of a card number (at least four digits, "
                        "spaces allowed); or part of a name or e-mail address (at least 3 "
                        "characters).")],
        responses={200: MemberListOutput, **api_errors({
            400: "`q` is missing or shorter than 3 characters (`invalid`, `field`: `q`).",
        })},
        summary="Look up members", operation_id="v1_members_list",
    )
    def get(self, request):
        query = request.query_params.get("q", "").strip()
        if len(query) < 3:
            raise ApiError(400, "invalid", _("Send q with at least 3 characters."), "q")
        if "\x00" in query:  # PostgreSQL's text cannot hold it: the search failed (a 500)
            raise ApiError(400, "invalid", _("q may not contain the character NUL."), "q")
        members = selectors.membership_search(shop=self.shop, query=query)[:LOOKUP_LIMIT]
        return Response({"results": member_bodies(self.shop, members)})

    @extend_schema(request=MemberInput, responses={201: MemberOutput, **api_errors({
        409: "A member of this shop has this e-mail address or phone number already "
             "(`duplicate`).",
    })}, summary="Enrol a member")
    def post(self, request):
        data = MemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        membership = services.member_enrol(shop=self.shop, source=MembershipSource.API,
                                           **data.validated_data)
        membership.refresh_from_db(fields=["points_balance"])
        return Response(member_bodies(self.shop, [membership])[0],
                        status=status.HTTP_201_CREATED)


class MemberDetailView(ShopApiView):
    @extend_schema(responses={200: MemberOutput, **api_errors({
        404: "No member with this card number (`member_not_found`).",
    })}, summary="A member's card and balance")
    def get(self, request, card_number: str):
        membership = selectors.membership_by_card(shop=self.shop, card_number=card_number)
        if membership is None:
            raise ApiError(404, "member_not_found", _("No member with this card number."),
                           "card_number")
        return Response(member_bodies(self.shop, [membership])[0])
