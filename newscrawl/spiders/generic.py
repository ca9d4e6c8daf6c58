"""`scrapy crawl generic`: any news site, without a selector map.

Why: most Persian news sites have no family in newscrawl, yet their articles should come out in the same
schema, through the same loaders, Jalali date handling and pipelines. Fields come from the page's
machine-readable metadata (JSON-LD NewsArticle, OpenGraph, article:* and itemprop meta), the body from
trafilatura, and the date, when no metadata gives one, from a Jalali date in the visible text.

trafilatura deletes every character that is not printable (every ZWNJ, and a private-use placeholder
too) wherever it cleans text: in its text output, and in the body its fallback extractors and baseline
produce. Its main extractor's tree keeps them, so the body is read from the tree, and each ZWNJ is
swapped for a printable placeholder absent from the page (a runic letter) before extraction and swapped
back after, for the fallback paths. Boxes named comment, related, ad, poll, share or caption are pruned
first: trafilatura keeps, for example, Tabnak's comment-policy line under the article.

The item's `site` is the page's registered domain («tabnak.ir»), not "generic": dedup is by (site,
news_code), so one site's articles share a key space whichever generic crawl found them, and never mix
with a site spider's (`tabnak`). `news_code` is the URL's numeric id, else a hash of the URL.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

import lxml.html
from parsel import Selector
from scrapy.http import TextResponse
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import sitemap_urls_from_robots
from w3lib.url import canonicalize_url

from newscrawl.parsing import metadata
from newscrawl.parsing.dates import parse_iso, parse_jalali, to_tehran_iso
from newscrawl.parsing.htmltext import parse_page, xml_text
from newscrawl.parsing.sanitize import MAX_URL_LENGTH, clean_url, url_problem
from newscrawl.parsing.text import normalize
from newscrawl.spiders.base import ArgumentError, NewsSpider, _truthy, strip_date_label

ZWNJ = "\u200c"
#: printable, never in Persian news text; the first one absent from the page is used
PLACEHOLDERS = ("\u16a0", "\u16a1", "\u16a2", "\u16a3")
#: class/id words of boxes that are not the article (matched as whole words between - and _)
JUNK_WORDS = (r"comments?|related|relateds|ads?|advs?|advert\w*|banner\w*|polls?|survey|share|sharing|social"
              r"|caption")
_JUNK_XPATH = (
    '//*[re:test(concat(" ", @class, " ", @id, " "), '
    f'"[\\s_-]({JUNK_WORDS})[\\s_-]", "i")][not(.//h1 or .//article or .//*[@itemprop="articleBody"])]'
)
_RE_NS = {"re": "http://exslt.org/regular-expressions"}
#: a short line that does not end a sentence: above the body, it is a kicker, a label or a dateline
_HEADER_LINE = re.compile(r".{0,60}[^.!?؟»\")]")
#: a numeric id in the URL: a whole path segment of 5+ digits (an extension such as .html allowed)
_URL_ID = re.compile(r"^([0-9]{5,})(?:\.[a-z]{2,5})?$", re.I)

_tld = None


def registered_domain(host: str) -> str:
    """«www.tabnak.ir» → «tabnak.ir» (public suffix list, bundled snapshot only); an IP stays itself.
    ASCII always, so `site` fits the item schema."""
    global _tld
    import tldextract

    if _tld is None:
        _tld = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    host = (host or "").lower().rstrip(".")
    parts = _tld(host)
    domain = parts.top_domain_under_public_suffix or host
    try:
        return domain.encode("idna").decode("ascii")  # a Persian domain name as its ASCII (xn--) form
    except UnicodeError:
        return domain


def url_news_code(url: str) -> str | None:
    """The last path segment of 5+ digits («/fa/news/818242/slug» → 818242), else a 5+ digit query value."""
    parts = urlsplit(url)
    for segment in reversed([s for s in parts.path.split("/") if s]):
        m = _URL_ID.match(segment)
        if m:
            return m.group(1)
    for _, value in parse_qsl(parts.query):
        if re.fullmatch(r"[0-9]{5,}", value):
            return value
    return None


def url_hash_code(url: str) -> str:
    """A stable code for a URL without a numeric id: the first 12 hex digits of the SHA-1 of the URL
    without scheme, «www.» and fragment (query sorted), as a decimal number."""
    canonical = canonicalize_url(url, keep_fragments=False)
    parts = urlsplit(canonical)
    key = (parts.hostname or "").removeprefix("www.") + parts.path + ("?" + parts.query if parts.query else "")
    return str(int(hashlib.sha1(key.encode()).hexdigest()[:12], 16))


def news_code_for(url: str) -> str:
    return url_news_code(url) or url_hash_code(url)


#: a bigger urls_file is refused (half a million long URLs; /dev/zero is not read forever)
MAX_URLS_FILE_BYTES = 64 * 1024 * 1024
_URL_PROBLEMS = {"too_long": f"longer than {MAX_URL_LENGTH:,} characters",
                 "not_http": "not an absolute http(s) URL",
                 "invalid": "not a URL (a space, a control character or a character URLs cannot hold)"}


def read_urls_file(path: str) -> list[str]:
    """The URLs of a `urls_file`: one a line, blank lines and «#» comments skipped, UTF-8 (a BOM allowed).

    An error names the line and the reason, never the line: the file may be anything, and under Scrapyd
    `urls_file=/etc/passwd` must not put the file's first line in the job's log."""
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_URLS_FILE_BYTES + 1)
    except OSError as exc:
        raise ArgumentError(f"urls_file: cannot read {path}: {exc.strerror or type(exc).__name__}") from None
    if len(data) > MAX_URLS_FILE_BYTES:
        raise ArgumentError(f"urls_file: {path} is larger than {MAX_URLS_FILE_BYTES // 2**20} MB; split it")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ArgumentError(f"urls_file: {path} line {line}: not UTF-8 text") from None
    urls = []
    for number, line in enumerate(text.split("\n"), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        problem = url_problem(line)
        if problem:
            raise ArgumentError(f"urls_file: {path} line {number}: {_URL_PROBLEMS[problem]}")
        urls.append(line)
    return urls


def _split_urls(value: str | None) -> list[str]:
    """A comma (or space) separated argument → its items."""
    return [v for v in re.split(r"[,\s]+", value or "") if v]


def _split_tags(value: str | None) -> list[str]:
    """«ايران,انگليس،نفتکش» → three tags (Latin or Persian commas)."""
    return [v.strip() for v in re.split(r"[,،]", value or "") if v.strip()]


def body_paragraphs(tree, fast: bool = False) -> tuple[list[str], list[str]]:
    """(paragraphs, image URLs) of the article in an lxml tree (which is changed), by trafilatura, ZWNJs
    kept. fast: skip trafilatura's fallback extractors (about 40% quicker, a little less precise)."""
    import trafilatura

    # the headline is read from the metadata, and junk boxes are never text
    for node in [*tree.xpath("//h1"), *tree.xpath(_JUNK_XPATH, namespaces=_RE_NS)]:
        _drop(node)
    text = "".join(tree.itertext())
    mark = next((c for c in PLACEHOLDERS if c not in text), None)
    if mark is None:  # cannot protect the ZWNJs: better no body than a misspelt one
        return [], []
    for node in tree.iter():
        if isinstance(node.tag, str) and node.text and ZWNJ in node.text:  # not a comment's own text
            node.text = xml_text(node.text.replace(ZWNJ, mark))
        if node.tail and ZWNJ in node.tail:
            node.tail = xml_text(node.tail.replace(ZWNJ, mark))
    doc = trafilatura.bare_extraction(tree, with_metadata=False, include_comments=False,
                                      include_tables=False, include_images=True, fast=fast)
    if doc is None or doc.body is None:
        return [], []
    paragraphs: list[str] = []
    _blocks(doc.body, paragraphs)
    paragraphs = [p.replace(mark, ZWNJ) for p in paragraphs]
    images = [g.get("src") for g in doc.body.iter("graphic") if g.get("src")]
    return paragraphs, images


def _drop(node) -> None:
    """Remove an element, keeping the text that follows it («<p>a <span class=share>…</span> b</p>»)."""
    parent = node.getparent()
    if parent is None:
        return
    if node.tail:
        previous = node.getprevious()
        if previous is not None:
            previous.tail = xml_text((previous.tail or "") + node.tail)
        else:
            parent.text = xml_text((parent.text or "") + node.tail)
    parent.remove(node)



#: trafilatura's output elements that hold one paragraph each
_PARAGRAPH_TAGS = frozenset({"p", "head", "item", "quote", "code"})


def _blocks(node, out: list[str]) -> None:
    """Paragraph texts of trafilatura's body tree: it nests <p> in <div>s and <item>s in <list>s."""
    for child in node:
        if not isinstance(child.tag, str) or child.tag == "graphic":
            continue
        if child.tag in _PARAGRAPH_TAGS or not any(
                isinstance(c.tag, str) and c.tag in _PARAGRAPH_TAGS for c in child.iterdescendants()):
            out.append("".join(child.itertext()))
        else:
            _blocks(child, out)


def visible_jalali_date(response, title: str | None = None) -> str | None:
    """The short visible text nearest the headline's <h1> that is a Jalali date (ties: the one after it).

    Only a fallback for pages whose metadata has no date. Short texts only (80 characters), so a date
    mentioned in the body («در تاریخ ۱۲ تیر ...») is not taken for the publication date; nearest the
    headline, so neither the site header's «today» nor a comment's date is. Without an <h1>, the first.
    """
    root = response.selector.root
    h1s = root.xpath("//h1")
    heading = next((h for h in h1s if title and normalize(" ".join(h.itertext())) == title),
                   h1s[0] if len(h1s) else None)
    texts = root.xpath("//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript)]")
    anchor, dates, index = None, [], 0
    for node in texts:
        text = normalize(node)
        if not text:
            continue  # whitespace between tags is no distance
        index += 1
        parent = node.getparent()
        if anchor is None and heading is not None and (parent is heading or heading in parent.iterancestors()):
            anchor = index
        if len(text) <= 80 and parse_jalali(text) is not None:
            dates.append((index, strip_date_label(text)))
    if not dates:
        return None
    if anchor is None:
        return dates[0][1]
    return min(dates, key=lambda found: (abs(found[0] - anchor), found[0] < anchor))[1]


class GenericSpider(NewsSpider):
    """Any news site. Arguments (at least one source):

    url=<article>, urls=<a,b,c>, urls_file=<path, one URL a line, # comments>, feed=<RSS/Atom URL[,...]>,
    sitemap=<sitemap, sitemap index or robots.txt URL[,...]>, allowed=<extra domains, comma list>,
    incremental=1|0 (default 1 with a feed or sitemap), mode=url|feed|sitemap (inferred; optional).
    """

    name = "generic"
    family = "generic"
    ARGS = ("mode", "url", "urls", "urls_file", "feed", "sitemap", "allowed", "incremental")
    MODES: ClassVar[tuple[str, ...]] = ("url", "feed", "sitemap")

    @classmethod
    def modes(cls) -> tuple[str, ...]:
        return cls.MODES

    @classmethod
    def check_args(cls, **kwargs) -> dict[str, Any]:
        unknown = sorted(k for k in kwargs if k not in cls.ARGS and not k.startswith("_"))
        if unknown:
            raise ArgumentError(f"unknown argument {unknown[0]!r}; known: {', '.join(cls.ARGS)}")
        given = {k: str(v).strip() for k, v in kwargs.items() if k in cls.ARGS and v not in (None, "")}
        urls = [given["url"]] if "url" in given else []
        urls += _split_urls(given.get("urls"))
        if "urls_file" in given:
            urls += read_urls_file(given["urls_file"])
        feeds, sitemaps = _split_urls(given.get("feed")), _split_urls(given.get("sitemap"))
        for label, values in (("url", urls), ("feed", feeds), ("sitemap", sitemaps)):
            for value in values:
                parts = urlsplit(value)
                if parts.scheme not in ("http", "https") or not parts.hostname:
                    raise ArgumentError(f"{label}: {value!r} is not an http(s) URL")
        if not (urls or feeds or sitemaps):
            raise ArgumentError("generic needs -a url=<article>, urls=, urls_file=, feed= or sitemap=")
        mode = given.get("mode") or ("feed" if feeds else "sitemap" if sitemaps else "url")
        if mode not in cls.MODES:
            raise ArgumentError(f"mode: {mode!r} is not one of {', '.join(cls.MODES)} for generic")
        needs = {"url": urls, "feed": feeds, "sitemap": sitemaps}[mode]
        if not needs:
            raise ArgumentError(f"mode={mode} needs -a {mode}=<URL>")
        allowed = [d.lower().lstrip(".") for d in _split_urls(given.get("allowed"))]
        for domain in allowed:
            if not re.fullmatch(r"[a-z0-9.-]+", domain):
                raise ArgumentError(f"allowed: {domain!r} is not a domain")
        incremental = (_truthy(given["incremental"], "incremental") if "incremental" in given
                       else bool(feeds or sitemaps))
        return {"mode": mode, "url": urls[0] if urls else None, "urls": urls, "feeds": feeds,
                "sitemaps": sitemaps, "allowed": allowed, "incremental": incremental,
                # keys the NewsSpider machinery reads
                "base_url": None, "ids": None, "since": None, "until": None, "service": None}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        hosts = {urlsplit(u).hostname or "" for u in
                 self.options["urls"] + self.options["feeds"] + self.options["sitemaps"]}
        domains = {registered_domain(h) for h in hosts if h} | set(self.options["allowed"])
        self.allowed_domains = sorted(domains)

    # -- listings ------------------------------------------------------------------------------------
    def initial_requests(self):
        """Every source given: feeds, sitemaps and article URLs (`mode` only names the main one)."""
        listings = [(url, self.parse_rss) for url in self.options["feeds"]]
        listings += [(url, self.parse_sitemap) for url in self.options["sitemaps"]]
        for url, callback in listings:
            request = self.request(url, callback)
            if request is not None:  # the same URL given twice
                yield request
        urls = self.options["urls"]
        yield from self.article_requests(self.new_links(urls) if self.options["incremental"] else urls)

    def news_code_from_url(self, url: str) -> str | None:
        return news_code_for(url)

    def new_links(self, urls: list[str]) -> list[str]:
        """Drop links already stored under their (site, code), site being the link's registered domain."""
        if not self.options["incremental"]:
            return urls
        by_site: dict[str, dict[str, str]] = {}
        for url in urls:
            by_site.setdefault(registered_domain(urlsplit(url).hostname or ""), {})[url] = news_code_for(url)
        new: set[str] = set()
        for site, codes in by_site.items():
            known = self.known_codes(list(codes.values()), site)
            new.update(url for url, code in codes.items() if code not in known)
        fresh = [url for url in urls if url in new]  # in the listing's order
        self.crawler.stats.inc_value("newscrawl/incremental/skipped", len(urls) - len(fresh))
        return fresh

    def parse_sitemap(self, response):
        """A sitemap index (follow its sitemaps), a urlset (its pages; news:publication_date or lastmod
        as the fallback date) or robots.txt (its Sitemap: lines). Gzipped sitemaps are unpacked."""
        if response.url.endswith("/robots.txt"):
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                request = self.request(url, self.parse_sitemap)
                if request is not None:
                    yield request
            return
        body = response.body
        if gzip_magic_number(response):
            try:
                body = gunzip(body, max_size=self.settings.getint("DOWNLOAD_MAXSIZE"))
            except Exception as exc:  # corrupt, or bigger than DOWNLOAD_MAXSIZE unpacked
                self.crawler.stats.inc_value("newscrawl/parse_errors")
                self.logger.error("cannot unpack sitemap %s: %s: %s", response.url, type(exc).__name__, exc)
                return
        sitemap = Selector(body=body, type="xml")
        sitemap.remove_namespaces()
        for loc in sitemap.xpath("//sitemap/loc/text()").getall():
            request = self.request(response.urljoin(loc.strip()), self.parse_sitemap)
            if request is not None:
                yield request
        urls, dates = [], {}
        for entry in sitemap.xpath("//url"):
            loc = (entry.xpath("loc/text()").get() or "").strip()
            if not loc:
                continue
            url = response.urljoin(loc)
            urls.append(url)
            stamp = entry.xpath("news/publication_date/text()").get() or entry.xpath("lastmod/text()").get()
            published = parse_iso((stamp or "").strip())
            if published:
                dates[url] = to_tehran_iso(published)
        self.crawler.stats.inc_value("newscrawl/listing/sitemap_links", len(urls))
        yield from self.article_requests(self.new_links(urls), dates)

    # -- the article ---------------------------------------------------------------------------------
    # No contracts here (the families' docstrings carry them): generic has no example page, and
    # `scrapy check` could not even start it without a source.
    def parse_article(self, response):
        """One page → one item, when it is an article."""
        return super().parse_article(response)

    def parse_rss(self, response):
        """Article links of an RSS or Atom feed (NewsSpider.parse_rss, without its contracts)."""
        return super().parse_rss(response)

    def parse_archive(self, response):
        """Generic has no archive: nothing to follow."""
        return iter(())

    def extract_article(self, response):
        """The item, each field chosen as README's «The generic spider» lists; None for a page that is
        not HTML or not an article."""
        if not isinstance(response, TextResponse):
            self.crawler.stats.inc_value("newscrawl/dropped/not_html")
            self.logger.info("not an HTML page: %s", response.url)
            return None
        ld = metadata.jsonld_article(response)
        url = self.canonical_url(response)
        loader = self.new_loader(response)
        loader.replace_value("site", registered_domain(urlsplit(url).hostname or ""))
        loader.add_value("url", url)
        loader.add_value("news_code", url_news_code(url) or url_news_code(response.url) or url_hash_code(url))
        title = metadata.headline(response, ld)
        loader.add_value("title", title)
        lead = (metadata.ld_text(ld, "description") or metadata.meta(response, "og:description")
                or metadata.meta(response, "description"))
        loader.add_value("lead", lead)
        published = metadata.published_date(response, ld)
        if published and parse_iso(published) is None:
            loader.add_value("published_at_raw", published)  # a Jalali date in a meta tag (Tabnak's)
        elif published:
            loader.add_value("published_at_meta", published)
        elif response.meta.get("listing_date"):
            loader.add_value("published_at_meta", response.meta["listing_date"])
        else:
            loader.add_value("published_at_raw", visible_jalali_date(response, loader.get_output_value("title")))
        if not self.looks_like_article(response, ld, published, loader.get_output_value("published_at_raw"), url):
            self.crawler.stats.inc_value("newscrawl/dropped/not_article")
            self.logger.info("not an article page (no article metadata, no date with a news id): %s", response.url)
            return None
        # a fresh parse (3 ms) is cheaper than copying the response's tree (18 ms on a 170 kB page)
        # libxml2 gives up past 2,048 open elements; parse_page then reads a flattened copy (issue 13)
        tree = parse_page(response.body, response.encoding, response.url, lxml.html.HTMLParser)
        paragraphs, images = body_paragraphs(tree, self.settings.getbool("NEWSCRAWL_GENERIC_FAST"))
        loader.add_value("body", self.clean_body(paragraphs, title, lead))
        section = metadata.meta(response, "article:section")
        loader.add_value("category", (re.split(r"\s*[>»/]\s*", section) if section else [])
                         or metadata.ld_list(ld, "articleSection") or metadata.ld_breadcrumb(response))
        tags = [t for value in metadata.meta_all(response, "article:tag") for t in _split_tags(value)]
        # not <meta name=keywords>: many sites put the same site-wide words on every page
        loader.add_value("tags", tags or metadata.ld_list(ld, "keywords")
                         or response.xpath('//a[@rel="tag"]//text()').getall())
        loader.add_value("images", [metadata.meta(response, "og:image", "twitter:image:src", "twitter:image"),
                                    *images])
        return loader.load_item()

    @staticmethod
    def looks_like_article(response, ld: dict, published: str | None, shown: str | None, url: str) -> bool:
        """A home or section page has a body and a title too. An article is a page that says so (JSON-LD
        article type, og:type article, a publication date in metadata), a feed's item, or a page with
        both a visible Jalali date and a numeric news id in its URL."""
        return bool(published or metadata.ld_is_article(ld) or metadata.meta(response, "og:type") == "article"
                    or response.meta.get("from_feed") or (shown and url_news_code(url)))

    def clean_body(self, paragraphs: list[str], title: str | None, lead: str | None) -> list[str]:
        """Without the headline or lead repeated at the top, nor short lines there that are no sentence
        (a kicker «پلیس راه اعلام کرد:», «کد خبر: ۸۱۲۳۴۵»), «انتهای پیام»-like sign-offs at the end, and
        «بیشتر بخوانید:» boxes."""
        repeated = {normalize(t) for t in (title, lead) if t}
        out = [p for p in paragraphs if not re.match(self.read_more_re, p)]
        while len(out) > 1 and (normalize(out[0]) in repeated or _HEADER_LINE.fullmatch(normalize(out[0]))):
            out.pop(0)
        while out and re.fullmatch(self.signoff_re, out[-1].strip()):
            out.pop()
        return out

    def canonical_url(self, response, code: str | None = None) -> str:
        """rel=canonical, og:url or the URL fetched: the first on the fetched page's own site (its
        registered domain, and its port when either names one). One that is no absolute http(s) URL or is
        longer than MAX_URL_LENGTH is skipped and counted as `newscrawl/url/unsafe_canonical`, one on
        another site as `newscrawl/url/offsite_canonical`."""
        fetched = urlsplit(response.url)
        site = registered_domain(fetched.hostname or "")
        for href in (response.xpath('//link[@rel="canonical"]/@href').get(), metadata.meta(response, "og:url")):
            if not href or not href.strip():
                continue
            url, problem = clean_url(response.urljoin(href.strip()))
            if url:
                parts = urlsplit(url)
                if registered_domain(parts.hostname or "") == site and _same_port(parts, fetched):
                    return url.split("#", 1)[0]
                problem = "offsite"
            kind = "offsite" if problem == "offsite" else "unsafe"
            self.crawler.stats.inc_value(f"newscrawl/url/{kind}_canonical")
            level = logging.WARNING if kind == "unsafe" else logging.INFO  # an off-site one is harmless
            self.logger.log(level, "ignored the %s canonical URL of %s (%s)", kind, response.url, problem)
        return response.url.split("#", 1)[0]


def _same_port(parts, fetched) -> bool:
    """Both on their scheme's default port (http and https are one site), or on the same port."""
    if parts.port is None and fetched.port is None:
        return True
    defaults = {"http": 80, "https": 443}
    return (parts.port or defaults[parts.scheme]) == (fetched.port or defaults.get(fetched.scheme))
