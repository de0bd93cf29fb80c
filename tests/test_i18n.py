"""The Norwegian catalogue is complete (issue 15): every string of the UI has a Bokmål
translation, with the same placeholders, and no visible template text escapes it."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUE = ROOT / "locale" / "nb" / "LC_MESSAGES" / "django.po"
SCRIPTS_CATALOGUE = CATALOGUE.with_name("djangojs.po")  # static/js, through /jsi18n/
SOURCES = (
    "financedash",
    "marketdata",
    "portfolios",
    "pensions",
    "templates",
    "static",
    "manage.py",
)
PLACEHOLDER = re.compile(r"%\(\w+\)[sdrif]|%[sdrif]|\{\w*\}")


def _messages(path: Path):
    with path.open("rb") as source:
        return [message for message in read_po(source) if message.id]


def _ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, tuple | list) else (message.id,)


def _strings(message) -> tuple[str, ...]:
    if isinstance(message.string, tuple | list):
        return tuple(message.string)
    return (message.string,)


@pytest.mark.parametrize("catalogue", [CATALOGUE, SCRIPTS_CATALOGUE], ids=["pages", "scripts"])
def test_every_string_has_a_norwegian_translation(catalogue):
    messages = _messages(catalogue)
    assert len(messages) > (400 if catalogue == CATALOGUE else 5)
    untranslated = [m.id for m in messages if not all(s.strip() for s in _strings(m))]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == []
    assert fuzzy == []


@pytest.mark.parametrize("catalogue", [CATALOGUE, SCRIPTS_CATALOGUE], ids=["pages", "scripts"])
def test_translations_keep_the_placeholders(catalogue):
    wrong = []
    for message in _messages(catalogue):
        wanted = sorted(PLACEHOLDER.findall(_ids(message)[-1]))
        for string in _strings(message):
            if sorted(PLACEHOLDER.findall(string)) != wanted and not (
                # A singular may say "one" where the plural names the count.
                len(_ids(message)) == 2 and string is _strings(message)[0]
            ):
                wrong.append((message.id, string))
    assert wrong == []


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="needs GNU gettext's xgettext")
def test_makemessages_finds_no_string_missing_from_the_catalogue(tmp_path):
    """What `make messages` would add: nothing. (A new string is wrapped and translated in
    the same change.)"""
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, tmp_path / name)
    (tmp_path / "locale").mkdir()
    new = []
    for domain, catalogue in (("django", CATALOGUE), ("djangojs", SCRIPTS_CATALOGUE)):
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", "-d", domain, "-l", "nb"]
            + ["--no-location", "--ignore=staticfiles"],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )
        extracted = {_ids(m) for m in _messages(tmp_path / f"locale/nb/LC_MESSAGES/{domain}.po")}
        new += sorted(extracted - {_ids(m) for m in _messages(catalogue)})
    assert new == []


# Words a template may show untranslated: names, and each language's own name.
UNTRANSLATED = {"financedash", "XIRR", "IPS", "YNAB", "Norsk", "English"}


def _visible_text(template: str) -> list[str]:
    text = re.sub(r"\{#.*?#\}", "", template, flags=re.S)
    text = re.sub(r"\{% comment %\}.*?\{% endcomment %\}", "", text, flags=re.S)
    text = re.sub(r"\{% blocktranslate.*?\{% endblocktranslate %\}", "", text, flags=re.S)
    text = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", "", text, flags=re.S)
    text = re.sub(r"<(script|style|pre)\b.*?</\1>", "", text, flags=re.S)
    found = [
        value
        for _, value in re.findall(
            r'\b(title|aria-label|alt|placeholder|hx-confirm)="([^"]*)"', text
        )
    ]
    found += re.sub(r"<[^>]*>", "\n", text).splitlines()
    return [line.strip() for line in found if set(re.findall(r"[A-Za-z]{2,}", line)) - UNTRANSLATED]


def test_no_template_shows_text_outside_the_translation_tags():
    leftovers = {
        str(path.relative_to(ROOT)): lines
        for path in sorted((ROOT / "templates").rglob("*.html"))
        if (lines := _visible_text(path.read_text()))
    }
    assert leftovers == {}
