"""Our stylesheets are well formed: a brace left open makes the browser drop every rule after
it, which no page test notices until a layout breaks on a phone."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[1] / "static"
STYLESHEETS = sorted(p for p in STATIC.rglob("*.css") if "vendor" not in p.parts)


@pytest.mark.parametrize("path", STYLESHEETS, ids=lambda p: str(p.relative_to(STATIC)))
def test_braces_balance(path):
    css = re.sub(r"/\*.*?\*/", "", path.read_text(encoding="utf-8"), flags=re.S)
    depth = 0
    for number, line in enumerate(css.splitlines(), start=1):
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"{path.name}:{number}: a brace closes nothing"
    assert depth == 0, f"{path.name}: {depth} brace(s) left open"


def test_there_are_stylesheets_to_check():
    assert any(p.name == "trouw.css" for p in STYLESHEETS)
