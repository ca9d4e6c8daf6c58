"""Field processors: how every field of an article is cleaned, the same way for every site and page.

Plain functions, not Scrapy's ItemLoader: a page object computes each field on its own (newscrawl.pages),
so all a field needs is the function that cleans its values, and no loader state to carry around. Each
keeps the rule the item loader had: text normalized with the crawl's digit policy (setting
NEWSCRAWL_TEXT_DIGITS), a family's ids ASCII digits and any other site's id as the item schema allows
it, the date as shown with its digits kept, lists without empty or repeated values, image URLs absolute.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import urljoin

from newscrawl.items import ArticleItem
from newscrawl.parsing.text import ascii_digits, digits_only, normalize, normalize_paragraphs

#: a stored news code, as the item schema declares it (newscrawl.items): ASCII letters, digits, - and _
NEWS_CODE = re.compile(ArticleItem.fields["news_code"]["rules"]["pattern"])


def join_text(values: Iterable[str | None], digits: str = "keep") -> str | None:
    """Several text nodes of one element → one normalized string (None when empty)."""
    return normalize(" ".join(v for v in values if v), digits) or None


def paragraphs(values: Iterable[str], digits: str = "keep") -> str | None:
    """Paragraph texts → the body, paragraphs separated by a blank line (None when empty)."""
    return normalize_paragraphs(list(values), digits) or None


def shown_date(value: str | None) -> str | None:
    """The date as shown: normalized, its digits always kept as written."""
    return normalize(value) or None if value else None


def first(values: Iterable, clean: Callable = lambda v: v):
    """The first value that is neither None nor "" once cleaned (ItemLoader's TakeFirst)."""
    for value in values:
        if value is None:
            continue
        value = clean(value)
        if value is not None and value != "":
            return value
    return None


def news_code(values: Iterable[str | None]) -> str | None:
    """A family page's code: the first value holding digits, as ASCII digits (ids are never Persian digits).
    IranSamaneh and Nastooh number their articles, so the digits of «کد خبر: ۸۱۸۲۴۲» are the whole id."""
    return first(values, digits_only)


def site_code(text: str | None) -> str | None:
    """Any site's own id as its page shows it after the label («d1Gjx», «۸۱۸۲۴۲» → "818242"), else None.

    The first word of `text` up to a separator (| ، , ؛ ;), Persian digits made ASCII, when it is a whole
    news code (NEWS_CODE) and no other ASCII word follows it: «ab cd», «../x», «d1Gjxب» or 33 characters
    are no id, so the page falls back to its URL rather than store part of one. A Persian word after it
    («818242 تاریخ انتشار») ends it."""
    if not text:
        return None
    words = re.split(r"[|،,؛;]", ascii_digits(normalize(text)), maxsplit=1)[0].split()
    if not words:
        return None
    code = words[0].rstrip(".:")
    if not NEWS_CODE.fullmatch(code) or (len(words) > 1 and re.match(r"[A-Za-z0-9]", words[1])):
        return None
    return code


def text_list(values: Iterable[str | None], digits: str = "keep") -> list[str]:
    """Category or tags: each value normalized, empty and repeated ones dropped, page order kept."""
    return unique(normalize(v, digits) or None for v in values if v is not None)


def absolute_urls(values: Iterable[str | None], base_url: str) -> list[str]:
    """Image URLs made absolute against the page's base URL; data: and javascript: ones dropped."""
    out = []
    for value in values:
        value = (value or "").strip()
        if value and not value.startswith(("data:", "javascript:")):
            out.append(urljoin(base_url, value))
    return unique(out)


def unique(values: Iterable) -> list:
    """Values without empty and repeated ones, in their order."""
    seen, out = set(), []
    for v in values:
        if v and v not in seen:
            seen.add(v)
            out.append(v)
    return out
