"""One article as the story index sees it: its key, its time, its signature and what the rules compare."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from newscrawl.parsing.dates import TEHRAN, parse_iso
from newscrawl.parsing.text import ZWNJ, normalize
from newscrawl.stories import signatures
from newscrawl.stories.shingles import shingle_many

Key = tuple[str, str]
WEEKDAYS = ("شنبه", "یکشنبه", "دوشنبه", "سهشنبه", "چهارشنبه", "پنجشنبه", "جمعه")
MONTHS = ("فروردین", "اردیبهشت", "خرداد", "تیر", "مرداد", "شهریور", "مهر", "آبان", "آذر", "دی", "بهمن",
          "اسفند", "ژانویه", "فوریه", "مارس", "آوریل", "مه", "ژوئن", "ژوئیه", "اوت", "سپتامبر", "اکتبر",
          "نوامبر", "دسامبر")
_DATE_WORDS = re.compile(r"[0-9]+|(?<!\w)(?:" + "|".join(sorted({w.replace(" ", "") for w in WEEKDAYS + MONTHS},
                                                                 key=len, reverse=True)) + r")(?!\w)")


@dataclass(slots=True)
class Member:
    """An article of the index. `seq` is the order it was stored in (ties of published_at); `ts` its
    publication as POSIX seconds (None: unknown); `sig` None when not loaded (a story's other members are
    read without their signature: copy_of needs only their keys, times and sources)."""

    key: Key
    seq: int
    ts: float | None
    published_at: str | None
    title: str
    source: str | None
    story_id: str | None = None
    copy_of: str | None = None
    sig: np.ndarray | None = None
    size: int = 0
    numbers: str = ""  # the body's number contexts (shingles._Tokens.numbers), space-separated: compact
    _number_set: frozenset[str] | None = None
    _title_mask: str | None = None

    @property
    def name(self) -> str:
        """"<site>:<news_code>", the form of copy_of."""
        return f"{self.key[0]}:{self.key[1]}"

    @property
    def order(self) -> tuple:
        """Earliest first: by publication (unknown last), then as stored."""
        return (self.ts is None, self.ts or 0.0, self.seq)

    @property
    def number_set(self) -> frozenset[str]:
        if self._number_set is None:
            self._number_set = frozenset(self.numbers.split())
        return self._number_set

    @property
    def title_mask(self) -> str:
        """The title with its numbers, weekdays and months masked: a daily template's titles share it
        («قیمت طلا امروز شنبه ۵ آذر» and «قیمت طلا امروز یکشنبه ۶ آذر»)."""
        if self._title_mask is None:
            self._title_mask = _DATE_WORDS.sub("#", normalize(self.title, digits="ascii").replace(ZWNJ, ""))
        return self._title_mask


def timestamp(published_at) -> float | None:
    """POSIX seconds of an ISO 8601 instant (offset-less: Tehran time, as everywhere in newscrawl); None when
    absent or unreadable."""
    if isinstance(published_at, datetime):
        return (published_at if published_at.tzinfo else published_at.replace(tzinfo=TEHRAN)).timestamp()
    value = parse_iso(str(published_at)) if published_at else None
    return value.timestamp() if value else None


def story_id_for(key: Key) -> str:
    """A new story's id, from the article that founds it: "s-" and 16 hex digits (≤ 64 characters)."""
    return "s-" + hashlib.blake2b(f"{key[0]}:{key[1]}".encode(), digest_size=8).hexdigest()


def members_of(articles: list[dict], first_seq: int) -> list[Member]:
    """Members of the given article dicts (site, news_code, title, body, published_at, source), numbered
    from `first_seq` in the given order, with their signatures (one datasketch pass for all)."""
    shingled = shingle_many(a.get("body") for a in articles)
    sigs = signatures.signatures(s.hashes for s in shingled)
    found = []
    for i, (a, s) in enumerate(zip(articles, shingled, strict=True)):
        ts = timestamp(a.get("published_at"))
        found.append(Member(key=(str(a["site"]), str(a["news_code"])), seq=first_seq + i, ts=ts,
                            published_at=_text(a.get("published_at"))[:64] if ts is not None else None,
                            title=(a.get("title") or "").replace("\x00", ""), source=a.get("source") or None,
                            sig=sigs[i], size=len(s.hashes), numbers=" ".join(sorted(s.numbers))))
    return found


def _text(value) -> str | None:
    if value is None or value == "":
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)
