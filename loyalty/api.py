"""REST API v1 of the core: API-key authentication, the error shape, idempotent writes, and
purchases and refunds. Views parse input, call a service and shape the output; nothing more.

Every error answers ``{"error": {"code": "...", "message": "...", "field": "..."}}``.
"""

from __future__ import annotations

import copy
import hashlib
import inspect
import io
import json

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import get_doc
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import authentication, exceptions, permissions, serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.utils.mediatypes import media_type_matches
from rest_framework.views import APIView, exception_handler

from . import selectors, services, sql
from .access import AUDIENCE_ATTR, Audience
from .models import ApiKey, IdempotentRequest, Purchase, Refund

# --- Authentication ----------------------------------------------------------------------------


class ApiKeyPrincipal:
    """Stands in for ``request.user`` when a till or webshop calls with a key."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key

    def __str__(self) -> str:
        return str(self.api_key)


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        keyword, _sep, raw_key = header.partition(" ")
        if keyword != self.keyword or not raw_key.strip():
            raise exceptions.AuthenticationFailed(
                _("Send the header “Authorization: Api-Key <your key>”.")
            )
        api_key = selectors.api_key_for_raw_key(raw_key.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid or was revoked."))
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return self.keyword


@extend_schema_serializer(component_name="ErrorDetail")
class ErrorDetailOutput(serializers.Serializer):
    code = serializers.CharField(
        help_text="What went wrong, for programs: `invalid`, `unauthorized`, `not_found`, "
        "`member_not_found`, `conflict`, `duplicate`, `idempotency_key_missing`, "
        "`idempotency_key_reused`, `permission_denied`, `unsupported_media_type`, "
        "`parse_error`, … (new codes may appear; the status is the contract).")
    message = serializers.CharField(
        help_text="What went wrong, for people, in the caller's language (`Accept-Language`: "
        "English, Dutch or Swedish).")
    field = serializers.CharField(
        allow_null=True,
        help_text="The input it is about: a field of the body (the first one wrong), a query "
        "parameter, a header (`Idempotency-Key`) or a part of the path; null when none.")


@extend_schema_serializer(component_name="Error")
class ErrorOutput(serializers.Serializer):
    """Every error of the API, whatever its status."""

    error = ErrorDetailOutput()


# What each error status means, for the schema: every operation lists the statuses it can
# answer (ApiSchema adds the ones every operation of a kind shares; a view adds its own with
# api_errors, saying when).
ERROR_MEANINGS = {
    400: "Bad input: nothing was written. `field` names the (first) input that is wrong.",
    401: "No `Authorization: Api-Key <key>` header, or a key that is not valid or was revoked "
         "(`unauthorized`).",
    403: "This key may not do this (`permission_denied`).",
    404: "Not found at the key's shop (a key sees only its own shop).",
    409: "A conflict with what was recorded before; nothing was written.",
    406: "The `Accept` header asks for something else than JSON (`not_acceptable`).",
    415: "The body is not `application/json` (`unsupported_media_type`).",
    429: "Too many requests: wait for the seconds in `Retry-After` (`throttled`).",
}


def api_errors(when: dict[int, str]) -> dict[int, OpenApiResponse]:
    """Error answers for ``extend_schema(responses=...)``, each in the error shape: ``when``
    maps a status to when this operation answers it (after the status's general meaning)."""
    return {status_code: _error_response(status_code, text)
            for status_code, text in when.items()}


def _error_response(status_code: int, when: str = "") -> OpenApiResponse:
    description = ERROR_MEANINGS[status_code] + (f" {when}" if when else "")
    return OpenApiResponse(ErrorOutput, description=description)


class ApiSchema(AutoSchema):
    """The OpenAPI description of an operation is its view's own docstring or its method's —
    never one inherited from our base classes, which describe our code, not the API.

    Its answers include the errors that every operation of its kind can give, in the error
    shape: 401 for every operation (they all need a key), 400 and 415 for one with a JSON body
    (it may be broken, or not JSON), 404 for one with a part of the path that names something
    (``/members/{card_number}/``: an unknown one, or one of another shop), 406 for one served
    through DRF's request cycle (an ``Accept`` header without JSON), 429 when the view
    throttles. A view adds its own (``api_errors``)."""

    def get_description(self) -> str:
        method = getattr(self.view, getattr(self.view, "action", self.method.lower()), None)
        own = type(self.view).__dict__.get("__doc__")
        return get_doc(method) or (inspect.cleandoc(own) if own else "")

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response" or not isinstance(self.view, ShopApiView):
            return responses
        shared = [401]
        if self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None:
            shared += [400, 415]
        if "{" in self.path:
            shared.append(404)
        if self.method.lower() not in self.view.lean_methods:
            shared.append(406)  # DRF's content negotiation; the lean methods answer JSON
        if self.view.get_throttles():
            shared.append(429)
        for status_code in shared:
            responses.setdefault(str(status_code), self._get_response_for_code(
                _error_response(status_code), str(status_code)))
        return dict(sorted(responses.items()))


class ApiKeySchema(OpenApiAuthenticationExtension):
    target_class = "loyalty.api.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Api-Key <key>`, created by the shop owner in the dashboard."}


class HasApiKey(permissions.BasePermission):
    def has_permission(self, request, view):
        return isinstance(request.auth, ApiKey)


class ShopApiView(APIView):
    """Base of every v1 view: a key, and ``self.shop`` — the key's shop, and only that.

    ``lean_methods`` are served without DRF's request cycle — content negotiation, parser and
    renderer selection, throttle and version hooks, none of which a JSON-only API with one way
    to authenticate needs. They keep everything else: the key check, the permissions, the
    input serializers, the error shape and the answers. The earn uses it: it is the API's hot
    path, and DRF's cycle was a fifth of its CPU (docs/benchmarks.md)."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    lean_methods: tuple[str, ...] = ()

    @classmethod
    def as_view(cls, **initkwargs):
        view = super().as_view(**initkwargs)
        setattr(view, AUDIENCE_ATTR, Audience.API)
        return view

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self._shop_activate(request.auth)
        _no_nul_characters(kwargs)

    def _shop_activate(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.shop = api_key.shop
        timezone.activate(self.shop.time_zone)

    def dispatch(self, request, *args, **kwargs):
        if request.method.lower() not in self.lean_methods:
            return super().dispatch(request, *args, **kwargs)
        self.args, self.kwargs, self.request, self.headers = args, kwargs, request, {}
        try:
            found = self.get_authenticators()[0].authenticate(request)
            if found is None:
                raise exceptions.NotAuthenticated()
            request.user, request.auth = found
            for permission in self.get_permissions():
                if not permission.has_permission(request, self):
                    raise exceptions.PermissionDenied(getattr(permission, "message", None))
            self._shop_activate(request.auth)
            request.data = _json_body(request)
            response = getattr(self, request.method.lower())(request, *args, **kwargs)
        except Exception as exc:
            response = self.handle_exception(exc)
        if not isinstance(response, Response):
            return response  # already rendered (json_response)
        answer = json_response(response.data, response.status_code)
        for header, value in response.items():
            if header.lower() != "content-type":
                answer[header] = value
        return answer

    def raise_uncaught_exception(self, exc):
        if self.request.method.lower() in self.lean_methods:
            raise exc  # DRF's version reads its own Request's renderer
        super().raise_uncaught_exception(exc)


def _no_nul_characters(path_values: dict) -> None:
    """PostgreSQL's text cannot hold the character NUL (a query with one fails: a 500), and
    no card number or code has one: a part of the path with it names nothing (404). Bodies
    are checked by their serializers' fields (DRF's CharField refuses NUL), query parameters
    by the views that read them."""
    for name, value in path_values.items():
        if isinstance(value, str) and "\x00" in value:
            raise ApiError(404, "not_found", str(exceptions.NotFound.default_detail), name)


_JSON = JSONRenderer()
_JSON_PARSER = JSONParser()


def json_response(body, status_code: int) -> HttpResponse:
    """``body`` as JSON, rendered as DRF's ``JSONRenderer`` renders it, in one response object
    (a DRF ``Response`` is a template response that is rendered into itself later): for the
    answers of writes, which are always JSON. Errors still come as DRF's ``Response``."""
    return rendered_response(_JSON.render(body), status_code)


def rendered_response(content: bytes | str, status_code: int) -> HttpResponse:
    """A JSON answer whose body is already rendered."""
    return HttpResponse(content, status=status_code, content_type="application/json")


def _json_body(request) -> dict | list:
    """The body as DRF's JSONParser reads it: {} when empty, 415 for another media type, 400
    (``parse_error``) for broken JSON."""
    if not request.body:
        return {}
    if not media_type_matches(_JSON_PARSER.media_type, request.content_type or ""):
        raise exceptions.UnsupportedMediaType(request.content_type)
    return _JSON_PARSER.parse(io.BytesIO(request.body), request.content_type,
                              {"encoding": request.encoding or settings.DEFAULT_CHARSET})


# --- Errors ------------------------------------------------------------------------------------


class ApiError(exceptions.APIException):
    def __init__(self, status_code: int, code: str, message: str, field: str | None = None):
        self.status_code = status_code
        self.error = {"code": code, "message": message, "field": field}
        super().__init__(detail=message, code=code)


def error_from_validation(exc: DjangoValidationError) -> ApiError:
    """A service's ValidationError as an API error: 404 for an unknown thing, 400 otherwise."""
    if hasattr(exc, "error_dict"):
        field, errors = next(iter(exc.error_dict.items()))
        error = errors[0]
        message = " ".join(error.messages)
        code = error.code or "invalid"
    else:
        field, message, code = None, " ".join(exc.messages), exc.error_list[0].code or "invalid"
    status_code = {"not_found": 404, "member_not_found": 404, "duplicate": 409, "conflict": 409,
                   "not_allowed": 403}.get(code, 400)
    if field == "__all__":
        field = None
    return ApiError(status_code, code if code != "invalid" else "invalid", message, field)


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = error_from_validation(exc)
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = {"error": exc.error}
        return response
    field = None
    detail = response.data
    if isinstance(exc, exceptions.ValidationError) and isinstance(detail, dict | list):
        field, message = _first_error(detail)
        if field == api_settings.NON_FIELD_ERRORS_KEY:
            field = None
        code = "invalid"
    else:
        message = detail.get("detail", str(detail)) if isinstance(detail, dict) else str(detail)
        code = getattr(exc, "default_code", "error")
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            code = "unauthorized"
    response.data = {"error": {"code": code, "message": str(message), "field": field}}
    return response


def _first_error(detail, path=()):
    """The first message of DRF's nested errors, with a plain-words path:
    ``{"items": {1: {"unit_price": [...]}}}`` → ("items", "Line 2: unit_price: …")."""
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        return _first_error(value, (*path, key))
    if isinstance(detail, list) and detail:
        for index, value in enumerate(detail):
            if value:  # many=True lists hold {} for the valid items
                if isinstance(value, dict | list):
                    return _first_error(value, (*path, index))
                return _first_error(value, path)
    field = str(path[0]) if path else None
    words = []
    for part in path[1:]:
        words.append(_("Line %(n)s") % {"n": part + 1} if isinstance(part, int) else str(part))
    message = str(detail)
    return field, ": ".join([*words, message])


# --- Idempotency -------------------------------------------------------------------------------


def request_fingerprint(data) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def idempotent(request, *, shop, operation: str, perform):
    """Run ``perform() -> (status, body)`` once per Idempotency-Key: a replay with the same body
    gets the stored status and the very bytes of the stored body; the same key with another
    body, or sent to another endpoint (``operation``), gets 409: a key names one request of
    the shop.

    The work and its record commit together, in one transaction without savepoints: the
    record is written last, with the answer. A replay, or a concurrent twin, fails on a unique
    key (the work's own, or the record's after the first commits) or on a rule the first
    request's work changed (nothing left to refund); either way the transaction rolls back and
    the stored answer, if there is one, is given instead. An error leaves no record, so a
    retry runs again."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        raise ApiError(400, "idempotency_key_missing",
                       _("Send an Idempotency-Key header (for example a UUID) with every write."),
                       "Idempotency-Key")
    if len(key) > 100:
        raise ApiError(400, "invalid", _("The Idempotency-Key may be 100 characters at most."),
                       "Idempotency-Key")
    if "\x00" in key:  # PostgreSQL's text cannot hold it: storing the key failed (a 500)
        raise ApiError(400, "invalid", _("The Idempotency-Key may not contain the character "
                                         "NUL."), "Idempotency-Key")
    fingerprint = request_fingerprint(request.data)
    try:
        with transaction.atomic():
            status_code, body = perform(key)
            content = _JSON.render(body)
            sql.insert_row(IdempotentRequest, shop_id=shop.pk, key=key, operation=operation,
                           request_hash=fingerprint, status_code=status_code,
                           response=content.decode())
        return rendered_response(content, status_code)
    except Exception as exc:
        existing = IdempotentRequest.objects.filter(shop=shop, key=key).first()
        if existing is None:
            if isinstance(exc, IntegrityError | services.DuplicateRequest):
                raise _key_reused() from None
            raise
    if existing.operation != operation or existing.request_hash != fingerprint:
        raise _key_reused()  # another request, or the same body sent to another endpoint
    response = rendered_response(existing.response, existing.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _key_reused() -> ApiError:
    return ApiError(409, "idempotency_key_reused",
                    _("This Idempotency-Key was used for a different request."),
                    "Idempotency-Key")


# --- Input -------------------------------------------------------------------------------------


class InputSerializer(serializers.Serializer):
    """A serializer of a request's body that is cheaper to make.

    DRF deep-copies every declared field for each serializer it makes: each field is built
    again from deep copies of its arguments, about 5% of an earn's CPU (docs/benchmarks.md).
    Here plain fields are copied shallowly — the copy is then bound to this serializer (its
    name and parent are set on the copy, never on the declared field) and shares only what
    nothing changes after a field is declared: its validators and messages. Nested
    serializers are still deep-copied."""

    def get_fields(self):
        return {
            name: (copy.deepcopy(field) if isinstance(field, serializers.BaseSerializer)
                   else _field_copy(field))
            for name, field in self._declared_fields.items()
        }


def _field_copy(field: serializers.Field) -> serializers.Field:
    """What ``copy.copy`` makes of a field (a new object with the same attributes), without
    its generic machinery."""
    clone = object.__new__(type(field))
    clone.__dict__.update(field.__dict__)
    return clone


# --- Purchases ---------------------------------------------------------------------------------


class PurchaseItemInput(InputSerializer):
    sku = serializers.CharField(required=False, allow_blank=True, max_length=64)
    name = serializers.CharField(max_length=200)
    category = serializers.CharField(required=False, allow_blank=True, max_length=100)
    quantity = serializers.CharField(required=False, default="1")
    unit_price = serializers.CharField()


class PurchaseInput(InputSerializer):
    member = serializers.CharField(allow_null=True, allow_blank=True, required=False,
                                   default=None,
                                   help_text="The member's card number, or null for no card.")
    amount = serializers.CharField(help_text='Decimal string, e.g. "27.50".')
    currency = serializers.CharField(required=False, max_length=3)
    reference = serializers.CharField(required=False, allow_blank=True, default="")
    items = PurchaseItemInput(many=True, required=False, default=list)
    round_up = serializers.BooleanField(required=False, default=False, help_text=(
        "The customer rounds the amount up to the next whole unit for the shop's charity (an "
        "exact amount is not rounded). Only where the shop's charity program is on."))
    donation_amount = serializers.CharField(
        required=False, allow_null=True, default=None, max_length=20, help_text=(
            'Or the customer gives this amount to the shop\'s charity (decimal string, e.g. '
            '"1.00"), up to the shop\'s largest round-up; not together with `round_up`.'))
    donation_currency = serializers.CharField(
        required=False, allow_null=True, default=None, max_length=3, help_text=(
            "The currency of `donation_amount`; it must be the shop's (the default)."))

    def extras(self) -> dict:
        """What the purchase asks of the effects (the charity's round-up), when anything."""
        values = self.validated_data
        extras = {}
        if values.get("round_up"):
            extras["round_up"] = True
        if values.get("donation_amount") is not None:
            extras["donation_amount"] = values["donation_amount"]
        if values.get("donation_currency") is not None:
            extras["donation_currency"] = values["donation_currency"]
        return extras


class BonusOutput(serializers.Serializer):
    source = serializers.ChoiceField(choices=["level", "event"])
    name = serializers.CharField(help_text="The level's or the event's name.")
    points = serializers.IntegerField(help_text="The extra points it gave.")
    multiplier = serializers.CharField(required=False, help_text=(
        "The level's or the event's multiplier as it was then, e.g. \"1.25\" (absent for an "
        "event of fixed extra points)."))


class NewsOutput(serializers.Serializer):
    # Documentation only (purchase_body builds the answer): the kinds the purchase effects
    # write — the levels' and badges' (tiers) and the charity's.
    kind = serializers.ChoiceField(choices=["level_up", "badge", "donation"], help_text=(
        "`level_up`: a level reached; `badge`: a badge earned; `donation`: what was given to "
        "charity."))
    text = serializers.CharField(help_text=(
        "In the member's words, in the shop's language, e.g. \"New badge: First visit\" "
        "(a badge's bonus points, pending like the purchase's, are in `balance`, not in "
        "`points_earned`)."))


class DonationOutput(serializers.Serializer):
    shop_share = serializers.CharField(help_text=(
        'What the shop gives by its program\'s rule, e.g. "0.55" (within its monthly cap).'))
    round_up = serializers.CharField(help_text=(
        "What the customer gave: the round-up or the `donation_amount` asked (\"0.00\": none)."))
    currency = serializers.CharField()
    charity = serializers.CharField(allow_null=True, help_text=(
        "The charity's name; null when the gift was split evenly (see `charities`) or nothing "
        "was given."))
    charities = serializers.ListField(child=serializers.CharField(), help_text=(
        "The names of every charity the gift went to."))


class PurchaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    member = serializers.CharField(allow_null=True)
    amount = serializers.CharField()
    currency = serializers.CharField()
    reference = serializers.CharField()
    points_earned = serializers.IntegerField()
    points_available_at = serializers.DateTimeField()
    balance = serializers.IntegerField(allow_null=True)
    rules_version = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    bonuses = BonusOutput(many=True, help_text=(
        "What made `points_earned` more than the rate gives: the member's level multiplier and "
        "the bonus-point events on at the time of the purchase. Empty when only the rate "
        "applied; `points_earned` includes them."))
    level = serializers.CharField(allow_null=True, help_text=(
        "The member's level after this purchase (empty string: no level; null: no card)."))
    news = NewsOutput(many=True, help_text=(
        "What this purchase achieved beyond its points, to tell the customer: a level reached "
        "(`level_up`), a badge earned (`badge`), what was given to charity (`donation`)."))
    earns_points = serializers.BooleanField(help_text=(
        "false: this shop gives to charity instead of points (`points_earned` is 0; say "
        "\"no points: this shop gives to charity\" where points would be shown)."))
    donation = DonationOutput(allow_null=True, help_text=(
        "What this purchase gave to the shop's charity: the shop's share and the customer's "
        "round-up. null when the shop's charity program is off (always there, never left "
        "out)."))


def purchase_body(purchase: Purchase) -> dict:
    """PurchaseOutput's fields, built directly: this answers every earn, the API's hot path."""
    membership = purchase.membership
    return {
        "id": purchase.pk, "member": membership.card_number if membership else None,
        "amount": str(purchase.amount), "currency": purchase.currency,
        "reference": purchase.reference, "points_earned": purchase.points_earned,
        "points_available_at": _datetime_out(purchase.points_available_at),
        "balance": membership.points_balance if membership else None,
        "rules_version": purchase.rules.version,
        "created_at": _datetime_out(purchase.created_at),
        "bonuses": (purchase.earn_detail or {}).get("parts", []),
        "level": membership.level_name if membership else None,
        "news": [{"kind": item["kind"], "text": str(item["text"])}
                 for item in getattr(purchase, "news", ())],
        "earns_points": purchase.shop.earns_points,
        # Set by the charity app's purchase effect (a dict of DonationOutput's fields).
        "donation": getattr(purchase, "donation", None),
    }


def _datetime_out(value):
    """As DRF's DateTimeField shows it (ISO 8601 in the active zone, "Z" for UTC), cheaper."""
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class PurchasesView(ShopApiView):
    lean_methods = ("post",)

    @extend_schema(
        request=PurchaseInput,
        responses={201: PurchaseOutput, **api_errors({
            400: "For example an amount that is not a number with at most two decimals, "
                 "another currency than the shop's, or no `Idempotency-Key` "
                 "(`idempotency_key_missing`). A refused gift to charity: a round-up or "
                 "`donation_amount` over the shop's largest (`too_large`), in another "
                 "currency (`currency`), both at once, or to a shop without the program "
                 "(`no_donations`); nothing is written, no purchase and no points either.",
            404: "No member with this card number (`member_not_found`, `field`: `member`).",
            409: "The `Idempotency-Key` was used for another request "
                 "(`idempotency_key_reused`), or the card cannot hold more points "
                 "(`conflict`).",
        })},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     required=True)],
        summary="Record a purchase and credit its points",
    )
    def post(self, request):
        """Points follow the shop's rules in force; the answer says which version. `member`
        null (or an empty string) records a sale without a card. Send an `Idempotency-Key` (a
        UUID, say) with every purchase: sending it again with the same body answers the same,
        with `Idempotent-Replayed: true`, and records nothing; the same key with another body,
        or used before on another endpoint, is a 409."""
        data = PurchaseInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data

        def perform(key):
            purchase = services.purchase_record(
                shop=self.shop, amount=values["amount"], currency=values.get("currency"),
                card_number=values["member"] or None, reference=values["reference"],
                items=values["items"], api_key=self.api_key, idempotency_key=f"api:{key}",
                in_transaction=True, extras=data.extras(),
            )
            return status.HTTP_201_CREATED, purchase_body(purchase)

        try:
            return idempotent(request, shop=self.shop, operation="purchase", perform=perform)
        except DjangoValidationError as exc:
            raise _donation_field_named(exc, values) from None



def _donation_field_named(exc: DjangoValidationError, values: dict) -> DjangoValidationError:
    """A refused gift names the body's field it is about: the effect says ``round_up``,
    which is ``donation_amount`` (or ``donation_currency``) when the caller sent those."""
    errors = getattr(exc, "error_dict", {}).get("round_up")
    if not errors or values.get("donation_amount") is None and (
            values.get("donation_currency") is None):
        return exc
    field = ("donation_currency" if errors[0].code == "currency" else "donation_amount")
    if values.get("round_up") and errors[0].code not in ("currency",):
        field = "round_up"
    return DjangoValidationError({field: errors})


class RefundInput(InputSerializer):
    amount = serializers.CharField()
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class RefundOutput(serializers.Serializer):
    id = serializers.IntegerField()
    purchase = serializers.IntegerField()
    amount = serializers.CharField()
    points_reversed = serializers.IntegerField()
    points_shortfall = serializers.IntegerField()
    balance = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()


def refund_body(refund: Refund, balance: int | None) -> dict:
    return RefundOutput({
        "id": refund.pk, "purchase": refund.purchase_id, "amount": str(refund.amount),
        "points_reversed": refund.points_reversed, "points_shortfall": refund.points_shortfall,
        "balance": balance, "created_at": refund.created_at,
    }).data


class RefundsView(ShopApiView):
    @extend_schema(
        request=RefundInput,
        responses={201: RefundOutput, **api_errors({
            400: "For example more than what is left to refund of the purchase, or no "
                 "`Idempotency-Key` (`idempotency_key_missing`).",
            404: "No purchase with this id at the key's shop (`not_found`).",
            409: "The `Idempotency-Key` was used for another request "
                 "(`idempotency_key_reused`).",
        })},
        parameters=[OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER,
                                     required=True)],
        summary="Refund (part of) a purchase and take back its points",
    )
    def post(self, request, purchase_id: int):
        """Takes back the points in proportion; points already spent are not taken below zero
        (the answer's `points_shortfall`). Idempotent, like a purchase."""
        data = RefundInput(data=request.data)
        data.is_valid(raise_exception=True)

        def perform(key):
            refund = services.purchase_refund(
                shop=self.shop, purchase_id=purchase_id, api_key=self.api_key,
                idempotency_key=key, **data.validated_data,
            )
            membership = refund.purchase.membership
            if membership is not None:
                membership.refresh_from_db(fields=["points_balance"])
            return status.HTTP_201_CREATED, refund_body(
                refund, membership.points_balance if membership else None
            )

        return idempotent(request, shop=self.shop, operation=f"refund:{purchase_id}",
                          perform=perform)
