"""Persian text normalization: one way of writing the same word, so search, dedup and tests agree.

Everything character-level is one ``str.translate`` table per digit mode, built at import from one table per
rule below (letters, invisible marks, digits); the context rules (U+0670, ZWNJ) are compiled regexes and
whitespace is str.split. No Python loop per character.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable

DIGIT_MODES = ("keep", "ascii", "persian")

ZWNJ = "\u200c"
PERSIAN_DIGITS = "۰۱۲۳۴۵۶۷۸۹"
ARABIC_INDIC_DIGITS = "٠١٢٣٤٥٦٧٨٩"
ASCII_DIGITS = "0123456789"


def _presentation_forms() -> dict[int, str]:
    """Arabic presentation forms (contextual glyphs some CMSs store) → base letters, via NFKC.

    Only forms that decompose to letters of the Arabic block without spaces: isolated harakat (which NFKC
    turns into " ً") and the word ligatures U+FDF0–FDFF (﷼ ﷺ ﷽) are left as they are.
    """
    table = {}
    for cp in [*range(0xFB50, 0xFDF0), *range(0xFE70, 0xFEFF)]:
        ch = chr(cp)
        base = unicodedata.normalize("NFKC", ch)
        if base != ch and all("\u0600" <= c <= "\u06ff" for c in base):
            table[cp] = base
    return table


# Rule 1, letters: Arabic code points that look like Persian ones but break search and equality.
LETTERS = {"ي": "ی", "ى": "ی", "ك": "ک", "ڪ": "ک"}
# Rule 2, marks: invisible characters that carry no spelling (ZWNJ is spelling and is NOT here):
# bidi controls, ZWSP, BOM, word joiner, soft hyphen, Arabic letter mark, kashida, C0 controls/NUL
# (PostgreSQL text cannot store NUL).
MARKS = (
    "\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff\u00ad\u061c"
    "\u0640" + "".join(map(chr, range(0x00, 0x09))) + "".join(map(chr, range(0x0E, 0x1C))) + "\x7f"
)
# Rule 3, digits: one table per target.
TO_ASCII = str.maketrans(PERSIAN_DIGITS + ARABIC_INDIC_DIGITS, ASCII_DIGITS * 2)
TO_PERSIAN = str.maketrans(ASCII_DIGITS + ARABIC_INDIC_DIGITS, PERSIAN_DIGITS * 2)


def _base_table() -> dict[int, str | None]:
    """Letters + marks, and presentation forms mapped through both (ﹱ is kashida + tanween)."""
    simple = {**str.maketrans(LETTERS), **dict.fromkeys(map(ord, MARKS))}
    table = {cp: base.translate(simple) for cp, base in _presentation_forms().items()}
    table.update(simple)
    return table


_BASE = _base_table()
_TABLES = {"keep": _BASE, "ascii": {**_BASE, **TO_ASCII}, "persian": {**_BASE, **TO_PERSIAN}}
# str.translate costs ~50 ns per non-ASCII char; finding the (rare) runs to change with a regex built from the
# same table and translating only those is ~6x faster on real article bodies.
_RUNS = {
    mode: re.compile("[" + "".join(re.escape(chr(cp)) for cp in sorted(table)) + "]+")
    for mode, table in _TABLES.items()
}


def _translate(text: str, digits: str) -> str:
    table = _TABLES[digits]
    return _RUNS[digits].sub(lambda run: run.group().translate(table), text)


# U+0670 (superscript alef) left dangling after a word by some CMSs («مللٰ»); kept after ی («موسیٰ»)
# where it is real orthography. "Word end": not followed (through ZWNJs) by a letter/digit.
_DANGLING_ALEF = re.compile(r"(?<!ی)\u0670(?!\u200c*\w)")
_ZWNJS = re.compile(r"\u200c{2,}")
_DIGIT_RUN = re.compile(r"[0-9]+")


def normalize(text: str | None, digits: str = "keep") -> str:
    """One canonical spelling: Persian ی/ک, no invisible marks, tidy ZWNJ, single spaces, stripped."""
    if digits not in _TABLES:
        raise ValueError(f"digits must be one of {DIGIT_MODES}, not {digits!r}")
    if not text:
        return ""
    text = _translate(html.unescape(text), digits)
    if "\u0670" in text:
        text = _DANGLING_ALEF.sub("", text)
    text = " ".join(text.split())  # every Unicode space/newline → one space (3x faster than a regex)
    if ZWNJ in text:  # no doubles, none next to a space or at either end
        text = _ZWNJS.sub(ZWNJ, text).replace(ZWNJ + " ", " ").replace(" " + ZWNJ, " ").strip(ZWNJ)
        if "  " in text or text[:1] == " " or text[-1:] == " ":
            text = " ".join(text.split())
    return text


def normalize_paragraphs(paragraphs: Iterable[str], digits: str = "keep") -> str:
    """Body text: each paragraph normalized (so one line each), empty ones dropped, blank-line separated."""
    return "\n\n".join(p for p in (normalize(p, digits) for p in paragraphs) if p)


def ascii_digits(text: str) -> str:
    """Persian and Arabic-Indic digits → ASCII; nothing else changes (sites mix both, e.g. «١٢۴»)."""
    return text.translate(TO_ASCII)


def digits_only(text: str | None) -> str | None:
    """The first run of digits as ASCII («کد خبر: ۸۱۸۲۴۲» → "818242"): news codes are ids, not text."""
    if not text:
        return None
    match = _DIGIT_RUN.search(ascii_digits(text))
    return match.group() if match else None


# «به گزارش <who>،»: <who> ends at punctuation or at a preposition starting the rest of the sentence.
_CREDIT = re.compile(
    r"(?<![\w\u200c])به[ \u200c]?گزارش (?P<who>[^،,:.؛;()\[\]]{1,60}?)\s*"
    r"(?:[،,:.؛;(]|\s(?:از|به|در|که|با|برای)\s|$)"
)
_AGENCY_PREFIX = re.compile(r"^(?:خبرگزاری|پایگاه خبری(?: تحلیلی)?|سایت(?: خبری)?(?: تحلیلی)?)\s+")
#: a word that starts an outlet's name inside a desk phrase («گروه سیاسی خبرگزاری فلان»)
_OUTLET_WORDS = frozenset({"خبرگزاری", "روزنامه", "پایگاه", "سایت", "هفته\u200cنامه"})
_DESK_WORDS = frozenset({"خبرنگار", "گروه", "سرویس", "دبیرخانه"})
_QUOTES = "«»\"'“”"

#: Persian news agencies and sites, each with the registered domains it publishes on. A credit after a desk
#: phrase («گروه سیاسی باشگاه خبرنگاران جوان») must end with one of these whole names: its last word alone
#: may be another outlet («جوان» is the newspaper Javan). A page on one of an outlet's domains crediting
#: that outlet is the site naming itself, not a source. Names as a credit gives them once «خبرگزاری» is
#: stripped («به گزارش خبرگزاری دانشجو،» → «دانشجو»).
AGENCIES: dict[str, tuple[str, ...]] = {
    "باشگاه خبرنگاران جوان": ("yjc.ir", "yjc.news"), "ایسنا": ("isna.ir",), "ایرنا": ("irna.ir",),
    "مهر": ("mehrnews.com",), "فارس": ("farsnews.ir", "farsnews.com"), "تسنیم": ("tasnimnews.com",),
    "ایلنا": ("ilna.ir", "ilna.news"), "ایکنا": ("iqna.ir",), "ایبنا": ("ibna.ir",), "برنا": ("borna.news",),
    "آنا": ("ana.press", "ana.ir"), "دانا": ("dana.ir",), "میزان": ("mizanonline.ir", "mizan.news"),
    "صدا و سیما": ("iribnews.ir",), "دانشجو": ("snn.ir",), "تابناک": ("tabnak.ir",),
    "عصر ایران": ("asriran.com",), "انتخاب": ("entekhab.ir",), "فرارو": ("fararu.com",),
    "آفتاب": ("aftabnews.ir",), "بولتن نیوز": ("bultannews.com",), "کیهان": ("kayhan.ir",),
    "همشهری آنلاین": ("hamshahrionline.ir",), "همشهری": ("hamshahrionline.ir",), "مشرق": ("mashreghnews.ir",),
    "خبرآنلاین": ("khabaronline.ir",), "خبر آنلاین": ("khabaronline.ir",),
    "جوان": ("javanonline.ir",), "شبستان": ("shabestan.ir",), "رسا": ("rasanews.ir",),
    "حوزه": ("hawzahnews.com",), "پانا": ("pana.ir",), "اقتصادآنلاین": ("eghtesadonline.com",),
}
_LONGEST_FIRST = sorted(AGENCIES, key=lambda name: -len(name.split()))


def _on(host: str, domains) -> bool:
    return any(host == d or host.endswith("." + d) for d in domains)


def credited_source(body: str | None, site_domains: Iterable[str] = ()) -> str | None:
    """The agency a story credits in its first ~300 chars («به گزارش ایسنا،» → «ایسنا»), else None.

    After a reporter/desk phrase («خبرنگار سیاسی ایسنا», «گروه بین‌الملل خبرگزاری تسنیم») the agency is
    the known name (AGENCIES) the phrase ends with, else the words after an outlet word («خبرگزاری»,
    «روزنامه»), else none: the last word alone is not a name («گروه سیاسی باشگاه خبرنگاران جوان» is
    YJC, not the newspaper «جوان»). Names longer than three words are not trusted (probably a sentence,
    not a name). `site_domains`: the domains of the page's site; an outlet crediting itself is no source.
    """
    if not body:
        return None
    text = normalize(body[:600])
    match = _CREDIT.search(text)
    if not match or match.start() > 300:
        return None
    who = _AGENCY_PREFIX.sub("", match.group("who").strip().strip(_QUOTES).strip())
    words = [w for w in (w.strip(_QUOTES) for w in who.split()) if w]
    while words and words[-1] == "و":  # «مهر و به نقل از ...»
        words.pop()
    if _DESK_WORDS.intersection(words):
        words = _agency_of_desk(words)
    if not words or len(words) > 3:
        return None
    name = normalize(" ".join(words)) or None  # stripping quotes can leave a ZWNJ at a word's edge
    hosts = [d.lower().removeprefix("www.") for d in site_domains if d]
    if name and any(_on(host, AGENCIES.get(name, ())) for host in hosts):
        return None
    return name


def _agency_of_desk(words: list[str]) -> list[str]:
    """The outlet a desk phrase names (see credited_source): its words, or [] when it names none whole."""
    for name in _LONGEST_FIRST:
        size = len(name.split())
        if " ".join(words[-size:]) == name and len(words) > size:
            return words[-size:]
    outlet = [i for i, w in enumerate(words) if w in _OUTLET_WORDS]
    if outlet and outlet[-1] < len(words) - 1:
        return words[outlet[-1] + 1:]
    return []
