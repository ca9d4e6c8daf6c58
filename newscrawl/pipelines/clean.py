"""The last pipelines before the checks: markup out of stored text, URLs made safe (Sanitize), and every
item matched against the item schema (Schema). The text rules themselves live in newscrawl.parsing.sanitize."""

from __future__ import annotations

import logging
import re
from functools import cache

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from newscrawl.items import REQUIRED
from newscrawl.parsing.sanitize import (
    LIST_FIELDS,
    TEXT_FIELDS,
    clean_url,
    strip_markup,
    strip_paragraphs,
)

logger = logging.getLogger(__name__)


class SanitizePipeline:
    """Markup out of the text fields; in `url` and `images` the characters no URL may hold percent-encoded,
    and images that are not
    absolute http(s) URLs or longer than MAX_URL_LENGTH dropped. Counted: `newscrawl/sanitized/markup`
    (one per field cleaned), `newscrawl/sanitized/image_<reason>` (one per image dropped)."""


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
    """Every item is checked against the item schema (newscrawl.schema, built from newscrawl.items) before it is
    validated, dated, deduplicated and stored; an item that fails is dropped with one log line naming
    its URL and the field, and counted as `newscrawl/dropped/schema_<field>`.

    jsonschema's own validator (compiled once per process) decides; FastSchema answers first for the
    usual, valid item. A missing or empty required field is left to ValidatePipeline's `missing_<field>`."""


    def __init__(self, crawler):
        self.stats = crawler.stats
        self.validator = _validator()
        self.fast = _fast_schema()

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_item(self, item):
        data = ItemAdapter(item).asdict()
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
