"""The demo's people: names of Dutch and Swedish customers, and their phone numbers in E.164."""

from __future__ import annotations

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
