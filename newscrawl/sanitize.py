"""Last line of defence before validation: stored text never holds markup.

Why: the HTML walk already drops <script>, <style> and the like, but text also comes from places that
are not a DOM: og:title, JSON-LD headline and description (some CMSs put HTML there), RSS descriptions,
and entity-escaped tags that a page shows literally («&lt;b&gt;»). Whatever the source, tags (and the
contents of script/style) are removed from the text fields here, counted (`newscrawl/sanitized/markup`)
and logged with the URL. An item left without a title or body is then dropped by ValidatePipeline.
"""

from __future__ import annotations

import logging
import re

from itemadapter import ItemAdapter

logger = logging.getLogger(__name__)

_SCRIPT = re.compile(r"<\s*(script|style|noscript|iframe|template)\b[^>]*>.*?<\s*/\s*\1\s*>", re.I | re.S)
_TAG = re.compile(r"<!--.*?(?:-->|$)|<\s*/?\s*[a-zA-Z][\w:-]*(?:\s[^<>]*)?/?\s*>", re.S)
_NONCHAR = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")
_SPACES = re.compile(r"[ \t]{2,}")
TEXT_FIELDS = ("title", "kicker", "lead", "source", "published_at_raw")
LIST_FIELDS = ("category", "tags")


def strip_markup(text: str) -> str:
    """Text without tags, comments, script/style contents and Unicode noncharacters; spaces tidied.
    Repeated until nothing changes: removing «<b>» from «<<b>i>» leaves a new tag «<i>»."""
    if "<" not in text and not _NONCHAR.search(text):  # the usual case: nothing any pattern could match
        return text
    cleaned = text
    while True:
        step = _NONCHAR.sub("", _TAG.sub("", _SCRIPT.sub("", cleaned)))
        if step == cleaned:
            break
        cleaned = step
    return _SPACES.sub(" ", cleaned).strip() if cleaned != text else text


def strip_paragraphs(body: str) -> str:
    return "\n\n".join(p for p in (strip_markup(p) for p in body.split("\n\n")) if p)


class SanitizePipeline:
    transforms = True

    def __init__(self, crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        adapter = ItemAdapter(item)
        changed = []
        for field in (*TEXT_FIELDS, "body"):
            value = adapter.get(field)
            if isinstance(value, str):
                clean = strip_paragraphs(value) if field == "body" else strip_markup(value)
                if clean != value:
                    changed.append(field)
                    adapter[field] = clean or None
        for field in LIST_FIELDS:
            values = adapter.get(field)
            if isinstance(values, list):
                clean = [c for c in (strip_markup(v) if isinstance(v, str) else v for v in values) if c]
                if clean != values:
                    changed.append(field)
                    adapter[field] = clean
        if changed:
            self.stats.inc_value("newscrawl/sanitized/markup")
            logger.warning("removed markup from %s of %s", ", ".join(changed), adapter.get("url"))
        return item
