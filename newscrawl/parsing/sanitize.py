"""Last line of defence before storage: stored text never holds markup, stored URLs are http(s), and
every item matches the item schema.

Why: the HTML walk already drops <script>, <style> and the like, but text also comes from places that
are not a DOM: og:title, JSON-LD headline and description (some CMSs put HTML there), RSS descriptions,
and entity-escaped tags that a page shows literally («&lt;svg/onload=…&gt;»: the loaders decode entities
while normalizing, so here they are tags). A regex cannot see where a tag ends (`<a title='x>y'
onclick=…>`, `<img/src=x/onerror=…>`, a tag cut off at the end of the text), so the text is tokenized by
libxml2's HTML parser through lxml: since libxml2 2.14 its tokenizer follows HTML5, so a tag ends where a
browser ends it. Text that merely contains «<» («a < b», «۳<۵») is not a tag for HTML5 either and stays.
"""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import urlsplit

from lxml import etree

from newscrawl.items import of_kind
from newscrawl.parsing.htmltext import BLOCK_TAGS, xml_text

logger = logging.getLogger(__name__)

#: the longest URL kept (`url`, `images`, rel=canonical): the sitemaps protocol's limit, and more than
#: any real article or image URL; a 2 MB `src` is an attack or a broken CMS, not a picture
MAX_URL_LENGTH = 2048
#: elements whose content is not text for a reader (code, or raw text that may hold tags)
RAW_TEXT_TAGS = frozenset(
    "script style textarea title xmp iframe noembed noframes plaintext noscript template".split())
#: how many times markup is stripped from its own result: removing «<b>» from «<<b>img …>» leaves a tag
MAX_PASSES = 8
#: text fields lose their markup (newscrawl.items kinds: `paragraphs`, the body, keeps its paragraph breaks)
TEXT_FIELDS = of_kind("text", lists=False)
#: lists of text, whose entries lose their markup; `images` is a list of URLs, checked by clean_url instead
LIST_FIELDS = of_kind("text", lists=True)
_NONCHAR = re.compile("[\ufdd0-\ufdef\ufffe\uffff]")
_SPACES = re.compile(r"[ \t]{2,}")
#: a tag, comment, doctype or processing instruction starts here (HTML5: «<» then a letter, «/», «!», «?»)
_MARKUP_START = re.compile(r"<[A-Za-z/!?]")
_NOT_IN_URL = re.compile(r'[\s\x00-\x1f\x7f"<>\\^`{|}]')
_SPACE_TAGS = BLOCK_TAGS | {"br", "td", "th"}


class _TextCollector:
    """A parser target: the text a reader sees, from libxml2's tokens (no tree is built, and no text is
    lost to tree building: lxml's tree drops what follows a stray «</html>»). Raw-text elements are
    skipped and a block element's edges become spaces. `close` returns the text and resets."""

    def __init__(self):
        self.parts: list[str] = []
        self.skip = 0

    def start(self, tag, attrib):
        tag = tag.lower()
        if tag in RAW_TEXT_TAGS:
            self.skip += 1
        elif tag in _SPACE_TAGS:
            self.space()

    def end(self, tag):
        tag = tag.lower()
        if tag in RAW_TEXT_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _SPACE_TAGS:
            self.space()

    def space(self):
        """A word break, except after a «<»: «<<p>img onerror=…>» must become a tag for the next pass
        to remove, not the text «< img onerror=…>»."""
        if not (self.parts and self.parts[-1].endswith("<")):
            self.parts.append(" ")

    def data(self, text):
        if not self.skip:
            self.parts.append(text)

    def close(self):
        text, self.parts, self.skip = "".join(self.parts), [], 0
        return text


_COLLECTOR = _TextCollector()
_PARSER = etree.HTMLParser(target=_COLLECTOR, recover=True, no_network=True, huge_tree=True)


def _tokenized(text: str) -> str:
    """`text` as a browser would show it if it were HTML: tags, comments and raw-text elements gone.
    «&» is escaped first, so entities in the text stay as written (the loaders decoded them already)."""
    try:
        return etree.fromstring(xml_text(text).replace("&", "&amp;"), _PARSER)
    except (ValueError, etree.LxmlError):  # not seen; fall back to no «<» at all rather than keep a tag
        _COLLECTOR.close()
        return text.replace("<", "")


def _has_markup(text: str) -> bool:
    return "<" in text and _tokenized(text) != text.strip()


def _unescaped(text: str) -> str:
    """`text` with its entities decoded until none is left (at most MAX_PASSES times)."""
    for _ in range(MAX_PASSES):
        decoded = html.unescape(text)
        if decoded == text:
            break
        text = decoded
    return text


def _hidden_markup(text: str) -> str | None:
    """The text decoded as many times as it takes to show markup, when some decoding does."""
    for _ in range(MAX_PASSES):
        decoded = html.unescape(text)
        if decoded == text:
            return None
        if _has_markup(decoded):
            return decoded
        text = decoded
    return None


def strip_markup(text: str) -> str:
    """Text without tags, comments, script/style contents and Unicode noncharacters; spaces tidied.

    Repeated until nothing changes (removing «<b>» from «<<b>i>» leaves a new tag «<i>»), and markup
    that only appears when the text's remaining entities are decoded again («&lt;img …&gt;» in a doubly
    escaped og:title) is decoded and removed too; entities that hide no markup stay as written.
    Unchanged text is returned as it came."""
    if "<" not in text and ("&" not in text or "<" not in _unescaped(text)):  # the usual case
        return _NONCHAR.sub("", text) if _NONCHAR.search(text) else text
    cleaned = text
    for _ in range(MAX_PASSES):
        step = _tokenized(cleaned) if "<" in cleaned else cleaned
        decoded = _hidden_markup(step) if "&" in step else None
        if decoded is not None:
            cleaned = decoded
            continue
        if step == cleaned:
            break
        cleaned = step
    else:  # still changing: nested deeper than anyone writes by accident; no tag start survives
        cleaned = _MARKUP_START.sub("", cleaned)
    cleaned = _NONCHAR.sub("", cleaned)
    if cleaned == text:
        return text
    return _SPACES.sub(" ", " ".join(part.strip() for part in cleaned.split("\n"))).strip()


def strip_paragraphs(body: str) -> str:
    return "\n\n".join(p for p in (strip_markup(p) for p in body.split("\n\n")) if p)


def url_problem(url: str) -> str | None:
    """Why `url` may not be stored ("too_long", "not_http", "invalid"), or None: an absolute http(s)
    URL with a host, at most MAX_URL_LENGTH characters, without whitespace or control characters."""
    if len(url) > MAX_URL_LENGTH:
        return "too_long"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "invalid"
    if parts.scheme not in ("http", "https") or not host:
        return "not_http"
    if any(c.isspace() or ord(c) < 32 or c in "<>\"\\`{}|^" for c in url):
        return "invalid"
    return None


def clean_url(url: str) -> tuple[str | None, str | None]:
    """(the URL, None) or (None, why it is refused). The ASCII characters no URL may hold (a space in an
    image path, a quote) are percent-encoded first; a Persian slug stays readable (the schema's `iri`)."""
    url = url.strip()
    if len(url) > MAX_URL_LENGTH:  # before encoding: encoding a 2 MB string is wasted work
        return None, "too_long"
    encoded = _NOT_IN_URL.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)
    problem = url_problem(encoded)
    return (None, problem) if problem else (encoded, None)
