"""Last line of defence before storage: stored text never holds markup, stored URLs are http(s), and
every item matches the item schema.

Why: the HTML walk already drops <script>, <style> and the like, but text also comes from places that
are not a DOM: og:title, JSON-LD headline and description (some CMSs put HTML there), RSS descriptions,
and entity-escaped tags that a page shows literally («&lt;svg/onload=…&gt;»: the loaders decode entities
while normalizing, so here they are tags). A regex cannot see where a tag ends (`<a title='x>y'
onclick=…>`, `<img/src=x/onerror=…>`, a tag cut off at the end of the text), so the text is tokenized by
libxml2's HTML parser through lxml: since libxml2 2.14 its tokenizer follows HTML5, so a tag ends where a
browser ends it. Text that merely contains «<» («a < b», «۳<۵») is not a tag for HTML5 either and stays.
"""

from __future__ import annotations

import html
import logging
import re
from functools import cache
from urllib.parse import urlsplit

from itemadapter import ItemAdapter
from lxml import etree
from scrapy.exceptions import DropItem

from newscrawl.html import BLOCK_TAGS, xml_text

logger = logging.getLogger(__name__)

#: the longest URL kept (`url`, `images`, rel=canonical): the sitemaps protocol's limit, and more than
#: any real article or image URL; a 2 MB `src` is an attack or a broken CMS, not a picture
MAX_URL_LENGTH = 2048
#: elements whose content is not text for a reader (code, or raw text that may hold tags)
RAW_TEXT_TAGS = frozenset(
    "script style textarea title xmp iframe noembed noframes plaintext noscript template".split())
#: how many times markup is stripped from its own result: removing «<b>» from «<<b>img …>» leaves a tag
MAX_PASSES = 8
TEXT_FIELDS = ("title", "kicker", "lead", "source", "published_at_raw")
LIST_FIELDS = ("category", "tags")
_NONCHAR = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")
_SPACES = re.compile(r"[ \t]{2,}")
#: a tag, comment, doctype or processing instruction starts here (HTML5: «<» then a letter, «/», «!», «?»)
_MARKUP_START = re.compile(r"<[A-Za-z/!?]")
_NOT_IN_URL = re.compile(r'[\s\x00-\x1f\x7f"<>\\^`{|}]')
_SPACE_TAGS = BLOCK_TAGS | {"br", "td", "th"}


class _TextCollector:
    """A parser target: the text a reader sees, from libxml2's tokens (no tree is built, and no text is
    lost to tree building: lxml's tree drops what follows a stray «</html>»). Raw-text elements are
    skipped and a block element's edges become spaces. `close` returns the text and resets."""

    def __init__(self):
        self.parts: list[str] = []
        self.skip = 0

    def start(self, tag, attrib):
        tag = tag.lower()
        if tag in RAW_TEXT_TAGS:
            self.skip += 1
        elif tag in _SPACE_TAGS:
            self.space()

    def end(self, tag):
        tag = tag.lower()
        if tag in RAW_TEXT_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _SPACE_TAGS:
            self.space()

    def space(self):
        """A word break, except after a «<»: «<<p>img onerror=…>» must become a tag for the next pass
        to remove, not the text «< img onerror=…>»."""
        if not (self.parts and self.parts[-1].endswith("<")):
            self.parts.append(" ")

    def data(self, text):
        if not self.skip:
            self.parts.append(text)

    def close(self):
        text, self.parts, self.skip = "".join(self.parts), [], 0
        return text


_COLLECTOR = _TextCollector()
_PARSER = etree.HTMLParser(target=_COLLECTOR, recover=True, no_network=True, huge_tree=True)


def _tokenized(text: str) -> str:
    """`text` as a browser would show it if it were HTML: tags, comments and raw-text elements gone.
    «&» is escaped first, so entities in the text stay as written (the loaders decoded them already)."""
    try:
        return etree.fromstring(xml_text(text).replace("&", "&amp;"), _PARSER)
    except (ValueError, etree.LxmlError):  # not seen; fall back to no «<» at all rather than keep a tag
        _COLLECTOR.close()
        return text.replace("<", "")


def _has_markup(text: str) -> bool:
    return "<" in text and _tokenized(text) != text.strip()


def _unescaped(text: str) -> str:
    """`text` with its entities decoded until none is left (at most MAX_PASSES times)."""
    for _ in range(MAX_PASSES):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def _hidden_markup(text: str) -> str | None:
    """The text decoded as many times as it takes to show markup, when some decoding does."""
    for _ in range(MAX_PASSES):
        decoded = html.unescape(text)
        if decoded == text:
            return None
        if _has_markup(decoded):
            return decoded
        text = decoded
    return None


def strip_markup(text: str) -> str:
    """Text without tags, comments, script/style contents and Unicode noncharacters; spaces tidied.

    Repeated until nothing changes (removing «<b>» from «<<b>i>» leaves a new tag «<i>»), and markup
    that only appears when the text's remaining entities are decoded again («&lt;img …&gt;» in a doubly
    escaped og:title) is decoded and removed too; entities that hide no markup stay as written.
    Unchanged text is returned as it came."""
    if "<" not in text and ("&" not in text or "<" not in _unescaped(text)):  # the usual case
        return _NONCHAR.sub("", text) if _NONCHAR.search(text) else text
    cleaned = text
    for _ in range(MAX_PASSES):
        step = _tokenized(cleaned) if "<" in cleaned else cleaned
        decoded = _hidden_markup(step) if "&" in step else None
        if decoded is not None:
            cleaned = decoded
            continue
        if step == cleaned:
            break
        cleaned = step
    else:  # still changing: nested deeper than anyone writes by accident; no tag start survives
        cleaned = _MARKUP_START.sub("", cleaned)
    cleaned = _NONCHAR.sub("", cleaned)
    if cleaned == text:
        return text
    return _SPACES.sub(" ", " ".join(part.strip() for part in cleaned.split("\n"))).strip()


def strip_paragraphs(body: str) -> str:
    return "\n\n".join(p for p in (strip_markup(p) for p in body.split("\n\n")) if p)


def url_problem(url: str) -> str | None:
    """Why `url` may not be stored ("too_long", "not_http", "invalid"), or None: an absolute http(s)
    URL with a host, at most MAX_URL_LENGTH characters, without whitespace or control characters."""
    if len(url) > MAX_URL_LENGTH:
        return "too_long"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "invalid"
    if parts.scheme not in ("http", "https") or not host:
        return "not_http"
    if any(c.isspace() or ord(c) < 32 or c in "<>\"\\`{}|^" for c in url):
        return "invalid"
    return None


def clean_url(url: str) -> tuple[str | None, str | None]:
    """(the URL, None) or (None, why it is refused). The ASCII characters no URL may hold (a space in an
    image path, a quote) are percent-encoded first; a Persian slug stays readable (the schema's `iri`)."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:  # before encoding: encoding a 2 MB string is wasted work
        return None, "too_long"
    encoded = _NOT_IN_URL.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)
    problem = url_problem(encoded)
    return (None, problem) if problem else (encoded, None)


class SanitizePipeline:
    """Markup out of the text fields; in `url` and `images` the characters no URL may hold percent-encoded,
    and images that are not
    absolute http(s) URLs or longer than MAX_URL_LENGTH dropped. Counted: `newscrawl/sanitized/markup`
    (one per field cleaned), `newscrawl/sanitized/image_<reason>` (one per image dropped)."""

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
        page = adapter.get("url")
        if changed:
            self.stats.inc_value("newscrawl/sanitized/markup", len(changed))
            logger.warning("removed markup from %s of %s", ", ".join(changed), _shown(page))
        if isinstance(page, str):
            encoded, _ = clean_url(page)
            if encoded:  # a bad url is the schema check's to drop, with its count
                adapter["url"] = encoded
        images = adapter.get("images")
        if isinstance(images, list) and images:
            kept = []
            for image in images:
                encoded, problem = clean_url(image) if isinstance(image, str) else (None, "invalid")
                if problem:
                    self.stats.inc_value(f"newscrawl/sanitized/image_{problem}")
                    logger.warning("dropped an image URL of %s: %s", _shown(page), problem.replace("_", " "))
                elif encoded not in kept:
                    kept.append(encoded)
            if kept != images:
                adapter["images"] = kept
        return item


def _shown(url) -> str:
    """A URL for a log line: at most 200 characters, control characters escaped."""
    text = str(url or "?")
    text = text if len(text) <= 200 else text[:200] + "…"
    return text if text.isprintable() else repr(text)


@cache
def _validator():
    from newscrawl.schema import validator

    return validator()


#: checked by ValidatePipeline, which drops an item lacking one as `missing_<field>` (the coverage
#: monitor counts those): the schema check leaves a missing one to it
REQUIRED = ("site", "news_code", "url", "title", "body")
_TYPES = {"string": str, "null": type(None), "array": list, "object": dict, "boolean": bool}
#: the keywords FastSchema compiles; a schema with any other falls back to jsonschema alone
_KEYWORDS = {"type", "pattern", "minLength", "maxLength", "format", "items", "description", "examples"}


class FastSchema:
    """The item schema's checks as plain Python, compiled once: jsonschema's generic descent costs about
    1 ms an item (18% of a real article's extraction, measured), these checks about 0.1 ms (mostly the
    `iri` format check, which is jsonschema's own). They are a fast path only: an item they reject is
    handed to jsonschema for the errors, and tests/test_sanitize.py checks that both agree on generated
    items. Only the keywords the schema uses are compiled (type, pattern with re.search as jsonschema
    does, minLength, maxLength, format, items, required, additionalProperties)."""

    def __init__(self, schema: dict, format_checker):
        self.format_checker = format_checker
        self.required = tuple(schema["required"])
        self.closed = schema.get("additionalProperties", True) is False
        self.properties = {name: self._compile(prop) for name, prop in schema["properties"].items()}

    def _compile(self, prop: dict):
        unknown = set(prop) - _KEYWORDS
        if unknown:
            raise ValueError(f"FastSchema does not compile {sorted(unknown)}")
        types = prop.get("type")
        types = tuple(_TYPES[t] for t in ([types] if isinstance(types, str) else types or []))
        pattern = re.compile(prop["pattern"]) if "pattern" in prop else None
        low, high, fmt = prop.get("minLength", 0), prop.get("maxLength"), prop.get("format")
        items = self._compile(prop["items"]) if "items" in prop else None
        conforms = self.format_checker.conforms

        def check(value) -> bool:
            if types and (not isinstance(value, types) or isinstance(value, bool) and bool not in types):
                return False
            if isinstance(value, str):
                if len(value) < low or (high is not None and len(value) > high):
                    return False
                if pattern is not None and not pattern.search(value):
                    return False
                if fmt and not conforms(value, fmt):
                    return False
            if items is not None and isinstance(value, list):
                return all(items(v) for v in value)
            return True

        return check

    def is_valid(self, data: dict) -> bool:
        if any(name not in data for name in self.required):
            return False
        if self.closed and any(name not in self.properties for name in data):
            return False
        return all(check(data[name]) for name, check in self.properties.items() if name in data)


@cache
def _fast_schema() -> FastSchema | None:
    from newscrawl.schema import load

    try:
        return FastSchema(load(), _validator().format_checker)
    except ValueError:  # a keyword added to the schema that FastSchema does not know: jsonschema alone
        return None


class SchemaPipeline:
    """Every item is checked against the item schema (newscrawl/schema/item.schema.json) before it is
    validated, dated, deduplicated and stored; an item that fails is dropped with one log line naming
    its URL and the field, and counted as `newscrawl/dropped/schema_<field>`.

    jsonschema's own validator (compiled once per process) decides; FastSchema answers first for the
    usual, valid item. Two exceptions: `published_at_meta` (an input of DatesPipeline, which removes it) is
    not checked, and a missing or empty required field is left to ValidatePipeline's `missing_<field>`.
    `published_at` is still null here: DatesPipeline fills it from parsed dates afterwards."""

    transforms = True

    def __init__(self, crawler):
        self.stats = crawler.stats
        self.validator = _validator()
        self.fast = _fast_schema()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        data = ItemAdapter(item).asdict()
        data.pop("published_at_meta", None)
        if self.fast is not None and self.fast.is_valid(data):
            return item
        for error in self.validator.iter_errors(data):
            field = _field(error, data)
            value = data.get(field)
            if field in REQUIRED and (value is None or (isinstance(value, str) and not value.strip())):
                continue
            self.stats.inc_value(f"newscrawl/dropped/schema_{field}")
            logger.warning("dropped %s: %s fails the item schema (%s)", _shown(data.get("url")), field,
                           error.validator)
            raise DropItem(f"{field} fails the item schema", log_level="DEBUG")
        return item


def _field(error, data: dict) -> str:
    """The top-level field an error is about (for `required`, the first field missing)."""
    if error.absolute_path:
        return str(error.absolute_path[0])
    if error.validator == "required":
        return next((f for f in error.validator_value if f not in data), "item")
    if error.validator == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        return next((f"extra_{f}" for f in data if f not in allowed), "item")
    return "item"
