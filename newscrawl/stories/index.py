"""StoryIndex: the story clusters of one database, assigned incrementally or rebuilt in batch.

`assign` runs in one transaction that first takes the index's lock (tables.lock), reads only the stored
articles sharing the most LSH bands with each new one (counted in SQL over the `band` index) and the other
members of the stories they are similar to, places the new articles (newscrawl.stories.cluster), and writes
the new rows, the copy_of values that changed and the `articles` rows whose story_id/copy_of changed.
`rebuild` does the same for everything at once in memory: candidate pairs from sorted band columns (numpy),
one pass over the articles in publication order, then bulk writes (COPY on PostgreSQL) with the band index
built after the rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator
from functools import cache
from typing import NamedTuple

import numpy as np
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Connection, Engine

from newscrawl import settings as project
from newscrawl.parsing.dates import TEHRAN
from newscrawl.stories import rules, signatures, tables
from newscrawl.stories.cluster import MAX_GROUP, Stories, candidate_pairs, neighbours_of
from newscrawl.stories.members import Key, Member, members_of
from newscrawl.stories.tables import story_articles, story_bands

logger = logging.getLogger(__name__)

CHUNK = 500  # values per IN (...) list
MAX_CANDIDATES = 48  # stored articles compared with a new one, those sharing the most bands
_COLUMNS = ("id", "site", "news_code", "story_id", "copy_of", "published_ts", "published_at", "title", "source",
            "size", "numbers", "signature")


class Assignment(NamedTuple):
    """Where one article landed: its story and, when it is a copy, whom it copied.

    `story_id`: text of at most 64 characters, stable once given (a later article joining the story never
    changes it). `copy_of`: "<site>:<news_code>" of the article this one copies: the credited agency's
    article when `source` names an agency that has an article in the story, else the story's earliest
    article (by published_at; ties: the earliest stored); None for that original itself and for an article
    alone in its story.
    """

    story_id: str
    copy_of: str | None


class StoryIndex:
    """The story index of one database (MinHash signatures and LSH band hashes in tables of its own,
    beside `articles`), so it works across runs and across the workers of a fleet.

    `engine`: a SQLAlchemy Engine on SQLite or PostgreSQL; the tables are created if missing.
    `window_days`: only articles published within this many days of each other join one story (None: the
    NEWSCRAWL_STORIES_WINDOW_DAYS setting's default).
    """

    def __init__(self, engine: Engine, window_days: float | None = None):
        days = project.NEWSCRAWL_STORIES_WINDOW_DAYS if window_days is None else window_days
        if not float(days) > 0:
            raise ValueError(f"the story window must be a positive number of days, not {days!r}")
        self.engine = engine
        self.window_days = days
        self.window = float(days) * 86400
        tables.create(engine)
        #: whether `articles` has the story_id/copy_of columns to update (checked again by rebuild)
        self.updates_articles = tables.articles_columns(engine)

    # -- assign ----------------------------------------------------------------------------------------
    def assign(self, articles: list[dict]) -> dict[Key, Assignment]:
        """Assign each article (dicts with site, news_code, title, body, published_at, source) a story.

        Persists them in the index and updates `articles.story_id` / `articles.copy_of` of every stored
        row whose values change (an earlier original arriving later re-points its story's copies), in one
        transaction. An article already in the index keeps its story; assigning it again writes that story
        into its `articles` row only when the row has none (a restored or edited database heals).
        Returns the assignment of each given article, keyed by (site, news_code).
        """
        batch: dict[Key, dict] = {}
        for article in articles:
            batch.setdefault((str(article["site"]), str(article["news_code"])), article)
        if not batch:
            return {}
        with self.engine.begin() as conn:
            tables.lock(conn)
            known = {m.key: m for m in self._load(conn, "key", list(batch), signature=False)}
            found = {key: Assignment(m.story_id, m.copy_of) for key, m in known.items()}
            self._heal_articles(conn, list(known.values()))
            fresh = [article for key, article in batch.items() if key not in known]
            if fresh:
                first = (_run(conn, "SELECT max(id) FROM story_articles").fetchone()[0] or 0) + 1
                for member in self._place(conn, members_of(fresh, first), first):
                    found[member.key] = Assignment(member.story_id, member.copy_of)
        return {key: found[key] for key in batch}

    def _place(self, conn: Connection, members: list[Member], first: int) -> list[Member]:
        """Place new `members` (seq from `first`) among the stored ones and write the result.

        For each new article one query (_candidates) returns the MAX_CANDIDATES stored articles sharing the
        most bands with it among the MAX_GROUP latest of each of its band keys (boilerplate shared by many
        articles makes single-band hits plentiful; a copy shares many bands): counted in SQL, so only those
        rows are fetched. They are read with their signatures, the stories of those similar to a new
        article read at once (their members without signatures: the rules need only keys, times, titles,
        sources and numbers), then the articles are placed in order, each also compared with the batch's
        earlier articles sharing a band with it."""
        keys = signatures.bands(np.vstack([m.sig for m in members]))
        cursor = conn.connection.cursor()
        query = _candidates(conn.dialect.paramstyle)
        chosen: list[list[int]] = []
        for member, row in zip(members, keys.tolist(), strict=True):
            chosen.append([a for (a,) in cursor.execute(query, row).fetchall()] if member.size else [])
        loaded = {m.seq: m for m in self._load(conn, "id", sorted({a for c in chosen for a in c}))}
        stories = Stories(self.window,
                          loader=lambda sids: self._load(conn, "story_id", sids, signature=False))
        stories.taken.update(m.story_id for m in loaded.values())
        rows = {seq: i for i, seq in enumerate(loaded)}
        sigs = np.vstack([m.sig for m in loaded.values()]) if loaded else None
        stored = [neighbours_of(member, [loaded[a] for a in ids], sigs[[rows[a] for a in ids]]) if ids else []
                  for member, ids in zip(members, chosen, strict=True)]
        stories.read({other.story_id for near in stored for other, _ in near})  # one query, not one a place
        batch_bands: dict[int, list[Member]] = {}
        for member, row, near in zip(members, keys.tolist(), stored, strict=True):
            if member.size:
                mates = {m.seq: m for band in row for m in batch_bands.get(band, ())}
                near = near + neighbours_of(member, list(mates.values()))
            stories.place(member, near)
            if member.size:
                for band in row:
                    batch_bands.setdefault(band, []).append(member)
        changed = []
        for member, target in stories.copies():
            if member.seq < first and member.copy_of != target:
                changed.append(member)
            member.copy_of = target
        self._insert(conn, members, keys)
        if changed:
            _run(conn, "UPDATE story_articles SET copy_of = ? WHERE id = ?",
                 [(m.copy_of, m.seq) for m in changed])
        self._update_articles(conn, [*members, *changed])
        return members

    # -- rebuild ---------------------------------------------------------------------------------------
    def rebuild(self, articles: Iterable[dict], chunk: int = 2000) -> int:
        """Drop the index and assign all `articles` from scratch; returns how many were indexed.

        Articles are read in chunks of `chunk` (only their signatures, times, titles and numbers are kept),
        placed in publication order, then written at once. An article dict may carry its current
        `story_id`/`copy_of` (from the articles table): a story keeps the id its founder had, and only the
        `articles` rows whose values change are updated.
        """
        members, current, seen = [], {}, set()
        for part in _batches(articles, chunk):
            part = [a for a in part if (key := (str(a["site"]), str(a["news_code"]))) not in seen
                    and not seen.add(key)]
            for article in part:
                if "story_id" in article:
                    current[(str(article["site"]), str(article["news_code"]))] = (
                        article.get("story_id"), article.get("copy_of"))
            members.extend(members_of(part, len(members) + 1))
        members.sort(key=lambda m: m.order)
        for seq, member in enumerate(members, 1):
            member.seq = seq  # stored order = placement order: the index reads the same as after assign
        stories = Stories(self.window)
        if members:
            sigs = np.vstack([m.sig for m in members])
            keys = signatures.bands(sigs)
            for member, sig in zip(members, sigs, strict=True):
                member.sig = sig  # a view of one array, not a copy per article
            for j, neighbours in _neighbours(members, sigs, keys, self.window):
                member = members[j]
                stories.place(member, neighbours, story_id=current.get(member.key, (None, None))[0])
        else:
            keys = np.zeros((0, signatures.BANDS), dtype=np.int64)
        for member, target in stories.copies():
            member.copy_of = target
        self.updates_articles = tables.articles_columns(self.engine)
        with self.engine.begin() as conn:
            tables.lock(conn)
            if conn.dialect.name == "postgresql":  # DELETE of millions of band rows is slow there
                conn.execute(text("TRUNCATE story_bands, story_articles"))
            else:
                conn.execute(delete(story_bands))
                conn.execute(delete(story_articles))
            tables.BAND_INDEX.drop(conn, checkfirst=True)
            self._insert(conn, members, keys)
            tables.BAND_INDEX.create(conn, checkfirst=True)
            self._update_articles(conn, [m for m in members if current.get(m.key) != (m.story_id, m.copy_of)])
        return len(members)

    # -- biggest ---------------------------------------------------------------------------------------
    def biggest(self, since=None, until=None, limit: int = 10) -> list[dict]:
        """The stories with the most sites whose first article falls in [since, until] (dates are Tehran
        days, `until` included; datetimes are instants, naive ones Tehran time; None: open): dicts
        {story_id, title (of the earliest article), sites (distinct count), articles (count), first, last
        (published_at of the earliest and latest article)}; most sites first, then most articles."""
        first = func.min(story_articles.c.published_ts)
        query = (select(story_articles.c.story_id, func.count(func.distinct(story_articles.c.site)).label("sites"),
                        func.count().label("articles"), first.label("first_ts"))
                 .group_by(story_articles.c.story_id)
                 .order_by(func.count(func.distinct(story_articles.c.site)).desc(), func.count().desc(),
                           first, story_articles.c.story_id)
                 .limit(max(0, int(limit))))
        if since is not None:
            query = query.having(first >= _bound(since))
        if until is not None:
            query = query.having(first < _bound(until, end=True))
        found = []
        with self.engine.connect() as conn:
            for story_id, sites, count, _ in conn.execute(query).all():
                rows = conn.execute(select(story_articles.c.title, story_articles.c.published_at,
                                           story_articles.c.published_ts)
                                    .where(story_articles.c.story_id == story_id)).all()
                dated = sorted((r for r in rows if r.published_ts is not None), key=lambda r: r.published_ts)
                earliest = min(rows, key=lambda r: (r.published_ts is None, r.published_ts or 0.0))
                found.append({"story_id": story_id, "title": earliest.title, "sites": sites, "articles": count,
                              "first": dated[0].published_at if dated else None,
                              "last": dated[-1].published_at if dated else None})
        return found

    # -- rows ------------------------------------------------------------------------------------------
    @staticmethod
    def _load(conn: Connection, column: str, values: list, signature: bool = True) -> list[Member]:
        """The indexed members whose `column` ("id", "story_id" or "key": (site, news_code) pairs) is one of
        `values`, in chunks; without their signatures unless `signature`. Plain SQL on the driver's cursor:
        SQLAlchemy's statement and row handling were most of an assignment's cost."""
        found, sigs = [], []
        cursor = conn.connection.cursor()
        for part in _chunks(values):
            params = tuple(v for pair in part for v in pair) if column == "key" else tuple(part)
            for row in cursor.execute(_select(column, len(part), conn.dialect.paramstyle, signature),
                                      params).fetchall():
                seq, site, code, story_id, copy_of, ts, published_at, title, source, size, numbers, sig = row
                found.append(Member(key=(site, code), seq=seq, ts=ts, published_at=published_at, title=title or "",
                                    source=source, story_id=story_id, copy_of=copy_of, size=size,
                                    numbers=numbers or ""))
                if sig:
                    sigs.append((found[-1], sig))
        if sigs:  # decoded at once, each member's signature a row of one array
            for (member, _), row in zip(sigs, signatures.from_bytes(b"".join(bytes(sig) for _, sig in sigs))
                                        .reshape(len(sigs), -1), strict=True):
                member.sig = row
        return found

    @staticmethod
    def _insert(conn: Connection, members: list[Member], keys: np.ndarray, chunk: int = 5000) -> None:
        """Insert the members' rows and the bands of those with shingles (COPY on PostgreSQL), `chunk`
        members at a time: a rebuild's 100,000 articles have 4 million bands, too many Python tuples at once."""
        for start in range(0, len(members), chunk):
            part = members[start:start + chunk]
            rows = [(m.seq, m.key[0], m.key[1], m.story_id, m.copy_of, m.ts, m.published_at, m.title, m.source,
                     m.size, m.numbers, signatures.to_bytes(m.sig)) for m in part]
            _bulk(conn, "story_articles", _COLUMNS, rows)
            usable = np.array([bool(m.size) for m in part], dtype=bool)
            seqs = np.array([m.seq for m in part], dtype=np.int64)[usable]
            bands = keys[start:start + chunk][usable].ravel()
            order = np.argsort(bands, kind="stable")  # in index order: each insert lands near the last one
            _bulk(conn, "story_bands", ("band", "article"),
                  zip(bands[order].tolist(), np.repeat(seqs, keys.shape[1])[order].tolist(), strict=True))

    def _heal_articles(self, conn: Connection, members: list[Member]) -> None:
        """Write the story of already indexed `members` into their `articles` rows that have none (a row
        restored from a backup, or edited): assigning them again is how such rows heal."""
        if not members or not self.updates_articles:
            return
        _run(conn, "UPDATE articles SET story_id = ?, copy_of = ? WHERE site = ? AND news_code = ? "
             "AND story_id IS NULL", [(m.story_id, m.copy_of, *m.key) for m in members])

    def _update_articles(self, conn: Connection, members: list[Member]) -> None:
        """Write story_id/copy_of into the `articles` rows of `members` (rows not stored yet are skipped)."""
        if not members:
            return
        if not self.updates_articles:
            logger.debug("articles has no story_id/copy_of columns: %d assignments kept in the index only",
                         len(members))
            return
        _run(conn, "UPDATE articles SET story_id = ?, copy_of = ? WHERE site = ? AND news_code = ?",
             [(m.story_id, m.copy_of, *m.key) for m in members])


def _neighbours(members: list[Member], sigs: np.ndarray, keys: np.ndarray, window: float | None
                ) -> Iterator[tuple[int, list[tuple[Member, float]]]]:
    """(j, [(earlier member, estimated Jaccard), ...]) for every member j in order, the earlier members
    being its LSH candidates within the window that pass the similarity thresholds (rules.similar, checked
    for each band's pairs at once)."""
    sizes = np.array([m.size for m in members], dtype=np.float64)
    ts = np.array([np.nan if m.ts is None else m.ts for m in members], dtype=np.float64)

    def keep(i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        scores = np.empty(len(i))
        for start in range(0, len(i), 50_000):
            part = slice(start, start + 50_000)
            scores[part] = (sigs[i[part]] == sigs[j[part]]).mean(axis=1)
        small = np.minimum(sizes[i], sizes[j])
        contained = scores * (sizes[i] + sizes[j]) / ((1 + scores) * np.maximum(small, 1))
        return (scores >= rules.JACCARD) | ((small >= rules.MIN_CONTAINED) & (contained >= rules.CONTAINED)), scores

    pairs, scores = candidate_pairs(keys, sizes > 0, ts, window, keep)
    order = np.argsort(pairs[:, 1], kind="stable")
    pairs, scores = pairs[order], scores[order]
    bounds = np.searchsorted(pairs[:, 1], np.arange(len(members) + 1))
    for j in range(len(members)):
        low, high = bounds[j], bounds[j + 1]
        yield j, [(members[i], s) for i, s in zip(pairs[low:high, 0].tolist(), scores[low:high].tolist(),
                                                    strict=True)]


@cache
def _select(column: str, count: int, paramstyle: str, signature: bool = True) -> str:
    """SQL for the story_articles rows whose `column` is one of `count` values (StoryIndex._load)."""
    mark = "?" if paramstyle == "qmark" else "%s"
    marks = ", ".join([f"({mark}, {mark})" if column == "key" else mark] * count)
    where = "(site, news_code)" if column == "key" else column
    columns = ", ".join(_COLUMNS if signature else (*_COLUMNS[:-1], "NULL"))
    return f"SELECT {columns} FROM story_articles WHERE {where} IN ({marks})"


@cache
def _candidates(paramstyle: str) -> str:
    """SQL for the MAX_CANDIDATES stored articles sharing the most bands with one new article (its BANDS
    keys are the parameters; ties: the latest), among the MAX_GROUP latest articles of each key: one index
    range scan each ((band, article) index). A key a site's footer or a topic's background paragraph made is
    shared by thousands of articles; reading them all made an assignment 80 ms in a 100,000-article index.
    The rebuild pairs an article with the same MAX_GROUP earlier ones of a band (cluster.candidate_pairs).
    Counted in SQL: fetching every hit (~150 rows an article) and counting them in Python was a third of an
    assignment. Plain SQL: built with SQLAlchemy, the 42-part UNION cost more to compile than to run."""
    mark = "?" if paramstyle == "qmark" else "%s"
    part = f"SELECT * FROM (SELECT article FROM story_bands WHERE band = {mark} " \
           f"ORDER BY article DESC LIMIT {MAX_GROUP}) AS p{{}}"
    hits = " UNION ALL ".join(part.format(i) for i in range(signatures.BANDS))
    return f"SELECT article FROM ({hits}) AS hits GROUP BY article ORDER BY count(*) DESC, article DESC " \
           f"LIMIT {MAX_CANDIDATES}"


def _run(conn: Connection, sql: str, rows: list[tuple] | None = None):
    """Run plain SQL ("?" marks) on the driver's cursor of `conn`'s transaction: once, or for each of `rows`
    (executemany). SQLAlchemy's statement building and compiling cost more than an assignment's SQL itself."""
    cursor = conn.connection.cursor()
    if conn.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    if rows is None:
        return cursor.execute(sql)
    cursor.executemany(sql, rows)
    return cursor


def _bulk(conn: Connection, name: str, columns: tuple[str, ...], rows: Iterable[tuple]) -> None:
    """Insert many rows fast: COPY on PostgreSQL (psycopg), one executemany of plain tuples on SQLite."""
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    rows = list(rows)
    if rows:
        _run(conn, f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})", rows)


def _chunks(values: list, size: int = CHUNK) -> Iterator[list]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _batches(items: Iterable[dict], size: int) -> Iterator[list[dict]]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _bound(value, end: bool = False) -> float:
    """POSIX seconds of a biggest() bound: a date is a Tehran day (`end`: the day after), naive is Tehran."""
    if not isinstance(value, dt.datetime):
        moment = dt.datetime.combine(value, dt.time(), tzinfo=TEHRAN)
        return (moment + dt.timedelta(days=1) if end else moment).timestamp()
    return (value if value.tzinfo else value.replace(tzinfo=TEHRAN)).timestamp()
