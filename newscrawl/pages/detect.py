"""Which CMS family made a page, from its markup: an article of a host with no declaration of its own is
read with its family's selector map (newscrawl.pages.article) instead of the generic page.

Why: most Persian news sites run one of a few CMSs and have no spider of their own; a family's selectors
read kicker, lead, category path, tags and the shown date exactly where the generic page can only guess.
The markers, and why each is trusted (evidence: ../shared/realpages/SELECTORS.md):

- Nastooh: `<meta name="generator" content="www.nastooh.ir">` or any `<meta property="nastooh:…">`
  (nastooh:code, nastooh:publishDate, …). Every Nastooh page carries both [HTML: ISNA 2019]; no other CMS
  names itself so. One is enough.
- IranSamaneh, one of: the theme's assets (`/client/themes/fa/…`, `lib.iransamaneh_*.js` [HTML: Tabnak,
  YJC, Asriran]) or the footer credit (`div.iransamaneh`, a link to iransamaneh.com [HTML: Tabnak]); else
  two or more of the CMS's own class names for the article's boxes: `news_id_c`, `news_pdate_c`,
  `news_path`, `news_path2`, `gutter_news`, `Htag`, `Htags`, `fa_date`, `newsbody_servicename`,
  `tags_title`, `tag_items` [HTML: Tabnak, YJC; code: Targoman's clsIransamaneh]. Copies and later
  templates drop the assets and the credit but keep those boxes; two are required because one (a
  `news_path`) may be any site's. `rutitr` is not a marker: it is the Persian word for a kicker, and
  any site may name a class after it.

A marker is not enough: the family's map must find a title and a body, or the generic page reads the
page (a family's home or section page, or a template or site layout the family map does not know). A
page read with its family is counted as `newscrawl/family/<name>`, one that names a family but that the
family map cannot read as `newscrawl/family/<name>/unread`.

On a host with no declaration the family page is the family's own (no site's overrides). `site` is the
host's registered domain as the generic page names it («news.example.ir» → «example.ir»), so dedup keys
are those of a generic crawl of the host. `url` is its rel=canonical when on the host and naming the
same code, else the fetched URL cut after the code when it has the family's shape (`…/fa/news/<id>`,
slug dropped; a site's page puts `/fa/news/<id>` on its own root, a path this host may not use).
`news_code` is the code the page shows or the URL's, else the generic rule (the URL's id: digits, or a site id such as d1Gjx; else
a hash). Every other field is the one the site's spider gives, except that a relative image URL is
resolved against the host the page was served from and the site's own name credited in the body is a
source here (another outlet for this host).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from urllib.parse import urlsplit

from scrapy.utils.misc import load_object

from newscrawl.pages.article import TemplateArticlePage
from newscrawl.pages.base import Page, field

__all__ = ["FAMILIES", "detect_family", "family_page", "read_as_family"]

#: a family's name → its spider class, the one home of its selector map and URL rules (loaded when used:
#: pages import nothing of the spiders at import time)
FAMILIES = {"nastooh": "newscrawl.spiders.nastooh.NastoohSpider",
            "iransamaneh": "newscrawl.spiders.iransamaneh.IranSamanehSpider"}

_NASTOOH = ('//meta[@name="generator"][contains(@content, "nastooh")]'
            ' | //meta[starts-with(@property, "nastooh:")]')
_IRANSAMANEH_ASSETS = ('//script[contains(@src, "/client/themes/fa/") or contains(@src, "lib.iransamaneh")]'
                       ' | //link[contains(@href, "/client/themes/fa/")]'
                       ' | //a[contains(@href, "iransamaneh.com")] | //div[@class="iransamaneh"]')
_IRANSAMANEH_CLASSES = ("news_id_c", "news_pdate_c", "news_path", "news_path2", "gutter_news", "Htag", "Htags",
                        "fa_date", "newsbody_servicename", "tags_title", "tag_items")


def detect_family(page: Page) -> str | None:
    """The CMS family the page's markup names (module docstring), else None."""
    selector = page.selector
    if selector.xpath(_NASTOOH):
        return "nastooh"
    index = page.index
    if sum(index.has(".", name) for name in _IRANSAMANEH_CLASSES) >= 2 or selector.xpath(_IRANSAMANEH_ASSETS):
        return "iransamaneh"
    return None


class HostFamilyPage(TemplateArticlePage):
    """A family's page on a host with no declaration: what differs from a site's page (module docstring)."""

    @field(cached=True)
    def news_code(self) -> str | None:
        from newscrawl.pages.generic import news_code_for

        return TemplateArticlePage.news_code.method(self) or news_code_for(self.page_url)

    def canonical_url(self, code: str | None) -> str:
        """rel=canonical as a site's page takes it; else the fetched URL, cut after its code when it has
        the family's shape (the slug dropped, a path prefix before it kept: the host's own form)."""
        self.article_path = None  # the family's short form is its sites' path, not necessarily this host's
        url = super().canonical_url(code)
        found = re.search(self.article_url_re, url) if url == self.page_url else None
        return url[:found.end()] if found and found.group(1) == code else url


def family_page(family: str, url: str) -> type[TemplateArticlePage]:
    """The page class of `family` for the host of `url` (one class per family, scheme and host)."""
    parts = urlsplit(url)
    return _host_page(family, parts.scheme, parts.netloc.lower())


@lru_cache(maxsize=1024)
def _host_page(family: str, scheme: str, netloc: str) -> type[TemplateArticlePage]:
    from newscrawl.pages.generic import registered_domain

    spidercls = load_object(FAMILIES[family])
    root = f"{scheme}://{netloc}"
    host = urlsplit(root).hostname or ""
    attrs = {
        "site_name": registered_domain(host), "base_url_real": root, "root": root, "domains": (host,),
        "article_path": spidercls.article_path, "article_url_re": spidercls.article_url_re,
        "selectors": dict(spidercls.selectors), "template_versions": (),
        "signoff_re": spidercls.signoff_re, "read_more_re": spidercls.read_more_re,
        "__module__": __name__, "__doc__": f"The {family} article page of {host}.",
    }
    name = re.sub(r"\W", "_", f"{spidercls.page_class.__name__}_{host}")
    return type(name, (HostFamilyPage, spidercls.page_class), attrs)


def read_as_family(page: Page) -> TemplateArticlePage | None:
    """The page (its parse reused) as its family's page when its markup names a family whose map finds
    a title and a body; None otherwise. Counted (notes `family/<name>`, `family/<name>/unread`) on `page`'s notes
    when None, on the returned page's otherwise."""
    family = detect_family(page)
    if family is None:
        return None
    cls = family_page(family, page.page_url)
    reading = cls(page.page_url, page.page_body, page.headers, encoding=page.encoding,
                  listing_date=page.listing_date, captured_at=page.captured_at, from_feed=page.from_feed,
                  digits=page.digits, selector=page.selector, index=page.index)
    # the family's body selectors must match: else a family page's fields would be the generic page's
    if reading.body_found is None or not reading.title:
        page.note(f"family/{family}/unread", logging.INFO, "%s names the %s CMS, whose selectors find no "
                  "title or body: read as a generic page", page.page_url, family)
        return None
    reading.note(f"family/{family}", logging.DEBUG, "%s read as a %s page", page.page_url, family)
    return reading
