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
_DESK_WORDS = frozenset({"خبرنگار", "گروه", "سرویس", "دبیرخانه"})
_QUOTES = "«»\"'“”"


def credited_source(body: str | None) -> str | None:
    """The agency a story credits in its first ~300 chars («به گزارش ایسنا،» → «ایسنا»), else None.

    After a reporter/desk phrase («خبرنگار سیاسی ایسنا», «گروه بین‌الملل خبرگزاری فارس») the agency is
    the last word. Names longer than three words are not trusted (probably a sentence, not a name).
    """
    if not body:
        return None
    text = normalize(body[:600])
    match = _CREDIT.search(text)
    if not match or match.start() > 300:
        return None
    who = _AGENCY_PREFIX.sub("", match.group("who").strip().strip(_QUOTES).strip())
    words = who.split()
    if _DESK_WORDS.intersection(words):
        words = words[-1:]
    words = [w for w in (w.strip(_QUOTES) for w in words) if w]
    while words and words[-1] == "و":  # «مهر و به نقل از ...»
        words.pop()
    if not words or len(words) > 3:
        return None
    return normalize(" ".join(words)) or None  # stripping quotes can leave a ZWNJ at a word's edge
