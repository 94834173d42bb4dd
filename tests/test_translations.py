"""Dutch and Swedish: every string of ours is translated, compiled, and used by the pages.

The catalogues live in ``locale/<lang>/LC_MESSAGES/django.po`` (``LOCALE_PATHS``); the compiled
``django.mo`` files are committed, so a machine without GNU gettext serves them as they are.
After changing a template or a message, run from the repository root:

    .venv/bin/python manage.py makemessages -l nl -l sv -e html,txt,py --no-location \
        --ignore=.venv --ignore=var --ignore=tests --ignore=bench
    (translate the new entries, drop their ``#, fuzzy`` flags)
    .venv/bin/python manage.py compilemessages --ignore=.venv

These tests read the .po and .mo files with a few lines of plain Python: no gettext tools needed.
"""

from __future__ import annotations

import ast
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.html import escape

from tests.factories import ShopFactory, StaffInvitationFactory

LANGUAGES = ["nl", "sv"]
LOCALE_DIR = Path(settings.LOCALE_PATHS[0])


# --- A small .po reader ------------------------------------------------------------------------


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)  # index 0 for a singular entry
    flags: set[str] = field(default_factory=set)
    line: int = 0

    @property
    def is_header(self) -> bool:
        return self.msgid == "" and self.msgctxt is None

    @property
    def label(self) -> str:
        return f"line {self.line}: {self.msgid!r}"


_KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(".*")$')


def parse_po(path: Path) -> list[Entry]:
    """The entries of a .po file, header included; obsolete (``#~``) entries are left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    target: tuple[str, int] | None = None

    def start_new() -> bool:
        return entry is None or bool(entry.msgstr)

    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#"):
            if start_new():
                entry = Entry(line=lineno)
                entries.append(entry)
                target = None
            if line.startswith("#,"):
                entry.flags.update(flag.strip() for flag in line[2:].split(",") if flag.strip())
            continue
        match = _KEYWORD.match(line)
        if match:
            keyword, index, literal = match.groups()
            if keyword in ("msgctxt", "msgid") and start_new():
                entry = Entry(line=lineno)
                entries.append(entry)
            if keyword == "msgstr":
                target = ("msgstr", int(index or 0))
                entry.msgstr[target[1]] = ""
            else:
                target = (keyword, 0)
                setattr(entry, keyword, "")
                if keyword == "msgid":
                    entry.line = lineno
            _append(entry, target, literal)
        elif line.startswith('"') and entry is not None and target is not None:
            _append(entry, target, line)
        else:
            raise ValueError(f"{path}:{lineno}: cannot read {raw!r}")
    # Comments (a flag line) that belonged to an obsolete entry start no entry of their own.
    return [entry for entry in entries if entry.msgstr]


def _append(entry: Entry, target: tuple[str, int], literal: str) -> None:
    text = ast.literal_eval(literal)  # PO strings use C escapes, a subset of Python's
    name, index = target
    if name == "msgstr":
        entry.msgstr[index] += text
    else:
        setattr(entry, name, getattr(entry, name) + text)


def read_mo(path: Path) -> dict[str, str]:
    """The raw catalogue of a .mo file: key ``ctxt\\x04msgid[\\x00plural]`` → ``str[\\x00str…]``."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic == 0x950412DE else ">"
    _magic, _revision, count, originals, translations = struct.unpack(endian + "5I", data[:20])
    catalogue = {}
    for i in range(count):
        olen, ooff = struct.unpack(endian + "2I", data[originals + 8 * i : originals + 8 * i + 8])
        tlen, toff = struct.unpack(
            endian + "2I", data[translations + 8 * i : translations + 8 * i + 8]
        )
        key = data[ooff : ooff + olen].decode("utf-8")
        catalogue[key] = data[toff : toff + tlen].decode("utf-8")
    return catalogue


def mo_key(entry: Entry) -> str:
    key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
    return key if entry.msgid_plural is None else f"{key}\x00{entry.msgid_plural}"


def mo_value(entry: Entry) -> str:
    value = "\x00".join(entry.msgstr[i] for i in sorted(entry.msgstr))
    if entry.is_header:  # msgfmt leaves this line out of the compiled header
        value = re.sub(r"(?m)^POT-Creation-Date:.*\n", "", value)
    return value


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / "django.po"


def messages(language: str) -> list[Entry]:
    return [e for e in parse_po(po_path(language)) if not e.is_header]


# --- The catalogues are complete ---------------------------------------------------------------


def test_po_reader_reads_plurals_context_and_flags(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Language: nl\\n"\n"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n'
        '#, python-format\nmsgid "%(n)s point"\nmsgid_plural "%(n)s points"\n'
        'msgstr[0] "%(n)s punt"\nmsgstr[1] "%(n)s punten"\n\n'
        '#, fuzzy\nmsgctxt "menu"\nmsgid ""\n"Say \\"hi\\",\\n"\n"twice"\nmsgstr "Zeg"\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Weg"\n',
        encoding="utf-8",
    )
    header, plural, fuzzy = parse_po(po)
    assert header.is_header and "Language: nl\n" in header.msgstr[0]
    assert plural.msgid_plural == "%(n)s points" and plural.msgstr == {
        0: "%(n)s punt",
        1: "%(n)s punten",
    }
    assert plural.flags == {"python-format"}
    assert fuzzy.msgctxt == "menu" and fuzzy.msgid == 'Say "hi",\ntwice' and "fuzzy" in fuzzy.flags


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalogue_header_names_its_language(language):
    header = parse_po(po_path(language))[0]
    assert header.is_header
    assert "fuzzy" not in header.flags
    assert f"Language: {language}\n" in header.msgstr[0]
    assert "charset=UTF-8" in header.msgstr[0]
    assert "Plural-Forms: nplurals=2; plural=(n != 1);" in header.msgstr[0]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_is_translated_and_none_is_fuzzy(language):
    entries = messages(language)
    assert len(entries) > 100, "the catalogue looks empty: run makemessages (see the docstring)"
    fuzzy = [e.label for e in entries if "fuzzy" in e.flags]
    assert not fuzzy, f"fuzzy entries in {language}: {fuzzy}"
    expected_forms = [0, 1]
    untranslated = [
        e.label
        for e in entries
        if (sorted(e.msgstr) != (expected_forms if e.msgid_plural is not None else [0]))
        or not all(s.strip() for s in e.msgstr.values())
    ]
    assert not untranslated, f"untranslated entries in {language}: {untranslated}"


_PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs%]")
_HTML_TAG = re.compile(r"</?(?:a|b|br|code|em|i|p|small|span|strong)\b[^>]*>")


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_placeholders_and_markup(language):
    problems = []
    for e in messages(language):
        for index, text in e.msgstr.items():
            source = e.msgid_plural if (index > 0 and e.msgid_plural) else e.msgid
            wanted = Counter(_PLACEHOLDER.findall(source))
            got = Counter(_PLACEHOLDER.findall(text))
            if wanted != got:
                problems.append(f"{e.label}: placeholders {dict(wanted)} → {dict(got)}")
            if Counter(_HTML_TAG.findall(source)) != Counter(_HTML_TAG.findall(text)):
                problems.append(f"{e.label}: HTML tags differ in {text!r}")
            if source.endswith("\n") != text.endswith("\n"):
                problems.append(f"{e.label}: trailing newline differs")
    assert not problems, "\n".join(problems)


# --- The compiled catalogues are current -------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_mo_file_matches_po_file(language):
    """The committed .mo holds exactly the .po's translations: recompile after editing a .po."""
    mo = LOCALE_DIR / language / "LC_MESSAGES" / "django.mo"
    assert mo.exists(), f"{mo} is missing: run manage.py compilemessages --ignore=.venv"
    entries = [e for e in parse_po(po_path(language)) if "fuzzy" not in e.flags]
    expected = {mo_key(e): mo_value(e) for e in entries if all(e.msgstr.values())}
    compiled = read_mo(mo)
    stale = sorted(k for k in expected.keys() & compiled.keys() if expected[k] != compiled[k])
    missing = sorted(expected.keys() - compiled.keys())
    extra = sorted(compiled.keys() - expected.keys())
    assert not (stale or missing or extra), (
        f"{mo} is out of date (run manage.py compilemessages --ignore=.venv): "
        f"changed {stale[:5]}, not compiled {missing[:5]}, no longer in the .po {extra[:5]}"
    )


@pytest.mark.parametrize("language", LANGUAGES)
def test_django_serves_our_translation_of_every_message(language):
    """Ours win over Django's and allauth's catalogues (LOCALE_PATHS comes first)."""
    wrong = []
    with translation.override(language):
        for e in messages(language):
            if e.msgid_plural is None:
                got = (
                    translation.gettext(e.msgid)
                    if e.msgctxt is None
                    else translation.pgettext(e.msgctxt, e.msgid)
                )
                if got != e.msgstr[0]:
                    wrong.append(f"{e.label}: {got!r}")
            else:
                for n, index in ((1, 0), (2, 1)):
                    got = (
                        translation.ngettext(e.msgid, e.msgid_plural, n)
                        if e.msgctxt is None
                        else translation.npgettext(e.msgctxt, e.msgid, e.msgid_plural, n)
                    )
                    if got != e.msgstr[index]:
                        wrong.append(f"{e.label} (n={n}): {got!r}")
    assert not wrong, f"{language}: Django does not serve these as in the .po: {wrong}"


# --- Pages and e-mails come out translated -----------------------------------------------------


def _translated(language: str, message: str) -> str:
    with translation.override(language):
        text = translation.gettext(message)
    assert text != message, f"{message!r} has no {language} translation"
    return text


@pytest.mark.django_db
def test_home_page_follows_the_browser_language(client):
    heading = "A loyalty program your regulars will love"
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="nl")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="nl">' in html
    assert escape(_translated("nl", heading)) in html
    assert heading not in html

    response = client.get("/", HTTP_ACCEPT_LANGUAGE="sv")
    assert escape(_translated("sv", heading)) in response.content.decode()


@pytest.mark.django_db
def test_shop_page_is_in_the_shop_language_for_a_new_visitor(client):
    shop = ShopFactory(language="sv")
    response = client.get(f"/s/{shop.slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="sv">' in html
    title = _translated("sv", "Join the loyalty program of %(shop)s") % {"shop": shop.name}
    assert escape(title) in html
    assert escape(_translated("sv", "It's free.")) in html
    assert "Join the loyalty program of" not in html


@pytest.mark.django_db
def test_shop_page_respects_a_chosen_language(client):
    shop = ShopFactory(language="sv")
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(f"/s/{shop.slug}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert escape(f"Join the loyalty program of {shop.name}") in html
    assert (
        escape(_translated("sv", "Join the loyalty program of %(shop)s") % {"shop": shop.name})
        not in html
    )


@pytest.mark.django_db
@pytest.mark.parametrize("language", LANGUAGES)
def test_invitation_email_templates_are_translated(language):
    """The .txt e-mail templates are in the catalogue (makemessages needs ``-e html,txt,py``)."""
    invitation = StaffInvitationFactory(shop=ShopFactory(language=language, name="Café Zon"))
    context = {
        "invitation": invitation,
        "link": "https://trouw.example/invite/x/",
        "shop": invitation.shop,
    }
    with translation.override(language):
        subject = render_to_string("loyalty/email/staff_invitation_subject.txt", context)
        body = render_to_string("loyalty/email/staff_invitation.txt", context)
    assert (
        _translated(language, "You are invited to the team of %(shop)s on Trouw")
        % {"shop": "Café Zon"}
        in subject
    )
    assert "invites you" not in body and "The link works once" not in body
    assert "Café Zon" in body and "https://trouw.example/invite/x/" in body
