"""The README stays short and the docs stay reachable: README at most 300 lines, every docs/*.md linked
from it, every relative link in README and docs/ pointing at a file (and heading) that exists, and every
NEWSCRAWL_* setting of settings.py documented in docs/settings.md. Links break silently when a section
moves; these checks make the move fail loudly instead."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
PAGES = [ROOT / "README.md", *DOCS]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def prose(path: Path) -> str:
    """The page without its fenced code blocks (a `[x](y)` inside code is not a link)."""
    return FENCE.sub("", path.read_text(encoding="utf-8"))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped (letters, digits, `_`, `-` kept),
    spaces to `-`."""
    text = re.sub(r"[`*]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a page's headings; a repeated heading gets GitHub's `-1`, `-2`... suffix."""
    found, counts = set(), {}
    for heading in re.findall(r"^#{1,6} +(.+?) *$", prose(path), re.M):
        base = slug(heading)
        found.add(f"{base}-{counts[base]}" if base in counts else base)
        counts[base] = counts.get(base, 0) + 1
    return found


def relative_links(path: Path) -> list[str]:
    return [t for t in LINK.findall(prose(path)) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


def test_slug_follows_github():
    assert slug("Untrusted input: no private addresses") == "untrusted-input-no-private-addresses"
    assert slug("`scrapy export`") == "scrapy-export"
    assert slug("Guarantees: nothing lost, nothing silent") == "guarantees-nothing-lost-nothing-silent"


def test_readme_is_at_most_300_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 300, f"README.md has {lines} lines; move detail into docs/"


def test_every_doc_is_linked_from_the_readme():
    assert DOCS, "docs/ holds no .md file"
    linked = {(ROOT / unquote(t.split("#")[0])).resolve() for t in relative_links(ROOT / "README.md")}
    assert [d.name for d in DOCS if d.resolve() not in linked] == []


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_point_at_existing_files_and_headings(page):
    broken = []
    for target in relative_links(page):
        file_part, _, anchor = target.partition("#")
        dest = (page.parent / unquote(file_part)).resolve() if file_part else page
        if not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
            broken.append(f"{target}: no such heading in {dest.relative_to(ROOT)}")
    assert broken == []


def test_long_docs_open_with_a_table_of_contents():
    """A doc over 150 lines lists its sections (links to its own headings) before the first section."""
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        if text.count("\n") <= 150:
            continue
        head = text.split("\n## ", 1)[0]
        assert len(re.findall(r"\]\(#[^)]+\)", head)) >= 3, f"{doc.name} has no table of contents"


def test_every_newscrawl_setting_is_documented():
    settings = (ROOT / "newscrawl/settings.py").read_text(encoding="utf-8")
    declared = set(re.findall(r"^(NEWSCRAWL_[A-Z0-9_]+) *=", settings, re.M))
    documented = set(re.findall(r"`(NEWSCRAWL_[A-Z0-9_]+)`", (ROOT / "docs/settings.md").read_text("utf-8")))
    assert "NEWSCRAWL_DB_BATCH_SIZE" in declared  # the pattern still finds the declarations
    assert sorted(declared - documented) == []
