"""Article pages of the CMS families read with a selector map (IranSamaneh, Nastooh).

A family page reads a site's selector map (its family's `selectors` with the site's
`selector_overrides` on top); `for_site(spidercls)` makes a site's page from its spider class, which
stays data (newscrawl/spiders/sites.py). Keys: container, title, kicker, lead, lead_drop, body,
body_drop, news_code, news_code_drop, date, date_drop, category, category_fallback, tags, images.
JSON-LD and OpenGraph fill what the template lacks and give the machine-readable date that cross-checks
the shown one (newscrawl.pages.finish.publication_date).

Template versions by date (as Fundus' parser versions): a site whose layout changed declares
`template_versions`, a tuple of (until, selector overrides): each variant was live up to and including
`until` (an ISO date), the last one (until None) is live today. A page is read with the variant of its
own date (its machine-readable date, else the first date a variant's `date` selector shows), else of
its `captured_at` hint, else with today's; so a backfill of 2018 pages uses the 2018 template.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from functools import cache, cached_property
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from newscrawl.items import FIELDS
from newscrawl.pages.base import Page, field
from newscrawl.pages.finish import publication_date
from newscrawl.parsing import htmltext as html
from newscrawl.parsing import loaders, metadata
from newscrawl.parsing.dates import parse_iso, parse_jalali
from newscrawl.parsing.sanitize import clean_url
from newscrawl.parsing.selectors import sel
from newscrawl.parsing.text import credited_source

#: a closing line that is not article text
SIGNOFF_RE = r"(انتهای پیام|انتهای خبر|پایان خبر)\s*[/.]?"
#: a "read more" box inside the body links elsewhere (Khabaronline's «بیشتر بخوانید:»)
READ_MORE_RE = r"\s*(بیشتر بخوانید|بخوانید|پیشنهاد ما|مطالب مرتبط)\s*:"


def on_domain(host: str | None, domains) -> bool:
    """Whether `host` is one of `domains` or a subdomain of one (the one rule for every domain check)."""
    host = host or ""
    return any(d and (host == d or host.endswith("." + d)) for d in domains)


def rebase(url: str, real_base: str, root: str) -> str:
    """Point an absolute link on the real site (`real_base`) at `root` (e.g. the local test site)."""
    if root == real_base:
        return url
    parts = urlsplit(url)
    real_host = (urlsplit(real_base).hostname or "").removeprefix("www.")
    if parts.hostname and on_domain(parts.hostname, [real_host]):
        base = urlsplit(root)
        return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))
    return url


class ArticlePage(Page):
    """A page whose item is an article: the schema's fields (newscrawl.items.FIELDS), in its order; the
    fields every article page computes alike are here, the others in each family's class."""

    fields = FIELDS  # the item's order, whichever class declares a field

    @staticmethod
    def now() -> str:
        """crawled_at: when the item was made."""
        return datetime.now(UTC).isoformat(timespec="seconds")

    #: the site's own domains: a credit to the site itself («به گزارش ایسنا،» on isna.ir) is no source
    own_domains: tuple[str, ...] = ()

    @field
    def source(self) -> str | None:
        """The agency the body credits («به گزارش مهر،» → مهر), unless it is the site itself."""
        return credited_source(self.body, self.own_domains) if self.body else None

    @field
    def language(self) -> str:
        return "fa"

    @field
    def crawled_at(self) -> str:
        return self.now()


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

    def text(self, key: str, first_only: bool = True) -> str:
        """The text of the first element the `key` selector finds (with `first_only=False`: of the first
        found that has any), without its `<key>_drop` elements."""
        found = sel(self.scope, self.s.get(key, ""), self.index, first=True)
        return html.text_of(found[:1] if first_only else found, self.s.get(f"{key}_drop"))

    def all(self, key: str) -> list[str]:
        return sel(self.scope, self.s.get(key, ""), self.index).getall()

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
        shown = self.text("news_code", first_only=False)
        from_url = self.code_from_url(self.page_url)
        code = loaders.news_code([shown or None, from_url])
        if code and from_url and code != from_url:
            self.note("news_code_mismatch", logging.WARNING, "news code %s on page differs from URL %s",
                      code, self.page_url)
        return code

    @field(cached=True)
    def url(self) -> str:
        return self.canonical_url(self.news_code)

    @field(cached=True)
    def title(self) -> str | None:
        text = self.text("title")
        title = loaders.join_text([text] if text else [], self.digits)
        if title:
            return title
        fallback = metadata.ld_text(self.ld, "headline") or metadata.meta(self.selector, "og:title")
        return loaders.join_text([text, fallback] if text else [fallback], self.digits)

    @field
    def kicker(self) -> str | None:
        text = self.text("kicker")
        return loaders.join_text([text] if text else [], self.digits)

    @field
    def lead(self) -> str | None:
        text = self.text("lead")
        lead = loaders.join_text([text] if text else [], self.digits)
        if lead:
            return lead
        fallback = metadata.ld_text(self.ld, "description")
        return loaders.join_text([text, fallback] if text else [fallback], self.digits)

    @field(cached=True)
    def body(self) -> str | None:
        """The body's paragraphs without «بیشتر بخوانید:» boxes and a closing «انتهای پیام»."""
        found = sel(self.scope, self.s["body"], self.index, first=True)[:1]
        if not found:
            return None
        paragraphs = html.paragraphs(found[0], self.s.get("body_drop"))
        paragraphs = [p for p in paragraphs if not re.match(self.read_more_re, p)]
        while paragraphs and re.fullmatch(self.signoff_re, paragraphs[-1].strip()):
            paragraphs.pop()
        return loaders.paragraphs(paragraphs, self.digits)

    @field
    def published_at(self) -> str | None:
        return publication_date(self.published_at_raw, self.machine_date, self.url, self.note)

    @field(cached=True)
    def published_at_raw(self) -> str | None:
        return loaders.shown_date(html.strip_date_label(self.text("date", first_only=False)) or None)

    @field
    def category(self) -> list[str]:
        section = metadata.meta(self.selector, "article:section")
        values = (self.all("category") or (re.split(r"\s*[>»/]\s*", section) if section else [])
                  or self.all("category_fallback") or metadata.ld_list(self.ld, "articleSection"))
        return loaders.text_list(values, self.digits)

    @field
    def tags(self) -> list[str]:
        return loaders.text_list(self.all("tags") or metadata.ld_list(self.ld, "keywords"), self.digits)

    @field
    def images(self) -> list[str]:
        return loaders.absolute_urls(self.all("images"), self.base_url)

    # -- helpers ------------------------------------------------------------------------------------
    @cached_property
    def machine_date(self) -> str | None:
        """The machine-readable publication date: JSON-LD, article meta, else the feed's."""
        return (metadata.ld_text(self.ld, "datePublished")
                or metadata.meta(self.selector, "article:published_time", "datePublished")
                or self.listing_date)

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
        "template_versions": tuple(getattr(spidercls, "template_versions", ())),
        "signoff_re": spidercls.signoff_re, "read_more_re": spidercls.read_more_re,
        "__module__": __name__, "__doc__": f"The article page of {spidercls.name}.",
    }
    return type(f"{spidercls.__name__.removesuffix('Spider')}ArticlePage", (family,), attrs)
