"""Article pages of the CMS families read with a selector map (IranSamaneh, Nastooh).

A family page reads a site's selector map (its family's `selectors` with the site's
`selector_overrides` on top); `for_site(spidercls)` makes a site's page from its spider class, which
stays data (newscrawl/spiders/sites.py). Keys: container, title, kicker, lead, lead_drop, body,
body_drop, news_code, news_code_drop, date, date_drop, category, category_fallback, tags, images.
JSON-LD and OpenGraph fill what the template lacks and give the machine-readable date that cross-checks
the shown one (newscrawl.pages.finish.publication_date).

Fallbacks (docs/reliability.md, "Fallbacks and provenance"): each field is read from the site's selector,
then its family's (when the site overrides it), then the page's metadata (JSON-LD, OpenGraph, other meta
tags), then, on a page whose body selector matches nothing (a changed template), the generic page's
reading; the item's `provenance` names the source of each field, and a field a declared selector should
have given but a later source did is noted as `fallback/<field>`. A page whose selectors match pays
nothing for this: the later sources are read only when the earlier ones gave nothing.

Template versions by date (as Fundus' parser versions): a site whose layout changed declares
`template_versions`, a tuple of (until, selector overrides): each variant was live up to and including
`until` (an ISO date), the last one (until None) is live today. A page is read with the variant of its
own date (its machine-readable date, else the first date a variant's `date` selector shows), else of
its `captured_at` hint, else with today's; so a backfill of 2018 pages uses the 2018 template.
"""

from __future__ import annotations

import logging
import re
from datetime import date
from functools import cache, cached_property
from typing import ClassVar
from urllib.parse import urlsplit

from newscrawl.pages.base import field
from newscrawl.pages.common import READ_MORE_RE, SIGNOFF_RE, ArticlePage, meta_source, on_domain, rebase
from newscrawl.pages.finish import publication_date
from newscrawl.parsing import htmltext as html
from newscrawl.parsing import loaders, metadata
from newscrawl.parsing.dates import parse_iso, parse_jalali
from newscrawl.parsing.sanitize import clean_url, strip_markup
from newscrawl.parsing.selectors import sel


class TemplateArticlePage(ArticlePage):
    """An article read with a selector map. Class attributes are the site's data (see `for_site`)."""

    site_name: ClassVar[str] = ""
    #: the site's real root (`base_url`), and the root this crawl reads it at (the local test site)
    base_url_real: ClassVar[str] = ""
    root: ClassVar[str] = ""
    domains: ClassVar[tuple[str, ...]] = ()
    article_path: ClassVar[str | None] = None
    article_url_re: ClassVar[str] = r"/news/(\d+)"
    selectors: ClassVar[dict[str, str]] = {}
    #: the family's own selectors (the site's `selectors` are these with its overrides on top)
    family_selectors: ClassVar[dict[str, str]] = {}
    template_versions: ClassVar[tuple[tuple[str | None, dict[str, str]], ...]] = ()
    signoff_re: ClassVar[str] = SIGNOFF_RE

    @property
    def own_domains(self) -> tuple[str, ...]:
        return self.domains
    read_more_re: ClassVar[str] = READ_MORE_RE

    @classmethod
    def for_site(cls, spidercls, root: str | None = None) -> type[TemplateArticlePage]:
        """The page class of a site spider (its `page_class`, selector map and URL rules); `root`: the
        `base_url` a crawl reads the site at, when not its real one."""
        return _site_page(cls, spidercls, root or spidercls.base_url)

    # -- the template ---------------------------------------------------------------------------------
    @cached_property
    def s(self) -> dict[str, str]:
        """The selector map this page is read with: the site's, with its template variant on top."""
        if not self.template_versions:
            return self.selectors
        return {**self.selectors, **self.template_variant()}

    def template_variant(self) -> dict[str, str]:
        """The selector overrides of the template live when this page was published (module docstring)."""
        day = self.version_date()
        for until, overrides in self.template_versions:
            if until is None or (day is not None and day <= date.fromisoformat(until)):
                return overrides
        return self.template_versions[-1][1]

    def version_date(self) -> date | None:
        """The page's own date (machine-readable, else as a variant's `date` selector shows it), else the
        `captured_at` hint; None when neither says."""
        machine = parse_iso(self.machine_date)
        if machine is not None:
            return machine.date()
        for _, overrides in self.template_versions:
            query = overrides.get("date", self.selectors.get("date", ""))
            drop = overrides.get("date_drop", self.selectors.get("date_drop"))
            shown = html.text_of(sel(self.selector, query, self.index, first=True), drop)
            shown = parse_jalali(html.strip_date_label(shown)) if shown else None
            if shown is not None:
                return shown.date()
        captured = self.captured_at
        if isinstance(captured, str):
            captured = parse_iso(captured)
        return captured.date() if captured is not None else None

    @cached_property
    def scope(self):
        """The article's container (the whole page when the map has none or the page lacks it)."""
        s = self.s
        found = sel(self.selector, s["container"], self.index, first=True)[:1] if s.get("container") else None
        return found[0] if found else self.selector

    def queries(self, key: str) -> list[tuple[str, str]]:
        """The selectors of `key` to try, each with its source: the site's own (an override or template
        variant), then the family's; only the family's when the site has none of its own."""
        own, family = self.s.get(key), self.family_selectors.get(key)
        if not self.family_selectors:  # a family's own page (a host without a declaration: pages.detect)
            return [(own, "family")] if own else []
        if not own:
            return [(family, "family")] if family else []
        if family == own:
            return [(own, "family")]
        return [(own, "site"), (family, "family")] if family else [(own, "site")]

    def text(self, key: str, first_only: bool = True) -> str:
        """The text of the first element the `key` selector finds (with `first_only=False`: of the first
        found that has any), without its `<key>_drop` elements."""
        return self.text_from(key, first_only)[0]

    def text_from(self, key: str, first_only: bool = True) -> tuple[str, str]:
        """(text, source) of the first of `queries(key)` that gives any ("" when none does)."""
        for query, source in self.queries(key):
            found = sel(self.scope, query, self.index, first=True)
            text = html.text_of(found[:1] if first_only else found, self.s.get(f"{key}_drop"))
            if text:
                return text, source
        return "", ""

    def all(self, key: str) -> list[str]:
        return self.all_from(key)[0]

    def all_from(self, key: str) -> tuple[list[str], str]:
        for query, source in self.queries(key):
            values = sel(self.scope, query, self.index).getall()
            if values:
                return values, source
        return [], ""

    def metadata_text(self, ld_key: str | None, *names: str) -> tuple[str | None, str]:
        """(value, source) of the JSON-LD article's `ld_key`, else the first meta tag of `names` present."""
        value = metadata.ld_text(self.ld, ld_key) if ld_key else None
        if value:
            return value, "jsonld"
        for name in names:
            value = metadata.meta(self.selector, name)
            if value:
                return value, meta_source(name)
        return None, ""

    @cached_property
    def body_found(self):
        """(the body's element, its source), or None: the template has changed (or the page is no article)."""
        for query, source in self.queries("body"):
            found = sel(self.scope, query, self.index, first=True)[:1]
            if found:
                return found[0], source
        return None

    @property
    def drifted(self) -> bool:
        """Whether the body selectors find nothing: the generic page's reading then fills what is missing."""
        return self.body_found is None

    @cached_property
    def generic(self):
        """The generic page over the same parse (newscrawl.pages.generic), for a drifted page's fields."""
        from newscrawl.pages.generic import GenericArticlePage

        return GenericArticlePage(self.page_url, self.page_body, self.headers, encoding=self.encoding,
                                  listing_date=self.listing_date, captured_at=self.captured_at,
                                  from_feed=self.from_feed, digits=self.digits, selector=self.selector,
                                  index=self.index)

    def from_generic(self, name: str, value=None):
        """The generic page's `name` when `value` is empty and the page drifted, recorded as `generic`."""
        if value or not self.drifted:
            return value
        return self.took(name, "generic", getattr(self.generic, name))

    def generic_body(self) -> str | None:
        """The generic page's body for a page whose body selectors find nothing, unless it holds the lead,
        kicker or shown date this page's selectors read: then it is the page's header and chrome, not an
        article (a photo report has no text body, and trafilatura returns its whole page): None, and the
        item is dropped as missing_body, as before the fallback."""
        body = self.generic.body
        if not body:
            return None
        flat = " ".join(body.split())
        header = [(text := getattr(self, name)) and self.sources.get(name) in ("site", "family") and text
                  for name in ("lead", "kicker", "published_at_raw")]
        if any(text and " ".join(text.split()) in flat for text in header):
            self.note("fallback_rejected/body", logging.INFO, "the generic body of %s holds its header: "
                      "not taken", self.page_url)
            return None
        return body

    def to_item(self) -> dict:
        """The item, each field a declared selector should have given but a later source did noted as
        `fallback/<field>` (counted per field in a crawl; the Fallbacks monitor warns about them)."""
        item = super().to_item()
        for name, source in item["provenance"].items():
            keys, also = FALLBACK_KEYS.get(name, ((), ()))
            first = {queries[0][1] for key in keys if (queries := self.queries(key))}
            if first and source not in first | set(also):
                self.note(f"fallback/{name}", logging.DEBUG, "%s of %s from %s: the %s selector found nothing",
                          name, self.page_url, source, "/".join(sorted(first)))
        return item

    @cached_property
    def ld(self) -> dict:
        return metadata.jsonld_article(self.selector)

    # -- fields, in the item's order ----------------------------------------------------------------
    @field
    def site(self) -> str:
        return self.site_name

    @field(cached=True)
    def news_code(self) -> str | None:
        """The code the page shows, else the URL's; a page showing another code than its URL is noted."""
        shown, source = self.text_from("news_code", first_only=False)
        from_url = self.code_from_url(self.page_url)
        shown_code = loaders.news_code([shown or None])
        code = shown_code or loaders.news_code([from_url])
        self.took("news_code", source if shown_code else "url", code)
        if code and from_url and code != from_url:
            self.note("news_code_mismatch", logging.WARNING, "news code %s on page differs from URL %s",
                      code, self.page_url)
        return code

    @field(cached=True)
    def url(self) -> str:
        return self.canonical_url(self.news_code)

    @field(cached=True)
    def title(self) -> str | None:
        return self.line("title", "headline", "og:title", "DC.title", "dcterms.title")

    @field
    def kicker(self) -> str | None:
        return self.line("kicker")

    @field
    def lead(self) -> str | None:
        return self.line("lead", "description", "DC.description", "dcterms.abstract")

    def line(self, name: str, *metadata_names: str) -> str | None:
        """A one-line field's chain: the template's selectors, then the page metadata named (if any), then
        the generic page's value when the page drifted (from_generic)."""
        text, source = self.text_from(name)
        value = self.took(name, source, loaders.join_text([text] if text else [], self.digits))
        if value:
            return value
        if metadata_names:
            fallback, source = self.metadata_text(*metadata_names)
            value = self.took(name, source, loaders.join_text([text, fallback] if text else [fallback], self.digits))
        return self.from_generic(name, value)

    @field(cached=True)
    def body(self) -> str | None:
        """The body's paragraphs without «بیشتر بخوانید:» boxes and a closing «انتهای پیام»."""
        if self.body_found is None:
            return self.took("body", "generic", self.generic_body())
        found, source = self.body_found
        paragraphs = html.paragraphs(found, self.s.get("body_drop"))
        paragraphs = [p for p in paragraphs if not re.match(self.read_more_re, p)]
        while paragraphs and re.fullmatch(self.signoff_re, paragraphs[-1].strip()):
            paragraphs.pop()
        return self.took("body", source, loaders.paragraphs(paragraphs, self.digits))

    @field
    def published_at(self) -> str | None:
        raw = self.published_at_raw
        value = publication_date(raw, self.machine_date, self.url, self.note)
        if value and raw and parse_jalali(strip_markup(raw)) is not None:
            return self.took("published_at", self.sources["published_at_raw"], value)
        return self.took("published_at", self.machine_date_source, value)

    @field(cached=True)
    def published_at_raw(self) -> str | None:
        text, source = self.text_from("date", first_only=False)
        raw = self.took("published_at_raw", source, loaders.shown_date(html.strip_date_label(text) or None))
        if raw or self.machine_date:
            return raw
        return self.from_generic("published_at_raw")

    @field
    def category(self) -> list[str]:
        values, source = self.all_from("category")
        if not values:
            section = metadata.meta(self.selector, "article:section")
            values, source = (re.split(r"\s*[>»/]\s*", section), "opengraph") if section else ([], "")
        if not values:
            values, source = self.all_from("category_fallback")
        if not values:
            values, source = metadata.ld_list(self.ld, "articleSection"), "jsonld"
        if not values and self.drifted:
            values, source = metadata.ld_breadcrumb(self.selector), "jsonld"
        return self.took("category", source, loaders.text_list(values, self.digits))

    @field
    def tags(self) -> list[str]:
        values, source = self.all_from("tags")
        if not values:
            values, source = metadata.ld_list(self.ld, "keywords"), "jsonld"
        return self.from_generic("tags", self.took("tags", source, loaders.text_list(values, self.digits)))

    @field
    def images(self) -> list[str]:
        values, source = self.all_from("images")
        images = self.took("images", source, loaders.absolute_urls(values, self.base_url))
        return self.from_generic("images", images)

    # -- helpers ------------------------------------------------------------------------------------
    @cached_property
    def machine_date(self) -> str | None:
        """The machine-readable publication date: JSON-LD, article meta, Dublin Core, else the feed's."""
        return self._machine_date[0]

    @property
    def machine_date_source(self) -> str:
        return self._machine_date[1]

    @cached_property
    def _machine_date(self) -> tuple[str | None, str]:
        value, source = self.metadata_text("datePublished", *MACHINE_DATE_META)
        if value:
            return value, source
        return self.listing_date, "feed" if self.listing_date else ""

    @classmethod
    def code_from_url(cls, url: str) -> str | None:
        m = re.search(cls.article_url_re, url)
        return m.group(1) if m else None

    def canonical_url(self, code: str | None) -> str:
        """The article's stable URL: rel=canonical when it names the same news code, else the short
        `article_path` form (slug-less, so /fa/news/1 and /fa/news/1/slug are one article).

        A canonical that is no absolute http(s) URL («javascript:…//www.tabnak.ir/fa/news/1») or is longer
        than MAX_URL_LENGTH is ignored and noted as `url/unsafe_canonical`; one off the site's domains, or
        on the site's host at another port, as `url/offsite_canonical`."""
        canonical = self.xpath('descendant::link[@rel="canonical"]/@href').get()
        if canonical and code and self.code_from_url(canonical) == code:
            url, problem = clean_url(rebase(self.urljoin(canonical.strip()), self.base_url_real, self.root))
            if url:
                parts, root = urlsplit(url), urlsplit(self.root)
                ports = [p.port or {"http": 80, "https": 443}[p.scheme] for p in (parts, root)]
                if on_domain(parts.hostname, self.domains) and (
                        ports[0] == ports[1] or parts.port is root.port is None):
                    return url
                problem = "offsite"
            kind = "offsite" if problem == "offsite" else "unsafe"
            level = logging.WARNING if kind == "unsafe" else logging.INFO  # an off-site one is harmless
            self.note(f"url/{kind}_canonical", level, "ignored the %s rel=canonical of %s (%s)", kind,
                      self.page_url, problem)
        if code and self.article_path:
            return self.root + self.article_path.format(id=code)
        return self.page_url


#: field -> (the selector keys it is read with, other sources that are part of the template's own chain):
#: a value from any later source counts `fallback/<field>`. A family reads article:section between its
#: category selector and its fallback one (ISNA's pages give the section there, not in a breadcrumb).
FALLBACK_KEYS = {"title": (("title",), ()), "kicker": (("kicker",), ()), "lead": (("lead",), ()),
                 "body": (("body",), ()), "published_at": (("date",), ()),
                 "category": (("category", "category_fallback"), ("opengraph",)), "tags": (("tags",), ()),
                 "images": (("images",), ()), "news_code": (("news_code",), ())}
#: machine-readable dates after JSON-LD's datePublished, in order (Dublin Core last)
MACHINE_DATE_META = ("article:published_time", "datePublished", "DC.date.issued", "dcterms.created",
                     "dcterms.issued", "DC.date")


class IranSamanehArticlePage(TemplateArticlePage):
    """IranSamaneh (Tabnak, YJC, Asriran, ...); its selector map is the family spider's."""


class NastoohArticlePage(TemplateArticlePage):
    """Nastooh (ISNA, Mehr, IRNA, Hamshahri Online, Khabaronline)."""


@cache
def _site_page(family: type[TemplateArticlePage], spidercls, root: str) -> type[TemplateArticlePage]:
    hosts = {urlsplit(root).hostname or ""} | set(getattr(spidercls, "allowed_domains", None) or [])
    attrs = {
        "site_name": spidercls.name, "base_url_real": spidercls.base_url, "root": root.rstrip("/"),
        "domains": tuple(sorted(h for h in hosts if h)), "article_path": spidercls.article_path,
        "article_url_re": spidercls.article_url_re, "selectors": spidercls.selector_map(),
        "family_selectors": dict(spidercls.selectors),
        "template_versions": tuple(getattr(spidercls, "template_versions", ())),
        "signoff_re": spidercls.signoff_re, "read_more_re": spidercls.read_more_re,
        "__module__": __name__, "__doc__": f"The article page of {spidercls.name}.",
    }
    return type(f"{spidercls.__name__.removesuffix('Spider')}ArticlePage", (family,), attrs)
