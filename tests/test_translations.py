"""The zh_Hans catalogues are complete: no entry untranslated or fuzzy in any of them, and
every message the code and the templates mark for translation has a translation.

The catalogues are parsed here (a small reader of the PO format: polib is not a dependency).
The messages in use are extracted by Django's ``makemessages`` (xgettext, from gettext, which
``make`` needs for ``compilemessages`` already) from a copy of the apps, the templates and the
catalogues in a temporary directory: makemessages rewrites the catalogues it finds and writes
its templatized files beside the templates, so it never runs on the tree itself.

A message counts as translated when any catalogue translates it: Django merges the project's
catalogue (LOCALE_PATHS) with every app's, and a template's messages live in the catalogue of
the app the template belongs to, while makemessages would put them all in the project's.
"""

from __future__ import annotations

import ast
import hashlib
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.management import call_command

ROOT = Path(settings.BASE_DIR)
LANGUAGE = "zh_Hans"
CATALOGUE = f"locale/{LANGUAGE}/LC_MESSAGES/django.po"


@dataclass
class Entry:
    msgid: str = ""
    msgctxt: str | None = None
    msgid_plural: str | None = None
    msgstrs: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)

    @property
    def translated(self) -> bool:
        return bool(self.msgstrs) and all(self.msgstrs) and "fuzzy" not in self.flags

    def __str__(self) -> str:
        context = f" (context {self.msgctxt!r})" if self.msgctxt is not None else ""
        where = f" at {', '.join(self.references[:3])}" if self.references else ""
        return f"{self.msgid!r}{context}{where}"


def parse_po(path: Path) -> list[Entry]:
    """The entries of a PO file, the header (msgid "") left out."""
    entries: list[Entry] = []
    entry: Entry | None = None
    strings: dict[str, str] = {}
    last = ""

    def close() -> None:
        if entry is not None and "msgid" in strings:
            entry.msgid = strings["msgid"]
            entry.msgctxt = strings.get("msgctxt")
            entry.msgid_plural = strings.get("msgid_plural")
            entry.msgstrs = [value for key, value in sorted(strings.items()) if key.startswith("msgstr")]
            if entry.msgid:
                entries.append(entry)

    for number, raw in enumerate([*path.read_text(encoding="utf-8").splitlines(), ""], start=1):
        line = raw.strip()
        if not line:
            close()
            entry, strings, last = None, {}, ""
            continue
        if entry is None:
            entry = Entry()
        if line.startswith("#~"):
            entry.obsolete = True
        elif line.startswith("#,"):
            entry.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#:"):
            entry.references += line[2:].split()
        elif line.startswith("#"):
            continue  # translator and extracted comments, the previous msgid (#|)
        elif line.startswith('"'):
            strings[last] += ast.literal_eval(line)
        else:
            keyword, _, value = line.partition(" ")
            assert keyword.startswith(("msgctxt", "msgid", "msgstr")), f"{path}:{number}: {raw}"
            strings[keyword] = ast.literal_eval(value)
            last = keyword
    return [entry for entry in entries if not entry.obsolete]


def catalogues(root: Path = ROOT) -> list[Path]:
    """The project's zh_Hans catalogue and every app's."""
    return sorted([root / CATALOGUE, *root.glob(f"*/{CATALOGUE}")])


def test_the_parser_reads_what_makes_an_entry_untranslated(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#: a.py:1\nmsgid "Done"\nmsgstr "完成"\n\n'
        '#: a.py:2\nmsgid "Open"\nmsgstr ""\n\n'
        '#, fuzzy, python-format\n#| msgid "Old"\nmsgid "Close"\nmsgstr "关闭"\n\n'
        'msgctxt "renewal"\nmsgid "Due on"\nmsgstr "到期"\n\n'
        'msgid "%(n)s day"\nmsgid_plural "%(n)s days"\nmsgstr[0] ""\n\n'
        'msgid ""\n"Two "\n"lines"\nmsgstr "两行"\n\n'
        '#~ msgid "Gone"\n#~ msgstr ""\n',
        encoding="utf-8",
    )
    entries = {entry.key: entry for entry in parse_po(po)}
    assert list(entries) == [
        (None, "Done"),
        (None, "Open"),
        (None, "Close"),
        ("renewal", "Due on"),
        (None, "%(n)s day"),
        (None, "Two lines"),
    ]
    assert [entry.translated for entry in entries.values()] == [True, False, False, True, False, True]
    assert entries[(None, "Done")].references == ["a.py:1"]
    assert entries[(None, "%(n)s day")].msgid_plural == "%(n)s days"


def test_no_catalogue_has_an_untranslated_or_fuzzy_entry():
    found = catalogues()
    assert ROOT / CATALOGUE in found
    assert {path.relative_to(ROOT).parts[0] for path in found} >= {"locale", "messaging", "risk", "scoring", "teams"}
    problems = []
    for path in found:
        entries = parse_po(path)
        assert entries, path
        problems += [
            f"{path.relative_to(ROOT)}: {'fuzzy' if 'fuzzy' in entry.flags else 'untranslated'} {entry}"
            for entry in entries
            if not entry.translated
        ]
    assert not problems, "Translate these (and drop the fuzzy flag):\n" + "\n".join(problems)


def test_the_catalogues_are_valid_for_msgfmt():
    # The placeholders of every translation match its msgid's (python-format, python-brace-format).
    for path in catalogues():
        result = subprocess.run(
            ["msgfmt", "--check-format", "--output-file=/dev/null", str(path)], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr


def local_app_dirs() -> list[Path]:
    return sorted(
        {
            Path(config.path)
            for config in apps.get_app_configs()
            if Path(config.path).is_relative_to(ROOT) and ".venv" not in Path(config.path).parts
        }
    )


def digest(paths: list[Path]) -> dict[Path, str]:
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in paths}


def test_every_message_in_use_has_a_translation(tmp_path, settings, monkeypatch):
    # given: a copy of what makemessages reads (the apps, the templates, the catalogues)
    assert shutil.which("xgettext"), "gettext's xgettext is needed (apt-get install gettext)"
    sources = [*local_app_dirs(), ROOT / "templates", ROOT / "locale"]
    assert {path.name for path in sources} >= {"kam", "accounts", "messaging", "templates", "locale"}
    copy = tmp_path / "tree"
    for source in sources:
        shutil.copytree(
            source, copy / source.relative_to(ROOT), ignore=shutil.ignore_patterns("__pycache__", "*.mo", "*.pyc")
        )
    before = digest(catalogues())
    # when: the messages are extracted into the copy's catalogues (new ones come in untranslated)
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=[LANGUAGE], no_obsolete=True, verbosity=0)
    # then: the tree's catalogues are untouched, and each message in use is translated somewhere
    assert digest(catalogues()) == before
    translated = {entry.key for path in catalogues() for entry in parse_po(path) if entry.translated}
    in_use = {entry.key: entry for path in catalogues(copy) for entry in parse_po(path)}
    assert len(in_use) > 1000  # the extraction found the messages
    missing = sorted((str(entry) for key, entry in in_use.items() if key not in translated), key=str.lower)
    assert not missing, (
        f"{len(missing)} messages in use have no {LANGUAGE} translation; add them to the catalogue of the app"
        " that uses them (locale/ for kam, accounts and what has no catalogue of its own), then compilemessages:\n"
        + "\n".join(missing)
    )
