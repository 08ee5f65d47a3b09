"""The documentation stays a front door plus docs/, and every link in it leads somewhere
inside the repository: README.md at most 200 lines; every relative link of README.md and
docs/*.md names a file or folder that exists (anchors ignored); no link leaves the
repository for a sibling folder such as ../shared.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCUMENTS = [README, *sorted((ROOT / "docs").glob("*.md"))]

# [text](target "title") and ![alt](target), and reference definitions `[name]: target`.
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+\"[^\"]*\")?\s*$", re.MULTILINE)
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)
INLINE_CODE = re.compile(r"`[^`\n]*`")
EXTERNAL = re.compile(r"^([a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


def links(text: str) -> list[tuple[int, str]]:
    """(line, target) of every markdown link outside code blocks and code spans."""

    def blank(match: re.Match[str]) -> str:
        # Keep the line count, so that reported lines stay right.
        return re.sub(r"[^\n]", " ", match.group(0))

    prose = INLINE_CODE.sub(blank, FENCE.sub(blank, text))
    found = [(m.start(), m.group(1)) for pattern in (INLINE_LINK, REFERENCE_LINK) for m in pattern.finditer(prose)]
    return sorted((prose.count("\n", 0, start) + 1, target) for start, target in found)


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for line, target in links(document.read_text(encoding="utf-8")):
        where = f"{document.relative_to(root)}:{line}: {target}"
        if "../shared" in target:
            problems.append(f"{where} — points outside the repository")
            continue
        if EXTERNAL.match(target) or target.startswith("#"):
            continue
        path = target.split("#", 1)[0].split("?", 1)[0]
        resolved = (root / path.lstrip("/")) if path.startswith("/") else (document.parent / path)
        resolved = resolved.resolve()
        if not resolved.is_relative_to(root.resolve()):
            problems.append(f"{where} — points outside the repository")
        elif not resolved.exists():
            problems.append(f"{where} — no such file")
    return problems


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines: move the detail into docs/"


def test_there_is_documentation_besides_the_readme() -> None:
    assert len(DOCUMENTS) > 1


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_every_link_resolves_inside_the_repository(document: Path) -> None:
    problems = broken_links(document)
    assert not problems, "\n".join(problems)


def test_the_link_check_sees_what_it_must(tmp_path: Path) -> None:
    text = (
        'See [design](design.md#2-tenancy) and ![img](../static/x.png "t").\n'
        "```\n[not a link](nowhere.md)\n```\n"
        "`[code](nowhere.md)` and [web](https://example.com/) and [here](#top)\n"
        "[missing](gone.md) [up](../../elsewhere.md)\n"
        "[ref]: ../shared/DESIGN.md\n"
    )
    assert links(text) == [
        (1, "../static/x.png"),
        (1, "design.md#2-tenancy"),
        (5, "#top"),
        (5, "https://example.com/"),
        (6, "../../elsewhere.md"),
        (6, "gone.md"),
        (7, "../shared/DESIGN.md"),
    ]
    (tmp_path / "docs").mkdir()
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "x.png").touch()
    (tmp_path / "docs" / "design.md").write_text(text, encoding="utf-8")
    problems = broken_links(tmp_path / "docs" / "design.md", tmp_path)
    assert problems == [
        "docs/design.md:6: ../../elsewhere.md — points outside the repository",
        "docs/design.md:6: gone.md — no such file",
        "docs/design.md:7: ../shared/DESIGN.md — points outside the repository",
    ]
