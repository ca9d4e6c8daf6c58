"""Machine-readable article metadata: JSON-LD, OpenGraph and article/meta tags.

Sites' JSON-LD is sloppy (Tabnak writes `headLine`, some pages hold several scripts or an @graph), so
keys are looked up case-insensitively and broken scripts are skipped, never fatal.
"""

from __future__ import annotations

import json
from typing import Any

ARTICLE_TYPES = frozenset(
    t.lower() for t in ("NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle",
                        "BlogPosting", "WebPage", "OpinionNewsArticle", "BackgroundNewsArticle")
)


def _objects(data: Any):
    if isinstance(data, list):
        for entry in data:
            yield from _objects(entry)
    elif isinstance(data, dict):
        yield data
        if "@graph" in data:
            yield from _objects(data["@graph"])


def jsonld_objects(response) -> list[dict]:
    objs: list[dict] = []
    for raw in response.xpath('//script[@type="application/ld+json"]/text()').getall():
        try:
            data = json.loads(raw.strip(), strict=False)
        except ValueError:
            continue
        objs.extend(_objects(data))
    return objs


def _types(obj: dict) -> set[str]:
    value = obj.get("@type", [])
    values = value if isinstance(value, list) else [value]
    return {str(v).lower() for v in values}


def jsonld_article(response) -> dict:
    """The page's article object with lower-cased keys ({} when none). WebPage only if nothing better."""
    found: dict = {}
    for obj in jsonld_objects(response):
        kinds = _types(obj) & ARTICLE_TYPES
        if kinds and (not found or kinds != {"webpage"}):
            found = {str(k).lower(): v for k, v in obj.items()}
            if kinds != {"webpage"}:
                break
    return found


def ld_text(obj: dict, key: str) -> str | None:
    """A scalar JSON-LD value as text (first of a list, `name` of an object)."""
    value = obj.get(key.lower())
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("url") or value.get("@id")
    return str(value) if value not in (None, "") else None


def ld_list(obj: dict, key: str) -> list[str]:
    value = obj.get(key.lower())
    if value in (None, ""):
        return []
    values = value if isinstance(value, list) else [value]
    out = []
    for v in values:
        if isinstance(v, dict):
            v = v.get("url") or v.get("name") or v.get("@id")
        if isinstance(v, str):
            out.extend(p.strip() for p in v.split(",") if p.strip()) if key == "keywords" else out.append(v)
    return out


def meta(response, *names: str) -> str | None:
    """Content of the first <meta> whose property, name or itemprop is one of `names`."""
    for name in names:
        value = response.xpath(
            f'//meta[@property="{name}" or @name="{name}" or @itemprop="{name}"]/@content'
        ).get()
        if value and value.strip():
            return value.strip()
    return None


def meta_all(response, name: str) -> list[str]:
    return [v.strip() for v in response.xpath(f'//meta[@property="{name}" or @name="{name}"]/@content').getall()
            if v.strip()]
