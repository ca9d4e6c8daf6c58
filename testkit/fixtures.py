"""Page fixtures as files, one folder per site: `tests/pages/<site>/<name>.html` is a page and
`<name>.json` what extracting it must give, `{"input": {"url": ..., "captured_at": null}, "item": {...},
"not_in_body": [...]}`: the item without `crawled_at` and `captured_at` (the time of the run; captured_at
is the input's when it gives one), and text on the page around
the article (ads, related news, read-more boxes) that no extraction may put in the body, which the
generic spider's check needs (optional). tests/test_fixtures.py runs them all.

    python -m testkit.fixtures add PAGE --site SITE --url URL [--name NAME] [--captured-at WHEN] [--force]

writes the JSON for a new fixture from what the code extracts today (and copies PAGE next to it). That
is a draft, not a test: read every field against the page before committing it, or the test only
proves that the code still does what it did."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

PAGES = Path(__file__).resolve().parents[1] / "tests" / "pages"
VARYING = ("crawled_at", "captured_at")  #: item fields a fixture does not hold: they change from run to run
#: (captured_at is crawled_at when the input gives no capture time; tests/test_fixtures.py checks it)
#: nor these: null from any page; set when the article is stored, from the other articles (docs/stories.md)
STORED = ("story_id", "copy_of")


@dataclass(frozen=True)
class Fixture:
    site: str
    name: str
    html: Path
    url: str
    captured_at: str | None
    item: dict
    not_in_body: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.site}/{self.name}"


def load(html: Path) -> Fixture:
    """The fixture of a page (`<name>.html` beside its `<name>.json`)."""
    data = json.loads(html.with_suffix(".json").read_text(encoding="utf-8"))
    return Fixture(site=html.parent.name, name=html.stem, html=html, url=data["input"]["url"],
                   captured_at=data["input"].get("captured_at"), item=data["item"],
                   not_in_body=tuple(data.get("not_in_body", ())))


def fixtures(root: Path = PAGES) -> list[Fixture]:
    """Every fixture under `root`, by site then name."""
    return [load(html) for html in sorted(root.glob("*/*.html"))]


def expected_item(item: dict) -> dict:
    """What a fixture stores of an extracted item."""
    return {k: v for k, v in item.items() if k not in VARYING + STORED}


def add(page: Path, site: str, url: str, name: str | None = None, force: bool = False, root: Path = PAGES,
        captured_at: str | None = None) -> Path:
    """Write `<root>/<site>/<name>.json` from what `newscrawl.extract` gives for the page today (and copy
    the page there); the JSON's path. An existing fixture is kept unless `force`: it was reviewed."""
    from newscrawl import extract

    name = name or page.stem
    html = root / site / f"{name}.html"
    target = html.with_suffix(".json")
    if target.exists() and not force:
        raise FileExistsError(f"{target} exists (reviewed already?); --force replaces it")
    item = expected_item(extract(page.read_bytes(), url=url, site=site, captured_at=captured_at))
    html.parent.mkdir(parents=True, exist_ok=True)
    if page.resolve() != html.resolve():
        shutil.copyfile(page, html)
    data = {"input": {"url": url, "captured_at": captured_at}, "item": item, "not_in_body": []}  # for the reviewer
    target.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.fixtures", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("add", help="write the expected item of a new fixture, for review")
    new.add_argument("page", type=Path, help="the saved page (.html)")
    new.add_argument("--site", required=True, help="spider name (`scrapy list`): the folder and the page's site")
    new.add_argument("--url", required=True, help="the URL the page was saved from")
    new.add_argument("--name", help="fixture name (default: the page's file name without .html)")
    new.add_argument("--captured-at", help="when the page was fetched (ISO 8601), for a site's template of then")
    new.add_argument("--force", action="store_true", help="replace an existing fixture's JSON")
    args = parser.parse_args(argv)
    from newscrawl import NotAnArticle
    from newscrawl.spiders.base import ArgumentError

    try:
        target = add(args.page, args.site, args.url, args.name, args.force, captured_at=args.captured_at)
    except (OSError, ArgumentError, NotAnArticle) as exc:  # ArgumentError: unknown site, URL off the site
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(target.read_text(encoding="utf-8"), end="")
    print(f"\nwritten: {target}\nREVIEW IT: check every field against the page before committing; the test "
          "asserts exactly this.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
