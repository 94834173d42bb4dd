"""The demo's people: the logins it prints, and names of Dutch and Swedish customers."""

from __future__ import annotations

import functools

from django.contrib.auth.hashers import make_password

from loyalty.models import User

DEMO_PASSWORD = "trouw-demo-2026"

FIRST_NAMES = [
    "Sanne", "Lotte", "Emma", "Julia", "Sophie", "Fleur", "Noor", "Eva", "Lisa", "Anouk",
    "Daan", "Bram", "Lucas", "Thijs", "Jesse", "Ruben", "Sem", "Milan", "Luuk", "Joris",
    "Marieke", "Henk", "Ingrid", "Kees", "Wilma", "Pieter", "Femke", "Gerrit", "Yara", "Mohamed",
]
LAST_NAMES = [
    "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen", "Visser",
    "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos", "Peters", "Hendriks",
    "van Leeuwen", "Dekker", "Brouwer", "de Wit", "Dijkstra", "Smits", "de Graaf", "van der Meer",
]

SWEDISH_FIRST_NAMES = [
    "Astrid", "Erik", "Elsa", "Lars", "Ingrid", "Karin", "Johan", "Maja", "Oskar", "Saga",
    "Nils", "Freja", "Gustav", "Alva", "Hugo", "Wilma", "Axel", "Ebba", "Leo", "Sofia",
    "Anders", "Birgitta", "Mohammed", "Amira", "Per",
]
SWEDISH_LAST_NAMES = [
    "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson", "Persson",
    "Svensson", "Gustafsson", "Lindqvist", "Lindberg", "Berg", "Holm", "Sandberg", "Ekström",
    "Lundgren", "Åberg", "Sjöberg", "Öberg",
]


@functools.cache
def _password_hash() -> str:
    """The demo password, hashed once (a hash takes half a second, on purpose)."""
    return make_password(DEMO_PASSWORD)


def login(email: str, name: str) -> User:
    """A demo login with the demo password and a verified address (found if it exists)."""
    from allauth.account.models import EmailAddress

    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, name=name)
        user.password = _password_hash()
        user.save(update_fields=["password"])
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user
