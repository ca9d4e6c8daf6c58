"""Placing articles in stories, in memory: the one clustering rule both `assign` and `rebuild` follow.

Articles are placed one at a time, in order; each joins the story of the most similar earlier article it
is `similar` to (newscrawl.stories.rules) when the story, with it, still spans at most the window; else it
founds a new story. Stories are never merged afterwards: a story_id, once given, is stable, and an article
resembling two stories (a roundup) joins one instead of chaining them together.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np

from newscrawl.stories import rules, signatures
from newscrawl.stories.members import Member, story_id_for


class Stories:
    """The stories touched by one assignment or rebuild: their members (all of them, for copy_of) and
    time spans; `window`: the longest span of one story, in seconds (None: no limit)."""

    def __init__(self, window: float | None, loader: Callable[[list[str]], list[Member]] | None = None):
        self.window = window
        self.members: dict[str, list[Member]] = {}
        self.span: dict[str, tuple[float, float]] = {}
        self.taken: set[str] = set()  # story ids in use (a new id never collides with a known one)
        self.changed: set[str] = set()
        #: the stored members of a story, read when the story is first considered (assign); None: all
        #: members are added up front (rebuild)
        self.loader = loader
        self.loaded: set[str] = set()
        self.seqs: set[int] = set()

    def add(self, member: Member) -> None:
        """Record `member` in its story (member.story_id)."""
        if member.seq in self.seqs:
            return
        self.seqs.add(member.seq)
        sid = member.story_id
        self.members.setdefault(sid, []).append(member)
        self.taken.add(sid)
        if member.ts is not None:
            low, high = self.span.get(sid, (member.ts, member.ts))
            self.span[sid] = (min(low, member.ts), max(high, member.ts))

    def story(self, sid: str) -> list[Member]:
        """All members of story `sid` (read through the loader the first time)."""
        self.read([sid])
        return self.members.get(sid, [])

    def read(self, sids: Iterable[str]) -> None:
        """Read the members of the stories `sids` not read yet, in one call of the loader."""
        if self.loader is None:
            return
        missing = sorted(set(sids) - self.loaded)
        if missing:
            self.loaded.update(missing)
            for member in self.loader(missing):
                self.add(member)

    def fits(self, sid: str, ts: float | None) -> bool:
        """Whether an article published at `ts` keeps story `sid` within the window."""
        self.story(sid)
        if self.window is None or ts is None or sid not in self.span:
            return True
        low, high = self.span[sid]
        return max(high, ts) - min(low, ts) <= self.window

    def place(self, member: Member, neighbours: Iterable[tuple[Member, float]], story_id: str | None = None) -> str:
        """Put `member` in the best story among its candidate `neighbours` ((earlier member, estimated
        Jaccard) pairs): the one of the most similar neighbour that still fits the window and holds no
        other day of a series with it (rules.series against every member, so a series cannot chain
        through a copy); else in a new one (`story_id` if given and free: a rebuild keeps known ids)."""
        scores: dict[str, float] = {}
        for other, jaccard in neighbours:
            if rules.similar(member, other, jaccard):
                score = max(jaccard, rules.similarity(member, other, jaccard))
                scores[other.story_id] = max(score, scores.get(other.story_id, 0.0))
        self.read(scores)
        best = next((sid for sid in sorted(scores, key=scores.__getitem__, reverse=True)
                     if self.fits(sid, member.ts) and not any(rules.series(member, m) for m in self.story(sid))),
                    None)
        if best is None:
            best = story_id if story_id and story_id not in self.taken else story_id_for(member.key)
            while best in self.taken:  # the founder's key was in the index before (a rebuild's stale id)
                best = story_id_for((best, member.key[1]))
            self.loaded.add(best)  # a new story: nothing stored to read
        member.story_id = best
        self.add(member)
        self.changed.add(best)
        return best

    def copies(self) -> Iterable[tuple[Member, str | None]]:
        """(member, its copy_of) for every member of every changed story."""
        for sid in self.changed:
            members = self.story(sid)
            targets = rules.copy_of(members)
            for member in members:
                yield member, targets[member.name]


def neighbours_of(member: Member, candidates: list[Member], sigs: np.ndarray | None = None
                  ) -> list[tuple[Member, float]]:
    """The `candidates` similar to `member` (rules.similar), with their estimated Jaccard similarity
    (signatures compared at once; `sigs`: the candidates' signatures as rows, when already stacked). The
    others are left out here, in numpy: place() would only skip them, one Python call each."""
    if not candidates or not member.size:
        return []
    sizes = np.array([c.size for c in candidates], dtype=np.float64)
    scores = signatures.jaccard(member.sig, np.vstack([c.sig for c in candidates]) if sigs is None else sigs)
    keep = rules.similar_many(member.size, sizes, scores)
    return [(c, s) for c, s, k in zip(candidates, scores.tolist(), keep.tolist(), strict=True)
            if k and c.key != member.key]


#: in a band group (articles equal in one band) each article is paired with at most this many articles before
#: it: pairs stay linear in the articles even for boilerplate every article shares, and one earlier
#: neighbour of the story is enough to join it
MAX_GROUP = 16


def candidate_pairs(keys: np.ndarray, usable: np.ndarray, ts: np.ndarray | None = None,
                    window: float | None = None,
                    keep: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The pairs (i, j), i < j, of rows of `keys` (rows: articles in placement order, columns: band keys)
    equal in at least one band, among the `usable` rows (those with shingles), published within `window`
    seconds of each other (`ts`: POSIX seconds, NaN when unknown: always kept), and that `keep(i, j)` keeps:
    it returns (mask, score) for arrays of pairs (None: all, score 0). Returns (pairs, scores).

    Sorted per band in numpy, no dict of millions of keys; each band's pairs are checked and merged as they
    come, so memory holds only the kept pairs, not the millions that boilerplate makes."""
    rows = np.flatnonzero(usable)
    n, size = len(rows), np.int64(len(keys))
    found, scores = np.zeros(0, dtype=np.int64), np.zeros(0)
    for band in range(keys.shape[1]):
        order = np.argsort(keys[rows, band], kind="stable")  # stable: rows of one key stay in row order
        ordered = keys[rows[order], band]
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        sizes = np.diff(np.r_[starts, n])
        pos = np.arange(n)
        earlier = np.minimum(pos - np.repeat(starts, sizes), MAX_GROUP)  # rows before it in its group
        total = int(earlier.sum())
        if not total:
            continue
        right = np.repeat(pos, earlier)
        left = right - 1 - (np.arange(total) - np.repeat(np.cumsum(earlier) - earlier, earlier))
        i, j = rows[order[left]], rows[order[right]]
        i, j = np.minimum(i, j), np.maximum(i, j)
        codes = i * size + j
        at = np.searchsorted(found, codes)  # `found` is sorted and distinct: no np.isin (it re-uniques it)
        fresh = (found[np.minimum(at, len(found) - 1)] != codes) if len(found) else np.ones(len(codes), bool)
        if ts is not None and window is not None:
            fresh &= ~(np.abs(ts[i] - ts[j]) > window)  # NaN (undated) compares False: kept
        i, j, codes = i[fresh], j[fresh], codes[fresh]
        mask, score = keep(i, j) if keep is not None else (np.ones(len(i), dtype=bool), np.zeros(len(i)))
        codes, score = codes[mask], score[mask]
        codes, first = np.unique(codes, return_index=True)
        found, scores = np.concatenate((found, codes)), np.concatenate((scores, score[first]))
        order = np.argsort(found, kind="stable")
        found, scores = found[order], scores[order]
    return np.stack([found // size, found % size], axis=1), scores
