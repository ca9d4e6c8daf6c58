"""Word shingles of an article body, as 32-bit hashes: what the story index compares.

The text is first put in the one canonical spelling of newscrawl.parsing.text.normalize (Persian ی/ک,
ASCII digits, no invisible marks), then folded further FOR COMPARISON ONLY (the stored text keeps its ZWNJ):

- ZWNJ is dropped, and a space before a known suffix («ها», «های», «تر», «ترین», «است», ...) or after a
  known prefix («می», «نمی», «بی») is dropped too, so «می‌شود», «می شود» and «میشود» are one word. Sites
  write these three ways interchangeably; dropping ZWNJ alone would leave «می شود» two words. Folding the
  space only next to a closed list of affixes keeps every other word boundary; a false join («ای» the
  vocative) is harmless because both copies of a story are folded the same way.
- harakat and the hamza marks are dropped and أ/إ/آ → ا, ة/ۀ → ه: CMSs and editors differ in them.
- punctuation is dropped: tokens are runs of word characters (letters, digits).

A shingle is k consecutive tokens; its hash is a polynomial over the tokens' hashes, themselves polynomials over
their code points (stable across processes, unlike Python's hash()), computed with numpy for a batch of texts
at once (shingle_many). The number contexts of a body (_Tokens.numbers) feed the daily-series rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from newscrawl.parsing.text import ZWNJ, normalize

#: tokens per shingle, chosen by measurement on the evaluation set (docs/stories.md)
K = 3

_FOLD = re.compile("[" + "".join(["أإآٱ", "ةۀ", *map(chr, range(0x064B, 0x0660)), "\u0670"]) + "]")
_FOLDED = {**dict.fromkeys("أإآٱ", "ا"), "ة": "ه", "ۀ": "ه"}  # everything else in _FOLD is dropped
PREFIXES = ("می", "نمی", "بی")
SUFFIXES = ("ها", "های", "هایی", "هایم", "هایت", "هایش", "هایمان", "هایتان", "هایشان", "تر", "ترین",
            "ای", "ام", "ات", "اش", "ایم", "اید", "اند", "است")
_U64 = 2**64
_P = 0x100000001B3  # odd: invertible modulo 2^64
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants of the shingle polynomial (golden ratio, splitmix)
_ADD = np.uint64(0xBF58476D1CE4E5B9)
_MIX = np.uint64(0x94D049BB133111EB)
#: what re's \w matches (letters and digits of every script, "_"), per BMP code point
_IS_WORD = np.array([c.isalnum() or c == "_" for c in map(chr, range(0x10000))], dtype=bool)
_IS_DIGIT = np.zeros(0x10000, dtype=bool)
_IS_DIGIT[ord("0"):ord("9") + 1] = True


class Shingled(NamedTuple):
    """What the index keeps of a body: its shingle hashes and its number contexts."""

    hashes: np.ndarray  # distinct uint32 shingle hashes, sorted
    numbers: frozenset[str]  # the number contexts (_Tokens.numbers): the series rule's input


class _Powers:
    """P^i and P^-i modulo 2^64 for i < n, grown on demand: a token's hash from prefix sums of the text."""

    def __init__(self):
        self.up = self.down = np.ones(1, dtype=np.uint64)

    def upto(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.up) < n:
            size = max(n, 2 * len(self.up))
            with np.errstate(over="ignore"):
                for name, base in (("up", _P), ("down", pow(_P, -1, _U64))):
                    powers = np.cumprod(np.full(size - 1, base, dtype=np.uint64))
                    setattr(self, name, np.concatenate((np.ones(1, dtype=np.uint64), powers)))
        return self.up[:n], self.down[:n]


_POWERS = _Powers()


def _raw(word: str) -> int:
    """The unmixed polynomial hash of one word, as _Tokens computes it."""
    return sum(ord(c) * pow(_P, i, _U64) for i, c in enumerate(word)) % _U64


_PREFIX_HASHES = np.array(sorted(_raw(w) for w in PREFIXES), dtype=np.uint64)
_SUFFIX_HASHES = np.array(sorted(_raw(w) for w in SUFFIXES), dtype=np.uint64)


class _Tokens:
    """The tokens of folded texts, found and hashed with numpy over their code points at once (a regex per
    affix rule and a hash per token in Python cost 3x more; numpy calls per text instead of per batch, 2x):
    tokens are runs of word characters; a prefix token and the next one, or a token and the next suffix
    token, separated by exactly one space, are one token (the space dropped). Token hashes are the
    polynomial of the code points, from one prefix sum. The texts are joined by newlines, which no token,
    join or shingle crosses (a folded text has none)."""

    def __init__(self, texts: list[str]):
        self.texts = texts
        joined = "\n".join(texts)
        self.bases = np.cumsum([0] + [len(text) + 1 for text in texts[:-1]])  # where each text starts
        points = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
        word = _IS_WORD[np.minimum(points, 0xFFFF)] & (points <= 0xFFFF)
        edges = np.diff(np.concatenate(([False], word, [False])).astype(np.int8))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        self.points = points
        if not len(starts):
            self.starts = self.ends = self.article = starts
            self.hashes = np.zeros(0, dtype=np.uint64)
            return
        up, down = _POWERS.upto(len(points) + 1)
        with np.errstate(over="ignore"):
            prefix = np.concatenate((np.zeros(1, dtype=np.uint64), np.cumsum(points.astype(np.uint64) * up[:-1])))
            raw = (prefix[ends] - prefix[starts]) * down[starts]
            # join: one space between, and the left one a prefix or the right one a suffix
            gap = starts[1:] - ends[:-1] == 1
            gap &= points[np.minimum(ends[:-1], len(points) - 1)] == 32
            join = gap & ((raw[:-1, None] == _PREFIX_HASHES).any(axis=1) | (raw[1:, None] == _SUFFIX_HASHES).any(axis=1))
            first = np.flatnonzero(np.concatenate(([True], ~join)))  # the first token of each group
            lengths = (ends - starts).astype(np.uint64)
            before = np.cumsum(lengths) - lengths  # chars of earlier tokens: the offset within the group
            offset = (before - before[first].repeat(np.diff(np.concatenate((first, [len(starts)])))))
            self.hashes = np.add.reduceat(raw * up[offset.astype(np.int64)], first)
        self.starts, self.ends = starts[first], ends[np.concatenate((first[1:] - 1, [len(starts) - 1]))]
        self.article = np.searchsorted(self.bases, self.starts, side="right") - 1  # the text of each token

    def words(self) -> list[str]:
        """The tokens of the first text, as text."""
        text = self.texts[0]
        return [text[s:e].replace(" ", "") for s, e, a in zip(self.starts.tolist(), self.ends.tolist(),
                                                               self.article.tolist(), strict=True) if a == 0]

    def mixed(self) -> np.ndarray:
        """The token hashes, mixed (xorshift-multiply) so that shingles of them spread over 64 bits."""
        h = self.hashes.copy()
        with np.errstate(over="ignore"):
            h ^= h >> np.uint64(31)
            h *= _MIX
            h ^= h >> np.uint64(29)
        return h

    def _per_text(self, values: np.ndarray, texts: np.ndarray) -> list[np.ndarray]:
        """`values` split by text (`texts`: the text of each value, ascending)."""
        return np.split(values, np.searchsorted(texts, np.arange(1, len(self.texts))))

    def shingles(self, mixed: np.ndarray, k: int) -> list[np.ndarray]:
        """Per text, the distinct hashes (sorted uint32) of its k-token shingles (one shingle of all its
        tokens when it has fewer than k)."""
        count = np.bincount(self.article, minlength=len(self.texts))
        first = np.cumsum(count) - count
        at = np.arange(len(mixed))
        left = (first + count)[self.article] - at  # tokens from here to the end of the text
        size = np.minimum(left, k)
        valid = np.flatnonzero((size == k) | ((count[self.article] < k) & (at == first[self.article])))
        size = size[valid]
        h = np.zeros(len(valid), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for i in range(k):
                h = np.where(i < size, (h + mixed[np.minimum(valid + i, len(mixed) - 1)]) * _MULT + _ADD, h)
        keys = np.sort((self.article[valid].astype(np.uint64) << np.uint64(32)) | (h >> np.uint64(32)))
        keys = keys[np.concatenate((keys[:1] == keys[:1], keys[1:] != keys[:-1]))]  # np.unique: 3x slower
        return [part.astype(np.uint32) for part in self._per_text(keys & np.uint64(0xFFFFFFFF),
                                                                  (keys >> np.uint64(32)).astype(np.int64))]

    def numbers(self, mixed: np.ndarray) -> list[frozenset[str]]:
        """Per text, its number contexts: a hash of each digit-only token with the token before it and the
        next one when that is a number too («صبح ۰۵ ۵۳», «امامی ۴۵ ۰۰۰», «تاکنون ۱۸۵»), as decimal text. A
        copy keeps them; the next day of a template changes most of them even when it reuses the same few
        numbers (the hour of a prayer time changes with its minutes). The word after is left out: it is
        often a unit whose ZWNJ another site writes as a space («میلی‌متر»)."""
        other = np.concatenate(([0], np.cumsum(~_IS_DIGIT[np.minimum(self.points, 0xFFFF)])))
        at = np.flatnonzero(other[self.ends] == other[self.starts])
        if not len(at):
            return [frozenset() for _ in self.texts]
        last = len(mixed) - 1
        article = self.article[at]
        inside = np.concatenate((self.article[1:] == self.article[:-1], [False]))  # the next token: same text
        before = np.where((at > 0) & inside[np.maximum(at - 1, 0)], mixed[np.maximum(at - 1, 0)], np.uint64(0))
        number = np.zeros(len(mixed) + 1, dtype=bool)
        number[at] = True
        after = np.where(number[at + 1] & inside[at], mixed[np.minimum(at + 1, last)], np.uint64(0))
        with np.errstate(over="ignore"):
            h = ((before * _MULT + mixed[at]) * _MULT + after) * _MULT
        return [frozenset(map(str, part.tolist())) for part in self._per_text(h >> np.uint64(40), article)]


def fold(text: str | None) -> str:
    """The text the tokens are read from: normalized (ASCII digits), ZWNJ dropped, letters folded."""
    text = normalize(text, digits="ascii").replace(ZWNJ, "")
    if _FOLD.search(text):
        text = _FOLD.sub(lambda m: _FOLDED.get(m.group(), ""), text)
    return text


def tokens(text: str | None) -> list[str]:
    """The comparison tokens of `text`: «می‌شود»، «می شود»، «میشود» → [«میشود»]."""
    return _Tokens([fold(text)]).words()


def shingle_many(texts: Iterable[str | None], k: int | None = None, chars: int = 200_000) -> list[Shingled]:
    """The shingles (of k tokens, default K) and number contexts of each body, computed for about `chars`
    characters of bodies at once."""
    found, batch, size = [], [], 0
    for text in texts:
        batch.append(fold(text))
        size += len(batch[-1])
        if size >= chars:
            found.extend(_shingled(batch, k or K))
            batch, size = [], 0
    if batch:
        found.extend(_shingled(batch, k or K))
    return found


def _shingled(texts: list[str], k: int) -> list[Shingled]:
    tokens_ = _Tokens(texts)
    mixed = tokens_.mixed()
    return [Shingled(h, n) for h, n in zip(tokens_.shingles(mixed, k), tokens_.numbers(mixed), strict=True)]


def shingle(text: str | None, k: int | None = None) -> Shingled:
    """The shingles and number contexts of one body (shingle_many)."""
    return shingle_many([text], k)[0]
