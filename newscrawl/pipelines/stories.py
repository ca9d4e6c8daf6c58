"""Each stored article joins its story (newscrawl.stories) as the crawl goes, so the feed line carries its
`story_id` and `copy_of` and the database has them without a later batch.

After StoragePipeline: an article arrives here only once its row is committed. Articles are gathered
as StoragePipeline gathers them (NEWSCRAWL_DB_BATCH_SIZE, or NEWSCRAWL_DB_FLUSH_SECONDS after the first)
and assigned together in one call of StoryIndex.assign, in a worker thread of their own, so the story
index costs one transaction per batch and never blocks the reactor or the storage writer.

Nothing is lost: the row is committed before its story is assigned, so a kill in between, or an
assignment that fails (the database went away), leaves a stored article without a story_id. Such an
article goes on to the feed with a null story (it is stored: dropping it would lose its line), counted
as newscrawl/stories/failed with one WARNING line; the next crawl heals it: when it opens, every row
stored before it without a story_id is assigned (the first HEAL_NOW before the crawl's own articles, so
a copy crawled now finds the original an interrupted run stored; the rest in the background between the
crawl's own batches, so a large backlog does not delay the start). `scrapy stories` does the same
offline. (The lines the feed repair adds for an interrupted run are written before any of this, when the
feed storage is created: their story fields are null, the database's are not.)

Settings: NEWSCRAWL_STORIES (on; off: the pipeline is left out and `scrapy stories` assigns later),
NEWSCRAWL_STORIES_WINDOW_DAYS (the story index's). Stats: newscrawl/stories/assigned, .../copies,
.../healed, .../failed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

from itemadapter import ItemAdapter
from scrapy.exceptions import NotConfigured

from newscrawl.db.store import STORY_INPUT, StorageError, last_id, store_for, story_inputs
from newscrawl.pipelines import _Pipeline

logger = logging.getLogger(__name__)

#: rows healed when the crawl opens, before anything else (an interrupted run leaves at most a few batches)
HEAL_NOW = 1000
#: rows per healing step afterwards, each one a turn of the stories thread between the crawl's batches
HEAL_CHUNK = 200


def story_input(article) -> dict:
    """What StoryIndex.assign reads of an article (an item, its adapter, or a row)."""
    return {name: article.get(name) for name in STORY_INPUT}


class StoriesPipeline(_Pipeline):
    """Assign each stored article its story in batches; see the module docstring."""

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.getbool("NEWSCRAWL_STORIES"):
            raise NotConfigured("NEWSCRAWL_STORIES is off")
        return cls(crawler)

    async def open_spider(self):
        from newscrawl.stories import StoryIndex

        self.store = store_for(self.crawler).open()
        self.flush_seconds = self.crawler.settings.getfloat("NEWSCRAWL_DB_FLUSH_SECONDS")
        window = self.crawler.settings.get("NEWSCRAWL_STORIES_WINDOW_DAYS")  # None: the index's default
        window = None if window is None else float(window)
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newscrawl-stories")
        #: the open batch: key -> (story input, the futures of its Assignment or None). One key may come
        #: twice in a batch: an archived copy replaced by a better one (newscrawl.db.store.better); the
        #: later copy is the stored one, and both items wait for its story
        self.batch: dict[tuple[str, str], tuple[dict, list[asyncio.Future]]] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.tasks: set[asyncio.Future] = set()
        self.closing = False
        self.index = await self._in_thread(lambda: StoryIndex(self.store.engine, window))
        # the rows stored before this crawl: the ones without a story are healed, the crawl's own assigned
        upto = await self._in_thread(lambda: last_id(self.store.engine))
        after = await self._heal(0, upto, HEAL_NOW)
        if after is not None:
            self._start(self._heal_rest(after, upto))

    def _in_thread(self, call):
        return asyncio.get_running_loop().run_in_executor(self.executor, call)

    def _start(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- the crawl's articles ---------------------------------------------------------------------------
    async def process_item(self, item):
        adapter = ItemAdapter(item)
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        key = (adapter["site"], adapter["news_code"])
        waiting = self.batch[key][1] if key in self.batch else []
        self.batch[key] = (story_input(adapter), [*waiting, future])
        if len(self.batch) >= self.store.batch_size:
            self.flush()
        elif self.timer is None:
            self.timer = loop.call_later(self.flush_seconds, self.flush)
        assignment = await future
        if assignment is not None:
            adapter["story_id"], adapter["copy_of"] = assignment.story_id, assignment.copy_of
        return item

    def flush(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.batch:
            batch, self.batch = self.batch, {}
            self._start(self._assign_batch(batch))

    async def _assign_batch(self, batch: dict) -> None:
        found = await self._assign([article for article, _ in batch.values()], "stored")
        for key, (_, futures) in batch.items():
            for future in futures:
                if not future.done():
                    future.set_result(found.get(key) if found else None)

    async def _assign(self, articles: list[dict], what: str) -> dict | None:
        """StoryIndex.assign in the stories thread, transient errors retried as the store retries them;
        None (counted, one WARNING line) when it fails: the articles stay without a story until healed."""
        def call():
            started = time.perf_counter()
            found = self.store.retrying("assign stories in", lambda attempt: self.index.assign(articles))
            logger.debug("assigned stories to %d articles in %.1f ms", len(articles),
                         1000 * (time.perf_counter() - started))
            return found

        try:
            found = await self._in_thread(call)
        except Exception as exc:  # noqa: BLE001  (the articles are stored: they go on, healed next run)
            self.stats.inc_value("newscrawl/stories/failed", len(articles))
            reason = str(exc) if isinstance(exc, StorageError) else f"{type(exc).__name__}: {exc}"
            logger.warning("%d %s articles have no story yet (%s); the next crawl or `scrapy stories` "
                           "assigns them", len(articles), what, reason.splitlines()[0] if reason else "")
            return None
        self.stats.inc_value("newscrawl/stories/assigned", len(found))
        self.stats.inc_value("newscrawl/stories/copies", sum(1 for a in found.values() if a.copy_of))
        return found

    # -- healing --------------------------------------------------------------------------------------
    async def _heal(self, after: int, upto: int, limit: int) -> int | None:
        """Assign up to `limit` rows with ids in (after, upto] that have no story; the id to go on from, or
        None when there are no more (or the database fails: the next run goes on)."""
        def read():
            return self.store.retrying("read articles without a story from", lambda attempt: next(
                story_inputs(self.store.engine, unassigned=True, after=after, upto=upto, chunk=limit), []))

        try:
            rows = await self._in_thread(read)
        except StorageError as exc:
            logger.warning("cannot look for earlier articles without a story (%s); the next crawl or "
                           "`scrapy stories` assigns them", exc)
            return None
        if not rows:
            return None
        if await self._assign([story_input(r) for r in rows], "earlier stored") is None:
            return None
        self.stats.inc_value("newscrawl/stories/healed", len(rows))
        logger.info("assigned stories to %d articles stored earlier without one", len(rows))
        return rows[-1]["id"] if len(rows) == limit else None

    async def _heal_rest(self, after: int | None, upto: int) -> None:
        while after is not None and not self.closing:
            after = await self._heal(after, upto, HEAL_CHUNK)

    async def close_spider(self):
        self.closing = True  # healing stops after its current step: the next crawl goes on
        while self.batch or self.tasks:
            self.flush()
            await asyncio.gather(*list(self.tasks))
        self.executor.shutdown(wait=True)
