"""Machine-readable article metadata: JSON-LD, OpenGraph and article/meta tags.

Every function reads a parsed page through its `xpath` method: a page object's selector
(newscrawl.pages) or a Scrapy response alike.

Sites' JSON-LD is sloppy (Tabnak writes `headLine`, some pages hold several scripts or an @graph), so
keys are looked up case-insensitively and broken scripts are skipped, never fatal. XPaths start with
`descendant::`, which libxml2 runs two to three times faster than `//`.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from newscrawl.parsing.dates import parse_iso, parse_jalali
from newscrawl.parsing.text import normalize

ARTICLE_TYPES = frozenset(
    t.lower() for t in ("NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle",
                        "BlogPosting", "WebPage", "OpinionNewsArticle", "BackgroundNewsArticle")
)


def _walk(data: Any, inside):
    """The objects of a JSON-LD document in document order, going into what `inside(obj)` gives of each.
    A loop over a stack, not recursion: pages nest JSON hundreds deep (issue 13)."""
    stack = [data]
    while stack:
        data = stack.pop()
        if isinstance(data, list):
            stack.extend(reversed(data))
        elif isinstance(data, dict):
            yield data
            stack.extend(reversed(inside(data)))


def _objects(data: Any):
    """Top-level objects and those of any @graph."""
    return _walk(data, lambda obj: [obj["@graph"]] if "@graph" in obj else [])


def _json_scripts(response):
    """The page's JSON-LD scripts, parsed; broken ones skipped (json raises RecursionError, not ValueError,
    on JSON nested deeper than Python's recursion limit)."""
    for raw in response.xpath('descendant::script[@type="application/ld+json"]/text()').getall():
        try:
            yield json.loads(raw.strip(), strict=False)
        except (ValueError, RecursionError):
            continue


def jsonld_objects(response) -> list[dict]:
    objs: list[dict] = []
    for data in _json_scripts(response):
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


def _contents(response, name: str, itemprop: bool = True) -> list[str]:
    """Non-empty contents of the <meta>s named `name` (property, name or itemprop), in page order. Open
    Graph's article namespace is `article:*`, and some CMSs write it `og:article:*` (og:article:tag,
    og:article:published_time): both are read in one pass, the `article:*` ones first when a page has both."""
    spellings = (name, "og:" + name) if name.startswith("article:") else (name,)
    attrs = ("@property", "@name", "@itemprop") if itemprop else ("@property", "@name")
    test = " or ".join(f'{attr}="{spelling}"' for spelling in spellings for attr in attrs)
    found = [(node.attrib.get("property") == name or node.attrib.get("name") == name
              or node.attrib.get("itemprop") == name, (node.attrib.get("content") or "").strip())
             for node in response.xpath(f"descendant::meta[{test}]")]
    plain = [content for is_plain, content in found if is_plain and content]
    return plain or [content for is_plain, content in found if not is_plain and content]


def meta(response, *names: str) -> str | None:
    """Content of the first <meta> whose property, name or itemprop is one of `names` (article:* also
    written og:article:*)."""
    for name in names:
        values = _contents(response, name)
        if values:
            return values[0]
    return None


def meta_all(response, name: str) -> list[str]:
    """Contents of every <meta> whose property or name is `name`, in page order (article:* also written
    og:article:*, read when the page has none of the first spelling)."""
    return _contents(response, name, itemprop=False)


# -- what the generic spider reads (site spiders read their templates first) -------------------------------
#: machine-readable publication dates, most specific first
DATE_META = ("article:published_time", "datePublished", "og:published_time", "published_time", "pubdate",
             "publishdate", "publish-date", "DC.date.issued", "dcterms.created")
_TITLE_PARTS = re.compile(r"\s+[-|–—]\s+")


def published_date(response, ld: dict) -> str | None:
    """The first publication date the page states in metadata that is a date: JSON-LD datePublished,
    article:published_time and kin, then <time datetime> marked as the publication. ISO or Jalali text,
    as written (Tabnak puts «۱۳۹۷/۰۴/۳۰ - ۰۰:۲۰» in article:published_time); None when none is."""
    candidates = [ld_text(ld, "datePublished")]
    candidates += [meta(response, name) for name in DATE_META]
    candidates += response.xpath('//time[@itemprop="datePublished" or @pubdate]/@datetime').getall()
    for value in candidates:
        if value and (parse_iso(value) is not None or parse_jalali(value) is not None):
            return value.strip()
    return None


def headline(response, ld: dict) -> str | None:
    """The article's title: the <h1> that the metadata titles confirm (og:title, twitter:title, JSON-LD
    headline, <title> or a part of it between « - » or « | »; equal, or one a prefix of the other and at
    least half as long; a ZWNJ and a space compare equal), else the first of those metadata titles, else
    <title>'s longest part."""
    stated = [normalize(n) for n in (meta(response, "og:title"), meta(response, "twitter:title"),
                                     ld_text(ld, "headline"))]
    page_title = normalize(response.xpath("//title/text()").get())
    names = [n for n in (*stated, page_title, *_TITLE_PARTS.split(page_title)) if n]
    loose = [n.replace("\u200c", " ") for n in names]  # metadata often spells a ZWNJ as a space
    for h1 in response.xpath("//h1"):
        text = normalize(" ".join(h1.xpath(".//text()").getall()))
        for name in loose:
            short, long = sorted((text.replace("\u200c", " "), name), key=len)
            if short and long.startswith(short) and len(short) * 2 >= len(long):
                return text
    first = next((n for n in stated if n), None)
    if first or not page_title:
        return first
    return max(_TITLE_PARTS.split(page_title), key=len)


def ld_is_article(obj: dict) -> bool:
    """True for a JSON-LD article type (NewsArticle, Article, ...), not a bare WebPage."""
    return bool(_types(obj) & (ARTICLE_TYPES - {"webpage"}))


#: breadcrumb names of the home link, never a category
HOME = frozenset({"خانه", "صفحه اصلی", "صفحه نخست", "home", "homepage"})


def _position(entry: dict) -> int:
    try:
        return int(entry.get("position", 0))
    except (TypeError, ValueError):
        return 0


def _url_key(url: str) -> tuple[str, ...]:
    """A URL as compared with the page's: host without «www.», decoded path without its final slash,
    query; a relative URL (no host) by path and query alone."""
    parts = urlsplit(url.strip())
    path = unquote(parts.path).rstrip("/")
    host = (parts.hostname or "").removeprefix("www.")
    return (host, path, parts.query) if host else (path, parts.query)


def _same_url(url: str, page_urls: list[str]) -> bool:
    key = _url_key(url)
    return any(_url_key(u)[-len(key):] == key for u in page_urls)


def _loose(text: str) -> str:
    """A title as compared with another: normalized, a ZWNJ as a space, without a trailing ellipsis."""
    return normalize(text).replace("\u200c", " ").rstrip("…. ")


def _is_the_article(name: str | None, url: str | None, response) -> bool:
    """Whether a breadcrumb's last item is the article itself: its name is the page's headline (the <h1>
    or a metadata title; a shortened «…» name as its start), or its URL is the page's (rel=canonical,
    og:url, the JSON-LD article's url or mainEntityOfPage)."""
    if url:
        ld = jsonld_article(response)
        page_urls = [response.xpath('descendant::link[@rel="canonical"]/@href').get(), meta(response, "og:url"),
                     ld_text(ld, "url"), ld_text(ld, "mainEntityOfPage")]
        if _same_url(url, [u for u in page_urls if u]):
            return True
    if name:
        ld = jsonld_article(response)
        titles = [meta(response, "og:title"), meta(response, "twitter:title"), ld_text(ld, "headline"),
                  ld_text(ld, "name"), *(" ".join(h.xpath(".//text()").getall()) for h in response.xpath("//h1"))]
        crumb = _loose(name)
        shortened = name.rstrip().endswith(("…", "..."))
        for title in filter(None, titles):
            title = _loose(title)
            if title == crumb or (shortened and crumb and title.startswith(crumb)):
                return True
    return False


def ld_breadcrumb(response) -> list[str]:
    """Names in the page's JSON-LD BreadcrumbList (wherever it is nested), most general first, without
    empty names, the home link and a last item that is the article itself (many CMSs end the trail
    with the headline: it is no category)."""

    for data in _json_scripts(response):
        everything = _walk(data, lambda obj: list(obj.values()))  # a BreadcrumbList may sit anywhere
        for crumbs in (obj for obj in everything if "breadcrumblist" in _types(obj)):
            items = crumbs.get("itemListElement") or []
            items = sorted((i for i in items if isinstance(i, dict)), key=_position)
            names = []
            for position, entry in enumerate(items, 1):
                item = entry.get("item")
                name = entry.get("name") or (item.get("name") if isinstance(item, dict) else None)
                if not isinstance(name, str) or not name.strip() or name.strip().lower() in HOME:
                    continue
                if position == len(items):
                    url = entry.get("url") or (item.get("@id") or item.get("url") if isinstance(item, dict) else item)
                    if _is_the_article(name, url if isinstance(url, str) else None, response):
                        continue
                names.append(name.strip())
            if names:
                return names
    return []
