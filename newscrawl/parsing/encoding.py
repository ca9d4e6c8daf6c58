"""Which codec a page's bytes are in: the one rule for reading a page, used by the crawl's guard
(newscrawl.downloadermiddlewares.guards) and by page objects and offline extraction, which decode bytes
without Scrapy.

Why not only the declaration: an undeclared windows-1256 page is decoded by a statistical guess that fails
on short pages (mojibake stored as text), and a page that declares windows-1252 but is UTF-8 is decoded as
declared (mojibake again). `choose_encoding` reads what the bytes are, and says why.
"""

from __future__ import annotations

import codecs
from collections import Counter
from dataclasses import dataclass

from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

#: share of the non-ASCII letters that must be Arabic script for a page to count as Persian/Arabic text
ARABIC_SHARE = 0.8
#: at most this share of the non-ASCII bytes may fail to decode for the bytes to be "UTF-8 with a few bad
#: bytes" (a stray byte in a comment, a cut multi-byte character); windows-1256 Persian fails on 85-98%
UTF8_MAX_INVALID_SHARE = 0.1
#: at least this share must fail before a page that declares UTF-8 is read as windows-1256 instead; in
#: between, the declaration stands (UTF-8, bad bytes replaced): a damaged UTF-8 page stays mostly legible
NOT_UTF8_MIN_INVALID_SHARE = 0.5

_ASCII, _NON_ASCII = bytes(range(0x80)), bytes(range(0x80, 0x100))
#: non-ASCII characters looked at for the Arabic share: plenty for a page in one encoding, and it bounds
#: the cost on a long page (the count is Python work per character)
SAMPLE_CHARS = 8192
#: Arabic, Arabic Supplement, Extended-A, Presentation Forms-A and -B
_ARABIC = ((0x0600, 0x06FF), (0x0750, 0x077F), (0x08A0, 0x08FF), (0xFB50, 0xFDFF), (0xFE70, 0xFEFF))


@dataclass(frozen=True)
class EncodingChoice:
    """How a page is to be read, and why (see `choose_encoding`)."""

    #: the codec to read the page with; None leaves it to Scrapy (ASCII, a BOM, or nothing to go on)
    encoding: str | None
    #: what the page declares, as Scrapy reads it (Content-Type charset, else <meta>), as a codec name
    declared: str | None
    #: why, for the log line
    reason: str
    #: bytes that are not UTF-8 on a page read as UTF-8: each is read as U+FFFD
    invalid_bytes: int = 0

    @property
    def override(self) -> bool:
        """The page must be read as `encoding`, which is not what it declares (or it declares nothing)."""
        return self.encoding is not None and self.encoding != self.declared


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def _arabic(body: bytes, codec: str) -> bool:
    """Are the page's non-ASCII letters, read in `codec`, Arabic script (ARABIC_SHARE of the first
    SAMPLE_CHARS of them)? The ASCII bytes are dropped first: in UTF-8 and in single-byte code pages
    no character shares a byte with ASCII, so what is left decodes to the same non-ASCII characters."""
    sample = body.translate(None, _ASCII)[: 4 * SAMPLE_CHARS].decode(codec, "ignore")[:SAMPLE_CHARS]
    letters = arabic = 0
    for char, n in Counter(sample).items():
        if char.isalpha():
            letters += n
            if any(low <= ord(char) <= high for low, high in _ARABIC):
                arabic += n
    return bool(letters) and arabic / letters >= ARABIC_SHARE


def _utf8_damage(body: bytes) -> tuple[int, float]:
    """(how many bytes of `body` are not UTF-8, their share of the non-ASCII bytes). Python's decoder
    drops exactly those bytes with errors="ignore", so the count is what re-encoding lost."""
    try:
        body.decode("utf-8")
        return 0, 0.0
    except UnicodeDecodeError:
        pass
    invalid = len(body) - len(body.decode("utf-8", "ignore").encode("utf-8"))
    return invalid, invalid / (len(body) - len(body.translate(None, _NON_ASCII)))


def choose_encoding(body: bytes, content_type: str = "") -> EncodingChoice:
    """Read the page the way its bytes say, not only the way its headers say.

    - A declared UTF-8 stands while at most UTF8_MAX_INVALID_SHARE of the non-ASCII bytes fail (they
      are replaced and counted); it gives way to windows-1256 only when most of them fail
      (NOT_UTF8_MIN_INVALID_SHARE) and windows-1256 reads them as Arabic script.
    - Any other declared charset gives way to UTF-8 when the bytes are (almost all) valid UTF-8 with
      Arabic-script text: what the declared charset would show is Persian mojibake ("Ø³Ù„Ø§Ù…",
      "ط³ظ„ط§ظ…"). Legacy-encoded Persian is practically never valid UTF-8 (85-98% of its bytes fail).
    - No declaration: UTF-8 when the bytes are (almost all) valid UTF-8, windows-1256 when they are not
      and read as Arabic script; else Scrapy's guess.
    ASCII-only pages and pages with a byte order mark are left to Scrapy, which reads them correctly.
    """
    bom = read_bom(body)[0]
    if bom:
        invalid = _utf8_damage(body)[0] if _is_utf8(bom) else 0
        return EncodingChoice(None, bom, "byte order mark", invalid)
    declared = http_content_type_encoding(content_type) or html_body_declared_encoding(body)
    declared = resolve_encoding(declared) if declared else None
    if body.isascii():
        return EncodingChoice(None, declared, "ASCII only")
    invalid, share = _utf8_damage(body)
    utf8 = share <= UTF8_MAX_INVALID_SHARE
    if declared and _is_utf8(declared):
        if share >= NOT_UTF8_MIN_INVALID_SHARE and _arabic(body, "cp1256"):
            return EncodingChoice("cp1256", declared, f"{share:.0%} of its non-ASCII bytes are not UTF-8 and "
                                  "read as Arabic script in windows-1256")
        return EncodingChoice(declared, declared, "declared", invalid)
    if declared:
        if utf8 and _arabic(body, "utf-8"):
            return EncodingChoice("utf-8", declared, "its bytes are UTF-8 with Arabic-script text (Persian "
                                  f"mojibake in {declared})", invalid)
        return EncodingChoice(declared, declared, "declared")
    if utf8:
        if not invalid:
            return EncodingChoice(None, None, "valid UTF-8, which Scrapy's detection reads as such")
        return EncodingChoice("utf-8", None, f"UTF-8 but for {invalid} bytes", invalid)
    if _arabic(body, "cp1256"):
        return EncodingChoice("cp1256", None, "not UTF-8; Arabic script in windows-1256")
    return EncodingChoice(None, None, "not UTF-8 nor windows-1256 Persian: Scrapy's guess")


def persian_legacy_encoding(body: bytes, content_type: str = "") -> str | None:
    """'cp1256' when `choose_encoding` reads the page as windows-1256 against what it declares (or when it
    declares nothing); None otherwise."""
    choice = choose_encoding(body, content_type)
    return "cp1256" if choice.override and choice.encoding == "cp1256" else None


def page_encoding(body: bytes, content_type: str = "") -> str:
    """The codec a page is read in: `choose_encoding`'s, else the one Scrapy's TextResponse would take (a
    byte order mark, the declaration, ASCII, valid UTF-8, charset_normalizer's guess), so a page object
    reads saved bytes exactly as a crawl's response does."""
    chosen = choose_encoding(body, content_type).encoding
    if chosen:
        return chosen
    return html_to_unicode(content_type, body, auto_detect_fun=_auto_detect, default_encoding="ascii")[0]


def _auto_detect(body: bytes) -> str | None:
    """TextResponse's guess for bytes that declare no encoding: ASCII or UTF-8 when they read as such,
    else charset_normalizer's best guess."""
    for encoding in ("ascii", "utf-8"):
        try:
            body.decode(encoding)
        except UnicodeError:
            continue
        return resolve_encoding(encoding)
    from charset_normalizer import from_bytes

    match = from_bytes(body).best()
    return resolve_encoding(match.encoding) if match else None
