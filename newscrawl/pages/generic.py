"""The generic article page: any news site, without a selector map (`scrapy crawl generic`, and
`scrapy extract` / `newscrawl.extract()` for a page of a site newscrawl has no spider for).

Why: most Persian news sites have no family in newscrawl, yet their articles should come out in the same
schema, with the same Jalali date handling and checks. Fields come from the page's machine-readable
metadata (JSON-LD NewsArticle, OpenGraph, article:* and itemprop meta), the body from trafilatura, and
the date, when no metadata gives one, from a Jalali date in the visible text.

trafilatura deletes every character that is not printable (every ZWNJ, and a private-use placeholder
too) wherever it cleans text: in its text output, and in the body its fallback extractors and baseline
produce. Its main extractor's tree keeps them, so the body is read from the tree, and each ZWNJ is
swapped for a printable placeholder absent from the page (a runic letter) before extraction and swapped
back after, for the fallback paths. Boxes named comment, related, ad, poll, share or caption are pruned
first: trafilatura keeps, for example, Tabnak's comment-policy line under the article. So are lists of
headline links (a «آخرین اخبار» sidebar), which trafilatura appends to the body when it keeps images.

The item's `site` is the page's registered domain («tabnak.ir»), not "generic": dedup is by (site,
news_code), so one site's articles share a key space whichever generic crawl found them, and never mix
with a site spider's (`tabnak`). `news_code` is the code the page shows («کد خبر: d1Gjx»), else the URL's
id, else a hash of the URL.
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import timedelta
from functools import cached_property
from urllib.parse import urlsplit

import lxml.html
from w3lib.url import canonicalize_url

from newscrawl.pages.base import field
from newscrawl.pages.common import READ_MORE_RE, SIGNOFF_RE, ArticlePage, meta_source
from newscrawl.pages.finish import NotAnArticle, publication_date
from newscrawl.parsing import loaders, metadata
from newscrawl.parsing.dates import clock_text, jalali_has_time, parse_iso, parse_jalali, to_tehran_iso
from newscrawl.parsing.htmltext import parse_page, strip_date_label, xml_text
from newscrawl.parsing.sanitize import clean_url, strip_markup
from newscrawl.parsing.text import ascii_digits, normalize

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


#: the news code in a URL: the last path segment of 5+ digits (an extension such as .html allowed); else
#: the segment right after a `news` or `n` segment when it is 4 to 16 ASCII letters and digits with at least
#: one of each (`/news/d1Gjx/slug`: an id, where `/news/politics/` is a section and `/news/2024/` a year);
#: else the first query value of 5+ digits. One pattern, so the guard's redirect check (request meta
#: `newscrawl_code_re`, set by the generic spider) reads codes exactly as `url_news_code` does.
CODE_RE = (r"(?i)^[a-z][a-z0-9+.-]*://[^/?#]*(?:/[^?#]*)?/([0-9]{5,})(?:\.[a-z]{2,5})?(?=[/?#]|$)"
           r"|^[a-z][a-z0-9+.-]*://[^/?#]*(?:/[^?#]*)?/(?:news|n)/(?=[a-z]*[0-9])(?=[0-9]*[a-z])"
           r"([a-z0-9]{4,16})(?:\.[a-z]{2,5})?(?=[/?#]|$)"
           r"|^[^?#]*\?(?:[^#&]*&)*?[^=&#]*=([0-9]{5,})(?=[&#]|$)")
_CODE = re.compile(CODE_RE)


def url_news_code(url: str) -> str | None:
    """The URL's news code (CODE_RE): «/fa/news/818242/slug» → 818242, «/news/d1Gjx/slug» → d1Gjx,
    «?id=818242» → 818242."""
    m = _CODE.search(url)
    return (m.group(1) or m.group(2) or m.group(3)) if m else None


def url_hash_code(url: str) -> str:
    """A stable code for a URL without a numeric id: the first 12 hex digits of the SHA-1 of the URL
    without scheme, «www.» and fragment (query sorted), as a decimal number."""
    canonical = canonicalize_url(url, keep_fragments=False)
    parts = urlsplit(canonical)
    key = (parts.hostname or "").removeprefix("www.") + parts.path + ("?" + parts.query if parts.query else "")
    return str(int(hashlib.sha1(key.encode()).hexdigest()[:12], 16))


def news_code_for(url: str) -> str:
    return url_news_code(url) or url_hash_code(url)


#: the label a page shows its code after: «کد خبر:», «شناسه خبر»; «کد مطلب» too, not «کد خبرنگار»
_CODE_LABEL = re.compile(r"(?<![\w\u200c])(?:کد|شناسه)[\s\u200c]*(?:خبر|مطلب)(?![\w\u200c])\s*[:：]?")
_CODE_LABEL_XPATH = ("//body//text()[contains(., 'کد') or contains(., 'كد') or contains(., 'شناسه')]"
                     "[not(ancestor::script or ancestor::style or ancestor::noscript)]")
#: a label's text and the one after it, from the element holding the label as its text or as its tail
_VISIBLE = ("[normalize-space()][not(ancestor::script or ancestor::style or ancestor::noscript)]"
            "[position() <= 2]")
_AFTER_TEXT = "(descendant::text() | following::text())" + _VISIBLE
_AFTER_TAIL = "following::text()" + _VISIBLE


def shown_news_code(page) -> str | None:
    """The code the page shows after its label (`loaders.site_code`): in the label's own short text
    («کد خبر: d1Gjx»), or as the whole next text when the label stands alone
    («<span>کد خبر:</span> <b>d1Gjx</b>»). The first label only; None when its value is no id."""
    for node in page.root.xpath(_CODE_LABEL_XPATH):
        text = normalize(node)
        found = _CODE_LABEL.search(text) if len(text) <= 100 else None  # not a sentence of the body
        if found is None:
            continue
        rest = text[found.end():].strip()
        if not rest:
            texts = node.getparent().xpath(_AFTER_TAIL if node.is_tail else _AFTER_TEXT)  # [label, next]
            rest = normalize(texts[1]) if len(texts) > 1 else ""
            if len(rest.split()) != 1:  # «کد خبر:» with no value, then a date: not its code
                return None
        return loaders.site_code(rest)
    return None


def _split_tags(value: str | None) -> list[str]:
    """«ايران,انگليس،نفتکش» → three tags (Latin or Persian commas)."""
    return [v.strip() for v in re.split(r"[,،]", value or "") if v.strip()]


def body_paragraphs(tree, fast: bool = False) -> tuple[list[str], list[str]]:
    """(paragraphs, image URLs) of the article in an lxml tree (which is changed), by trafilatura, ZWNJs
    kept. fast: skip trafilatura's fallback extractors (about 40% quicker, a little less precise)."""
    import trafilatura

    # the headline is read from the metadata, and junk boxes and lists of headlines are never text
    for node in [*tree.xpath("//h1"), *tree.xpath(_JUNK_XPATH, namespaces=_RE_NS), *link_lists(tree)]:
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


#: a box of LINK_LIST_ITEMS or more children, each holding a link (XPath 1.0: the text share is counted in Python)
LINK_LIST_ITEMS = 5
_LINK_BOX_XPATH = f"//*[count(*) >= {LINK_LIST_ITEMS}][not(*[not(descendant-or-self::a)])]"


def link_lists(tree) -> list:
    """Boxes that are lists of headlines («آخرین اخبار», «پربازدیدترین‌ها»): LINK_LIST_ITEMS or more
    children, each with a link, and at least 80% of the box's text inside links. trafilatura keeps such a
    sidebar when images are included (on a real page, 100 links grew a 177-word body to 922 words), and
    without images it loses the article's pictures: so the lists go before it runs. An article's
    paragraphs with links in them are mostly text outside the links, and stay."""
    found: list = []
    for box in tree.xpath(_LINK_BOX_XPATH):  # document order: a list before the lists inside it
        if found and any(a in found for a in box.iterancestors()):
            continue  # inside a list already dropped
        text = sum(len(t.strip()) for t in box.itertext())
        linked = sum(len(t.strip()) for a in box.iter("a") for t in a.itertext())
        if text and linked >= 0.8 * text:
            found.append(box)
    return found


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


def visible_jalali_date(page, title: str | None = None) -> str | None:
    """The short visible text nearest the headline's <h1> that is a Jalali date (ties: the one after it),
    with its time of day when that is shown apart (`_with_its_time`).

    Only a fallback for pages whose metadata has no date. Short texts only (80 characters), so a date
    mentioned in the body («در تاریخ ۱۲ تیر ...») is not taken for the publication date; nearest the
    headline, so neither the site header's «today» nor a comment's date is. Without an <h1>, the first.
    """
    root = page.root
    h1s = root.xpath("//h1")
    heading = next((h for h in h1s if title and normalize(" ".join(h.itertext())) == title),
                   h1s[0] if len(h1s) else None)
    texts = root.xpath("//body//text()")  # script text dropped below: an ancestor:: test here costs 4 ms
    anchor, dates, shown = None, [], []
    inside = set(heading.iter()) if heading is not None else set()  # the headline's elements
    for node in texts:
        if not node.strip(_INVISIBLE) or (not node.is_tail and node.getparent().tag in _SCRIPT_TAGS):
            continue  # whitespace between tags is no distance; a script's text is no text
        index = len(shown)
        shown.append((node, node))  # normalized only where read: most of a page's texts never are
        if anchor is None and inside and node.getparent() in inside:
            anchor = index
        if len(node) <= 400 and _DIGIT.search(node):  # a date has digits; no need to parse the rest
            text = normalize(node)
            if len(text) <= 80 and parse_jalali(text) is not None:
                shown[index] = (node, text)
                dates.append(index)
    if not dates:
        return None
    if anchor is None:
        return _with_its_time(shown, dates[0])[0]

    def distance(found: tuple[str, int, int]) -> tuple[int, bool]:  # a date and its time: from either end
        _, first, last = found
        return (first - anchor if first > anchor else max(anchor - last, 0)), first < anchor

    return min((_with_its_time(shown, i) for i in dates), key=distance)[0]


#: at most this many short texts without digits (a «ساعت», a «|») between a date and its time
_CLOCK_GAP = 1
_DIGIT = re.compile(r"[0-9۰-۹٠-٩]")
_SCRIPT_TAGS = frozenset({"script", "style", "noscript", "template"})
#: what normalize() removes from a text that is only layout: whitespace and invisible marks
_INVISIBLE = " \t\n\r\f\v\xa0\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\ufeff"
_MINUTE = timedelta(minutes=1)


def _with_its_time(shown: list, at: int) -> tuple[str, int, int]:
    """The date shown at `shown[at]` (label dropped), joined in page order with the time of day shown in an
    element of its own beside it when the date has none («<span>۱۹:۰۴</span> <span>۱۳۹۸/۰۲/۱۱</span>»
    → «۱۹:۰۴ ۱۳۹۸/۰۲/۱۱»): without it the article would be dated at midnight. The time is the nearest
    text before or after the date (the one before on a tie), past no more than _CLOCK_GAP short texts
    without digits, in the same small box (the two share an ancestor at most three levels up). Returns
    the text and the positions in `shown` of its first and last parts."""
    node, text = shown[at]
    date = strip_date_label(text)
    if jalali_has_time(date):
        return date, at, at
    box = set(_up(node.getparent(), 3))
    for distance in range(1, _CLOCK_GAP + 2):
        for near in (at - distance, at + distance):
            if not 0 <= near < len(shown):
                continue
            between = [normalize(t) for _, t in shown[min(at, near) + 1:max(at, near)]]
            if any(len(t) > 10 or _DIGIT.search(t) for t in between):
                continue
            clock = clock_text(normalize(shown[near][1]))
            if clock and box.intersection(_up(shown[near][0].getparent(), 3)):
                return (f"{clock} {date}", near, at) if near < at else (f"{date} {clock}", at, near)
    return date, at, at


def _up(element, levels: int) -> list:
    """The element and its ancestors, `levels` of them at most."""
    out = [element]
    for ancestor in element.iterancestors():
        if len(out) > levels:
            break
        out.append(ancestor)
    return out



def _agrees(shown: str, machine: str) -> bool:
    """Whether a shown Jalali date is the machine-readable one: within its minute, or on its Tehran day
    when it shows no time."""
    day, instant = parse_jalali(strip_markup(shown)), parse_iso(machine)
    if day is None or instant is None:
        return False
    if jalali_has_time(strip_markup(shown)):
        return abs(day - instant) < _MINUTE
    return to_tehran_iso(day)[:10] == to_tehran_iso(instant)[:10]


def _loose(text: str | None) -> str:
    """Titles compared as metadata spells them: normalized, a ZWNJ as a space, digits ASCII (the title field
    may hold either, NEWSCRAWL_TEXT_DIGITS)."""
    return ascii_digits(normalize(text)).replace(ZWNJ, " ")


#: class words of the line above a headline: IranSamaneh's rutitr (rotitr, roti_…), Nastooh's kicker, and
#: the subtitle/uptitle some themes put there (a subtitle below the <h1> is a lead: only what is above counts)
_KICKER_CLASS = r"rutitr|roti|kicker|subtitle|up-?title|over-?title|pre-?title|sur-?title"
_KICKER_MAX = 150  #: characters: longer is a lead or a paragraph, not a kicker


def kicker_above(page, title: str | None) -> str | None:
    """The kicker: the text of the nearest element above the headline's <h1> that is a heading (<h2>–<h6>)
    or has a kicker class (_KICKER_CLASS), looking at the <h1>'s preceding siblings and then its parent's
    (IranSamaneh: «div.rutitr» beside «div.title > h1»), at most two elements with text on each level, so
    a kicker is never taken from a distant box. None when the <h1> is not the title."""
    heading = next((h for h in page.xpath("//h1") if title and _loose(" ".join(h.xpath(".//text()").getall()))
                    == _loose(title)), None)
    levels = [heading, heading.xpath("..")[0]] if heading is not None and heading.xpath("..") else []
    for node in levels:
        for before in node.xpath("preceding-sibling::*[normalize-space()]")[::-1][:2]:
            text = normalize(" ".join(before.xpath(".//text()[not(ancestor::script or ancestor::style)]").getall()))
            if not text or _loose(text) == _loose(title) or len(text) > _KICKER_MAX:
                continue
            if re.fullmatch(r"h[2-6]", before.root.tag) or before.xpath(
                    f'self::*[re:test(@class, "{_KICKER_CLASS}", "i")]', namespaces=_RE_NS):
                return text
    return None


#: class words of a visible breadcrumb trail: «breadcrumb», IranSamaneh's «news_path», a theme's «path»
_PATH_CLASS = r"(^|[\s_-])(bread-?crumbs?|crumbs?|path)([\s_-]|[0-9]|$)"


def visible_path(page, tail: list[str], title: str | None) -> list[str] | None:
    """The section path a visible breadcrumb shows (the link texts of an element whose class names a trail,
    _PATH_CLASS, or that holds schema.org's BreadcrumbList as microdata), without the home link and the
    article itself, when it ends with `tail`, the section the metadata gives, and is longer: metadata
    often names only the last level («عمومی») where the page shows «بسته ویژه خبری » عمومی». A trail
    that does not end with the metadata's section is some other box's and is not trusted."""
    if not tail:
        return None
    trails = page.xpath('//*[contains(@class, "rumb") or contains(@class, "path") or contains(@class, "Path")'
                        ' or contains(@itemtype, "BreadcrumbList")][.//a]')  # cheaper than re:test on each
    for trail in trails:
        if not (re.search(_PATH_CLASS, trail.attrib.get("class", ""), re.I) or "BreadcrumbList" in trail.attrib.get(
                "itemtype", "")):
            continue
        names = [normalize(" ".join(a.xpath(".//text()").getall())) for a in trail.xpath(".//a")]
        names = [n for n in names if n and n.lower() not in metadata.HOME and (not title or _loose(n) != _loose(title))]
        if len(names) > len(tail) and [_loose(n) for n in names[-len(tail):]] == [_loose(t) for t in tail]:
            return names
    return None


class GenericArticlePage(ArticlePage):
    """An article page of any site, each field chosen as docs' «The generic spider» lists. `to_item()` raises
    NotAnArticle for a page that is not an article (`looks_like_article`). `fast` skips
    trafilatura's fallback extractors (setting NEWSCRAWL_GENERIC_FAST)."""

    signoff_re = SIGNOFF_RE
    read_more_re = READ_MORE_RE

    def __init__(self, *args, fast: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fast = fast

    def to_item(self) -> dict:
        if not self.looks_like_article():
            raise NotAnArticle("not an article page (no article metadata, no date with a news id)",
                               "dropped/not_article")
        return super().to_item()

    @cached_property
    def ld(self) -> dict:
        return metadata.jsonld_article(self.selector)

    @cached_property
    def published(self) -> str | None:
        """The publication date the metadata states (ISO, or Jalali text in a meta tag: Tabnak's)."""
        return metadata.published_date(self.selector, self.ld)

    @field
    def site(self) -> str:
        return registered_domain(urlsplit(self.url_field).hostname or "")

    @field(cached=True)
    def news_code(self) -> str:
        """The code the page shows, else the URL's id, else a hash of the URL; a shown code unlike the
        URL's id wins and is noted, as on a family page."""
        url = self.url_field
        from_url = url_news_code(url) or url_news_code(self.page_url)
        shown = shown_news_code(self.selector)
        if shown and from_url and shown != from_url:
            self.note("news_code_mismatch", logging.WARNING, "news code %s on page differs from URL %s",
                      shown, self.page_url)
        if shown:  # read from the page's visible «کد خبر» label
            return self.took("news_code", "generic", shown)
        return self.took("news_code", "url", from_url or url_hash_code(url))

    @field
    def url(self) -> str:
        return self.took("url", self.url_source, self.url_field)

    @field(cached=True)
    def title(self) -> str | None:
        """The <h1> equal to any og:title or twitter:title the page carries (a page may carry two og:titles,
        the first a stale live-report headline: the visible one wins), else metadata.headline's choice."""
        stated = {_loose(t) for name in ("og:title", "twitter:title") for t in metadata.meta_all(self.selector, name)}
        shown = next((t for t in self.h1_texts if _loose(t) in stated), None)
        title = shown or metadata.headline(self.selector, self.ld)
        return self.took("title", self.title_source(title), loaders.join_text([title], self.digits))

    @field(cached=True)
    def kicker(self) -> str | None:
        """The short line above the headline (kicker_above)."""
        return self.took("kicker", "generic", loaders.join_text([kicker_above(self.selector, self.title)], self.digits))

    @field(cached=True)
    def lead(self) -> str | None:
        """JSON-LD's description, else og:description, else the description meta; completed by a longer
        description that starts with it: an unescaped quote inside a content attribute («حضرتی "غیرقانونی"»)
        ends it early in one tag while another tag of the page spells it with &quot; and keeps it whole."""
        stated = [(metadata.ld_text(self.ld, "description"), "jsonld")]
        stated += [(d, "opengraph") for d in metadata.meta_all(self.selector, "og:description")]
        stated += [(d, "meta") for name in ("description", "dc.description", "twitter:description")
                   for d in metadata.meta_all(self.selector, name)]
        stated = [(loaders.join_text([d], self.digits), source) for d, source in stated if d]
        stated = [(d, source) for d, source in stated if d]
        if not stated:
            return self.took("lead", "meta", None)
        lead, source = stated[0]
        lead, source = max(((d, s) for d, s in stated if d.startswith(lead)), key=lambda found: len(found[0]))
        return self.took("lead", source, lead)

    @field(cached=True)
    def body(self) -> str | None:
        return self.took("body", "generic", loaders.paragraphs(self.clean_body(self.extracted[0]), self.digits))

    @field
    def published_at(self) -> str | None:
        raw = self.published_at_raw
        if raw and self.machine_date and not jalali_has_time(strip_markup(raw)):
            raw = None  # a shown day without its time: the machine date says more
        value = publication_date(raw, self.machine_date, self.url_field, self.note)
        shown = raw and parse_jalali(strip_markup(raw)) is not None
        return self.took("published_at", self.sources.get("published_at_raw") if shown else (
            self.published_source if self.published else "feed"), value)

    @field(cached=True)
    def published_at_raw(self) -> str | None:
        """A Jalali date in a meta tag (Tabnak's); else the date shown nearest the headline
        (visible_jalali_date) when the page has no machine date, or when it agrees with that date (same
        minute; same day when it shows no time): then a site's spider and the generic one give the same
        raw text and instant. A shown date that disagrees is some other date (a modification, a related
        item's) and metadata is kept."""
        published = self.published
        if published and parse_iso(published) is None:
            return self.took("published_at_raw", self.published_source, loaders.shown_date(published))
        shown = loaders.shown_date(visible_jalali_date(self.selector, self.title))
        machine = self.machine_date
        if machine and not (shown and _agrees(shown, machine)):
            return None
        return self.took("published_at_raw", "generic", shown)

    @field
    def category(self) -> list[str]:
        """article:section, else JSON-LD's articleSection or BreadcrumbList; a visible breadcrumb that
        ends with it and says more wins (visible_path)."""
        section = metadata.meta(self.selector, "article:section")
        stated, source = (re.split(r"\s*[>»/]\s*", section), "opengraph") if section else (
            metadata.ld_list(self.ld, "articleSection") or metadata.ld_breadcrumb(self.selector), "jsonld")
        stated = loaders.text_list(stated, self.digits)
        shown = visible_path(self.selector, stated, self.title)
        if shown:
            return self.took("category", "generic", loaders.text_list(shown, self.digits))
        return self.took("category", source, stated)

    @field
    def tags(self) -> list[str]:
        tags = [t for value in metadata.meta_all(self.selector, "article:tag") for t in _split_tags(value)]
        if tags:
            return self.took("tags", "opengraph", loaders.text_list(tags, self.digits))
        # not <meta name=keywords>: many sites put the same site-wide words on every page
        keywords = metadata.ld_list(self.ld, "keywords")
        return self.took("tags", "jsonld" if keywords else "generic", loaders.text_list(
            keywords or self.xpath('//a[@rel="tag"]//text()').getall(), self.digits))

    @property
    def own_domains(self) -> tuple[str, ...]:
        return (self.site,)

    @field
    def images(self) -> list[str]:
        """og:image and the pictures in the text; og:image is often a resized copy in another size's folder
        («…/4/57819257.jpg»): an <img> of the page with the same file name is the picture readers see, and
        replaces it."""
        og = metadata.meta(self.selector, "og:image", "twitter:image:src", "twitter:image")
        source = "generic" if self.extracted[1] else meta_source("og:image")
        name = og and urlsplit(og.strip()).path.rsplit("/", 1)[-1]
        if name and not self.extracted[1]:
            shown = [src for src in self.xpath("//body//img/@src").getall()
                     if urlsplit(src.strip()).path.rsplit("/", 1)[-1] == name]
            if shown:
                og, source = shown[0], "generic"
        images = loaders.absolute_urls([og, *self.extracted[1]], self.base_url)
        return self.took("images", source, images)

    # -- provenance (newscrawl.items.SOURCES) --------------------------------------------------------
    def title_source(self, title: str | None) -> str:
        """Where the title came from: a visible <h1> (`generic`), else the metadata title it equals."""
        if not title or title in self.h1_texts:
            return "generic"
        for source, value in (("opengraph", metadata.meta(self.selector, "og:title")),
                              ("jsonld", metadata.ld_text(self.ld, "headline")),
                              ("meta", metadata.meta(self.selector, "twitter:title"))):
            if value and normalize(value) == title:
                return source
        return "generic"  # the <title>, or a part of it

    @cached_property
    def published_source(self) -> str:
        """Where `published` (metadata.published_date) came from: JSON-LD, a meta tag, or a <time>."""
        published = self.published
        if metadata.ld_text(self.ld, "datePublished") == published:
            return "jsonld"
        for name in metadata.DATE_META:
            if (metadata.meta(self.selector, name) or "").strip() == published:
                return meta_source(name)
        return "generic"

    @property
    def url_source(self) -> str:
        """rel=canonical (`meta`), og:url (`opengraph`), or the URL fetched (`url`)."""
        def bare(url: str | None) -> str:  # without the scheme url_field may have upgraded to https
            return (url or "").strip().split("#", 1)[0].split("://", 1)[-1]

        url = bare(self.url_field)
        if url == bare(self.xpath('//link[@rel="canonical"]/@href').get()):
            return "meta"
        if url == bare(metadata.meta(self.selector, "og:url")):
            return "opengraph"
        return "url"

    # -- helpers ------------------------------------------------------------------------------------
    @cached_property
    def h1_texts(self) -> list[str]:
        return [normalize(" ".join(h.xpath(".//text()").getall())) for h in self.xpath("//h1")]

    @cached_property
    def machine_date(self) -> str | None:
        published = self.published
        if published and parse_iso(published) is not None:
            return published
        return None if published else self.listing_date

    @cached_property
    def extracted(self) -> tuple[list[str], list[str]]:
        """(paragraphs, image URLs) by trafilatura. A fresh parse (3 ms) is cheaper than copying the
        page's tree (18 ms on a 170 kB page); libxml2 gives up past 2,048 open elements, and parse_page
        then reads a flattened copy (issue 13)."""
        tree = parse_page(self.page_body, self.encoding, self.page_url, lxml.html.HTMLParser)
        return body_paragraphs(tree, self.fast)

    def looks_like_article(self) -> bool:
        """A home or section page has a body and a title too. An article is a page that says so (JSON-LD
        article type, og:type article, a publication date in metadata), a feed's item, or a page with
        both a visible Jalali date and a news id in its URL."""
        return bool(self.published or metadata.ld_is_article(self.ld)
                    or metadata.meta(self.selector, "og:type") == "article"
                    or self.from_feed or (self.published_at_raw and url_news_code(self.url_field)))

    def clean_body(self, paragraphs: list[str]) -> list[str]:
        """Without the headline or lead repeated at the top, nor short lines there that are no sentence
        (a kicker «پلیس راه اعلام کرد:», «کد خبر: ۸۱۲۳۴۵»), «انتهای پیام»-like sign-offs at the end, and
        «بیشتر بخوانید:» boxes; nor the kicker anywhere (trafilatura may put it last)."""
        repeated = {normalize(t) for t in (self.title, self.lead) if t}
        kicker = self.kicker
        out = [p for p in paragraphs
               if not re.match(self.read_more_re, p) and not (kicker and loaders.join_text([p], self.digits) == kicker)]
        while len(out) > 1 and (normalize(out[0]) in repeated or _HEADER_LINE.fullmatch(normalize(out[0]))):
            out.pop(0)
        while out and re.fullmatch(self.signoff_re, out[-1].strip()):
            out.pop()
        return out

    @cached_property
    def url_field(self) -> str:
        """rel=canonical, og:url or the URL fetched: the first on the fetched page's own site (its
        registered domain, and its port when either names one). One that is no absolute http(s) URL or is
        longer than MAX_URL_LENGTH is skipped and noted as `url/unsafe_canonical`, one on another site as
        `url/offsite_canonical`."""
        fetched = urlsplit(self.page_url)
        site = registered_domain(fetched.hostname or "")
        for href in (self.xpath('//link[@rel="canonical"]/@href').get(), metadata.meta(self.selector, "og:url")):
            if not href or not href.strip():
                continue
            url, problem = clean_url(self.urljoin(href.strip()))
            if url:
                parts = urlsplit(url)
                if registered_domain(parts.hostname or "") == site and _same_port(parts, fetched):
                    if parts.scheme == "http" and fetched.scheme == "https" and parts.hostname == fetched.hostname:
                        url = "https" + url[4:]  # a template's stale http:// on a page served over https
                    return url.split("#", 1)[0]
                problem = "offsite"
            kind = "offsite" if problem == "offsite" else "unsafe"
            level = logging.WARNING if kind == "unsafe" else logging.INFO  # an off-site one is harmless
            self.note(f"url/{kind}_canonical", level, "ignored the %s canonical URL of %s (%s)", kind, self.page_url,
                      problem)
        return self.page_url.split("#", 1)[0]


def _same_port(parts, fetched) -> bool:
    """Both on their scheme's default port (http and https are one site), or on the same port."""
    if parts.port is None and fetched.port is None:
        return True
    defaults = {"http": 80, "https": 443}
    return (parts.port or defaults[parts.scheme]) == (fetched.port or defaults.get(fetched.scheme))
