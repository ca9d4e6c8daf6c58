"""`scrapy stories [--site S] [--since D] [--until D] | --rebuild`: story clusters for the stored articles
(newscrawl.stories; docs/stories.md).

Without --rebuild, every stored article that has no story yet (stored with NEWSCRAWL_STORIES off, before
stories existed, or by a crawl killed between storing and assigning) is assigned one, in storage order,
1,000 at a time: what a crawl does as it stores, done afterwards. Articles that already have a story keep
it. --site, --since and --until narrow it as they narrow `scrapy export` (a day is a Tehran publication
day; undated articles are left out when a date is given).

--rebuild drops the story index and assigns every stored article from scratch (e.g. after
NEWSCRAWL_STORIES_WINDOW_DAYS changed); it takes no narrowing, since a story spans sites and days.

Prints what it did and how the database stands; exit code 0, 1 when the database fails (one line),
2 for a usage error, 130 when interrupted (what was assigned stays assigned).
"""

from __future__ import annotations

import sys
from argparse import Namespace

from scrapy.commands import ScrapyCommand

from newscrawl.commands.export import ExportError, check_sites, selection

CHUNK = 1000


def assign_missing(engine, index, filters, chunk: int = CHUNK) -> int:
    """Assign a story to each selected article that has none; returns how many were assigned."""
    from newscrawl.db.store import last_id, story_inputs
    from newscrawl.pipelines.stories import story_input

    done = 0
    for rows in story_inputs(engine, filters, unassigned=True, upto=last_id(engine), chunk=chunk):
        done += len(index.assign([story_input(r) for r in rows]))
    return done


def rebuild(engine, index, chunk: int = CHUNK) -> int:
    """Recompute every story from scratch; returns how many articles were assigned."""
    from newscrawl.db.store import story_inputs
    from newscrawl.pipelines.stories import story_input

    return index.rebuild(story_input(r) for rows in story_inputs(engine, chunk=chunk) for r in rows)


def _n(count: int, noun: str, nouns: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else nouns or noun + 's'}"


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self):
        return "[--site S] [--since D] [--until D] | --rebuild"

    def short_desc(self):
        return "Assign story clusters to stored articles without one (--rebuild: recompute all)"

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--rebuild", action="store_true",
                            help="drop the story index and assign every stored article from scratch")
        parser.add_argument("--site", action="append", metavar="S", help="only this site (repeatable)")
        parser.add_argument("--since", metavar="D",
                            help="from this Tehran day: Jalali 1397/04/29 or Gregorian 2018-07-20")
        parser.add_argument("--until", metavar="D", help="to this Tehran day, inclusive")

    def run(self, args, opts):
        from sqlalchemy.exc import SQLAlchemyError

        from newscrawl.db import url as dburl
        from newscrawl.db.store import StorageError, one_line, open_existing, story_counts

        store = None
        try:
            if args:
                raise ExportError(f"unexpected argument {args[0]!r}", usage=True)
            if opts.rebuild and (opts.site or opts.since or opts.until):
                raise ExportError("--rebuild recomputes every story (a story spans sites and days); "
                                  "it takes no --site, --since or --until", usage=True)
            filters = selection(Namespace(site=opts.site, since=opts.since, until=opts.until, category=None,
                                          tag=None))
            error = dburl.check_environment()
            if error:
                raise ExportError(error, usage=True)
            store = open_existing(self.settings.get("NEWSCRAWL_DATABASE_URL"))
            from scrapy.spiderloader import get_spider_loader

            check_sites(store.engine, filters, get_spider_loader(self.settings).list())
            from newscrawl.stories import StoryIndex

            index = StoryIndex(store.engine, self.settings.getfloat("NEWSCRAWL_STORIES_WINDOW_DAYS"))
            if opts.rebuild:
                done = rebuild(store.engine, index)
                line = f"rebuilt the stories of {_n(done, 'article')}"
            else:
                done = assign_missing(store.engine, index, filters)
                line = f"assigned stories to {_n(done, 'article')} that had none"
            counts = story_counts(store.engine, None if opts.rebuild else filters)
        except ExportError as exc:
            return self._fail(str(exc), 2 if exc.usage else 1)
        except StorageError as exc:
            return self._fail(str(exc))
        except SQLAlchemyError as exc:
            return self._fail(f"cannot use the database: {one_line(exc)}")
        except KeyboardInterrupt:
            return self._fail("interrupted; the articles assigned so far keep their stories", 130)
        finally:
            if store is not None:
                store.close()
        narrowed = " selected" if filters.sites or filters.since or filters.until else ""
        print(f"{line}; {counts['assigned']:,} of {_n(counts['articles'], 'article')}{narrowed} have a story: "
              f"{_n(counts['stories'], 'story', 'stories')}, {_n(counts['copies'], 'copy', 'copies')}")

    def _fail(self, message: str, code: int = 1) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exitcode = code
