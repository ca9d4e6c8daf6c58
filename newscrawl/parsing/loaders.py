"""Item loader: every field is cleaned here, with processors, the same way for every site."""

from __future__ import annotations

from datetime import UTC, datetime

from itemloaders.processors import Identity, MapCompose, TakeFirst
from scrapy.loader import ItemLoader

from newscrawl.items import LIST_FIELDS, ArticleItem
from newscrawl.parsing.text import credited_source, digits_only, normalize, normalize_paragraphs


def _norm(value, loader_context):
    """Normalize with the crawl's digit policy (setting NEWSCRAWL_TEXT_DIGITS)."""
    return normalize(value, loader_context.get("digits", "keep")) or None


def _norm_keep_digits(value):
    return normalize(value) or None


def _join_norm(values, loader_context):
    """Several text nodes of one element → one normalized string."""
    return _norm(" ".join(v for v in values if v), loader_context)


def _paragraphs(values, loader_context):
    return normalize_paragraphs(values, loader_context.get("digits", "keep")) or None


def _absolute(value, loader_context):
    value = (value or "").strip()
    if not value or value.startswith(("data:", "javascript:")):
        return None
    response = loader_context.get("response")
    return response.urljoin(value) if response is not None else value


def _unique(values):
    seen, out = set(), []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out


class ArticleLoader(ItemLoader):
    default_item_class = ArticleItem
    default_input_processor = Identity()
    default_output_processor = TakeFirst()

    # plain functions would become bound methods on the class: staticmethod keeps them processors
    title_out = kicker_out = lead_out = staticmethod(_join_norm)
    body_out = staticmethod(_paragraphs)
    published_at_raw_in = MapCompose(_norm_keep_digits)  # "as shown": digit policy never applies
    news_code_in = MapCompose(digits_only)  # ids are always ASCII
    category_in = tags_in = MapCompose(_norm)
    category_out = tags_out = staticmethod(_unique)
    images_in = MapCompose(_absolute)
    images_out = staticmethod(_unique)
    url_in = MapCompose(str.strip)

    def __init__(self, item=None, selector=None, response=None, parent=None, **context):
        # Scrapy's ItemLoader builds Selector(response), parsing the page a second time; the response's
        # cached selector is the same tree (the profile's largest single cost on a real page).
        if selector is None and response is not None:
            selector = getattr(response, "selector", None)
        super().__init__(item, selector, response, parent, **context)

    def load_item(self):
        """Fill the fields every item has, so exports always carry the whole schema."""
        item = super().load_item()
        for field in LIST_FIELDS:
            item.setdefault(field, [])
        for field in ArticleItem.fields:
            if field not in LIST_FIELDS and field != "published_at_meta":
                item.setdefault(field, None)
        item["language"] = item["language"] or "fa"
        item["crawled_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        if item.get("source") is None and item.get("body"):
            item["source"] = credited_source(item["body"])
        return item
