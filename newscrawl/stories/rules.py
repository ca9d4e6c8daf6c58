"""The rules: when two articles are the same story, and which article a copy copied.

Same story (`similar`), for a candidate pair found by the LSH bands:
- the estimated Jaccard similarity of their shingle sets is at least JACCARD, or the smaller set is
  (estimated) at least CONTAINED inside the larger one and has MIN_CONTAINED shingles or more (a
  truncated copy, or a copy with paragraphs added, shares little of the whole but all of itself);
- and they are not two days of a daily series (`series`).

A daily series (prices, weather, prayer times, exchange rates) repeats the same template with other
numbers, so its days are near-duplicates by their words. Two articles are days of a series when:
- both hold at least MIN_NUMBERS number contexts (a number with the token before it, shingles.py) and more
  than max(NUMBER_SLACK, NUMBER_MISS x its size) of the smaller set is missing from the larger: a copy keeps
  the numbers of the text it copies (edits add or drop whole lines, so the smaller set is inside the larger,
  give or take a line or two), the next day of a template changes most of them; or
- the same site published both under one title template (the titles equal once digits are masked) but
  with different titles.
"""

from __future__ import annotations

import numpy as np

from newscrawl.stories import signatures
from newscrawl.stories.agencies import sites_of
from newscrawl.stories.members import Member

JACCARD = 0.45
CONTAINED = 0.65
MIN_CONTAINED = 20
MIN_NUMBERS = 3
NUMBER_MISS = 0.15
NUMBER_SLACK = 2


def similarity(a: Member, b: Member, jaccard: float | None = None) -> float:
    """How much of the smaller article's shingles the larger holds (estimated from the MinHash Jaccard J
    and the set sizes: |A∩B| = J(|A|+|B|)/(1+J)); 0 when either has no shingles."""
    if not a.size or not b.size:
        return 0.0
    j = signatures.jaccard(a.sig, b.sig[None, :])[0] if jaccard is None else jaccard
    return min(1.0, j * (a.size + b.size) / ((1 + j) * min(a.size, b.size)))


def similar(a: Member, b: Member, jaccard: float) -> bool:
    """The same text by the thresholds above (`jaccard`: the estimate of their signatures)."""
    if not a.size or not b.size:
        return False
    if jaccard >= JACCARD:
        return True
    return min(a.size, b.size) >= MIN_CONTAINED and similarity(a, b, jaccard) >= CONTAINED


def similar_many(size: np.ndarray | int, sizes: np.ndarray, jaccard: np.ndarray) -> np.ndarray:
    """`similar` for arrays of pairs at once (shingle counts `size` and `sizes`, estimates `jaccard`): the
    same arithmetic in the same order, so the same answers; a candidate list is mostly pairs that fail."""
    sizes = np.asarray(sizes, dtype=np.float64)
    small = np.minimum(size, sizes)
    with np.errstate(divide="ignore", invalid="ignore"):
        contained = jaccard * (size + sizes) / ((1 + jaccard) * np.maximum(small, 1))
    return (small > 0) & ((jaccard >= JACCARD) | ((small >= MIN_CONTAINED) & (contained >= CONTAINED)))


def series(a: Member, b: Member) -> bool:
    """Two days of a daily series (module docstring), so never one story however alike their words."""
    small, large = (a.number_set, b.number_set)
    if len(small) > len(large):
        small, large = large, small
    if len(small) >= MIN_NUMBERS and len(small - large) > max(NUMBER_SLACK, NUMBER_MISS * len(small)):
        return True
    return a.key[0] == b.key[0] and a.title != b.title and a.title_mask == b.title_mask


def copy_of(members: list[Member]) -> dict[str, str | None]:
    """copy_of of each member of one story, by name (None: the original).

    The original is the earliest member (by publication, then as stored), unless it credits an agency that
    has a member in the story: then that agency's earliest member (clocks of sites differ by minutes; the
    credit is the better evidence). Every other member copies the agency its `source` credits when that
    agency has a member in the story, else the original.
    """
    ordered = sorted(members, key=lambda m: m.order)

    def credited(member: Member) -> Member | None:
        agency = sites_of(member.source) if member.source else frozenset()
        if not agency or member.key[0] in agency:
            return None
        return next((m for m in ordered if m.key[0] in agency), None)

    root = credited(ordered[0]) or ordered[0]
    target = {m.name: (None if m is root else (credited(m) or root).name) for m in ordered}
    for name, copied in target.items():
        if copied is not None and target.get(copied) == name:  # two articles crediting each other's agency
            target[name] = root.name
    return target
