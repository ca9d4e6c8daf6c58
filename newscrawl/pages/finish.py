"""The rules that make an extracted item a storable article, in one place for the crawl and the library:
when an item is an article (`validate`, raising `NotAnArticle`) and when it was published
(`publication_date`).

The crawl's ValidatePipeline calls `validate` and turns NotAnArticle into a dropped item (counted as
`newscrawl/<stat>`); `newscrawl.offline` (`scrapy extract`, `newscrawl.extract()`) lets it through.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from newscrawl.items import REQUIRED
from newscrawl.parsing.dates import parse_iso, parse_jalali, to_tehran_iso
from newscrawl.parsing.loaders import NEWS_CODE
from newscrawl.parsing.sanitize import strip_markup

#: a machine-readable date further than this from the shown one is counted as a mismatch
META_MISMATCH = timedelta(hours=1)


class NotAnArticle(Exception):
    """The page gives no article. `str(exc)` is the reason in one line («missing title», «bad news_code»,
    «not an article page (…)»); `stat` names the crawl counter it is counted as («dropped/missing_title»)."""

    def __init__(self, reason: str, stat: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.stat = stat


def validate(item) -> None:
    """A stored article always has its key, URL, title and body, and a news code the item schema allows
    (ASCII letters, digits, - and _, at most 32: newscrawl.items). Whole string: Python's `$` would let a
    trailing newline through, as jsonschema's re.search does."""
    for name in REQUIRED:
        value = item.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise NotAnArticle(f"missing {name}", f"dropped/missing_{name}")
    code = item["news_code"]
    if not isinstance(code, str) or not NEWS_CODE.fullmatch(code):
        raise NotAnArticle("bad news_code", "dropped/bad_news_code")


def publication_date(raw: str | None, machine: str | None, url: str | None, note) -> str | None:
    """published_at (ISO, Tehran time) from the date shown on the page (`raw`, Jalali text); the
    machine-readable date (JSON-LD, meta, the feed's) is the fallback when the shown date is absent or
    unreadable, and a cross-check otherwise. `note(stat, level, message, *args)` hears what happened:
    date/unparseable, date/meta_mismatch, date/from_meta, date/missing.

    The shown date is read as it will be stored: without markup (newscrawl.pipelines.clean)."""
    raw = (strip_markup(raw) or None) if raw else None
    shown = parse_jalali(raw) if raw else None
    meta = parse_iso(machine) if machine else None
    if raw and shown is None:
        note("date/unparseable", logging.WARNING, "unparseable date %r on %s", raw, url)
    if shown is not None:
        if meta is not None and abs(shown - meta) > META_MISMATCH:
            note("date/meta_mismatch", logging.DEBUG, "shown date %s and metadata %s differ on %s",
                 shown, machine, url)
        return to_tehran_iso(shown)
    if meta is not None:
        note("date/from_meta", logging.DEBUG, "date of %s from its metadata", url)
        return to_tehran_iso(meta)
    if not raw:
        note("date/missing", logging.DEBUG, "no date on %s", url)
    return None
