"""Story clusters across sites: which stored articles are the same story, and who copied whom.

Public API (the modules beside this one are internal):

    index = StoryIndex(engine)                 # a SQLAlchemy Engine (SQLite or PostgreSQL); tables made if missing
    got = index.assign([{"site": ..., "news_code": ..., "title": ..., "body": ...,
                         "published_at": "2024-05-01T10:00:00+03:30" or None, "source": "مهر" or None}])
    got[("isna", "123")]  -> Assignment(story_id="s-...", copy_of="mehr:456" or None)
    index.rebuild(rows)   -> number of articles indexed (the index is dropped and recomputed)
    index.biggest(since=None, until=None, limit=10) -> [{story_id, title, sites, articles, first, last}]

How: shingles.py (ZWNJ-aware word shingles), signatures.py (datasketch MinHash, LSH bands), rules.py (same
story, daily series, copy_of), cluster.py (placing articles in stories), tables.py and index.py (the
database). docs/stories.md, "How stories are found", says what was measured and decided.
"""

from newscrawl.stories.index import Assignment, StoryIndex

__all__ = ["Assignment", "StoryIndex"]
