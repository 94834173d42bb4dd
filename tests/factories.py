"""factory-boy factories for Trouw's models."""

from __future__ import annotations

import factory
from django.utils import timezone

from loyalty.models import Membership, Shop, StaffInvitation, StaffMember, StaffRole, User
from members.services import card_number_new

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    name = factory.Faker("name", locale="nl_NL")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop

    name = factory.Sequence(lambda n: f"Bakkerij {n}")
    slug = factory.Sequence(lambda n: f"bakkerij-{n}")
    currency = "EUR"
    language = "en"
    time_zone = "Europe/Amsterdam"


class StaffMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffMember

    shop = factory.SubFactory(ShopFactory)
    user = factory.SubFactory(UserFactory)
    role = StaffRole.STAFF


class OwnerFactory(StaffMemberFactory):
    role = StaffRole.OWNER


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    shop = factory.SubFactory(ShopFactory)
    user = None
    card_number = factory.LazyFunction(card_number_new)
    name = factory.Faker("name", locale="nl_NL")
    email = factory.Sequence(lambda n: f"member{n}@example.com")
    phone = factory.Sequence(lambda n: f"+3161{n:07d}")  # valid Dutch mobile numbers
    language = "en"


class StaffInvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StaffInvitation

    shop = factory.SubFactory(ShopFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@example.com")
    expires_at = factory.LazyFunction(lambda: timezone.now() + timezone.timedelta(days=7))
