"""loyalty.api.InputSerializer: cheaper copies of the declared fields, the same validation."""

from __future__ import annotations

import copy
import threading

import pytest
from rest_framework import serializers

from loyalty.api import InputSerializer, PurchaseInput, RefundInput
from members.api import MemberInput
from rewards.api import RedemptionInput, RewardInput


def plain_twin(serializer_class):
    """The same declared fields on DRF's own Serializer (deep copies for every instance)."""
    fields = copy.deepcopy(serializer_class._declared_fields)
    return type(f"Plain{serializer_class.__name__}", (serializers.Serializer,), fields)


CASES = [
    {"member": "1234", "amount": "27.50", "currency": "EUR", "reference": "R-1"},
    {"amount": "10"},
    {"member": None, "amount": "5.00", "items": [{"name": "Brood", "unit_price": "2.50"}]},
    {},
    {"amount": ""},
    {"amount": "1", "currency": "EURO"},
    {"amount": "1", "items": [{"name": "ok", "unit_price": "1"}, {"unit_price": "1"}]},
    {"amount": "1", "items": "not a list"},
    {"amount": ["a list"]},
]


@pytest.mark.parametrize("data", CASES)
def test_purchase_input_validates_as_drf_does(data):
    ours, theirs = PurchaseInput(data=data), plain_twin(PurchaseInput)(data=data)

    assert ours.is_valid() == theirs.is_valid()
    assert ours.errors == theirs.errors
    if not ours.errors:
        assert ours.validated_data == theirs.validated_data


@pytest.mark.parametrize(("serializer_class", "data"), [
    (RefundInput, {"amount": "1.00"}), (RefundInput, {}), (RefundInput, {"amount": None}),
    (MemberInput, {"name": "An", "birthday": "1990-02-28", "language": "nl"}),
    (MemberInput, {"name": "", "birthday": "28-02-1990", "language": "fr"}),
    (RedemptionInput, {"member": "1234", "reward": "7"}),
    (RedemptionInput, {"reward": "seven"}),
    (RewardInput, {"kind": "product", "name": "Koffie", "points_cost": 500,
                   "value_amount": "2.50", "display_order": 1}),
    (RewardInput, {"kind": "nonsense", "points_cost": "x", "value_amount": "2.505",
                   "display_order": -1, "available_from": "yesterday"}),
])
def test_other_inputs_validate_as_drf_does(serializer_class, data):
    ours, theirs = serializer_class(data=data), plain_twin(serializer_class)(data=data)

    assert ours.is_valid() == theirs.is_valid()
    assert ours.errors == theirs.errors
    if not ours.errors:
        assert ours.validated_data == theirs.validated_data


def test_each_serializer_binds_its_own_copies_and_the_declared_fields_stay_unbound():
    first, second = PurchaseInput(data={"amount": "1"}), PurchaseInput(data={"amount": "2"})
    assert first.is_valid() and second.is_valid()

    for name, declared in PurchaseInput._declared_fields.items():
        assert first.fields[name] is not declared
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name].field_name == name
        assert declared.parent is None and declared.field_name is None
    assert first.fields["items"].child is not second.fields["items"].child  # deep copies


def test_serializers_made_in_threads_do_not_mix_their_answers():
    results, errors = {}, []

    def validate(n):
        try:
            for _ in range(200):
                data = PurchaseInput(data={"amount": str(n), "reference": f"R-{n}"})
                data.is_valid(raise_exception=True)
                if data.validated_data["reference"] != f"R-{n}":
                    raise AssertionError(data.validated_data)
            results[n] = True
        except Exception as exc:  # noqa: BLE001 (collected, asserted below)
            errors.append(exc)

    threads = [threading.Thread(target=validate, args=(n,)) for n in range(1, 9)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and len(results) == 8


def test_a_subclass_of_input_serializer_keeps_nested_serializers_deep():
    class Line(InputSerializer):
        name = serializers.CharField()

    class Order(InputSerializer):
        lines = Line(many=True)

    data = {"lines": [{"name": "a"}, {}]}
    order, plain = Order(data=data), plain_twin(Order)(data=data)

    assert not order.is_valid() and not plain.is_valid()
    assert order.errors == plain.errors
    assert order.errors["lines"][1]["name"][0].code == "required"
    assert Order._declared_fields["lines"].child is not order.fields["lines"].child
