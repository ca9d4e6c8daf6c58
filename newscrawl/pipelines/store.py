"""Dedup by each site's news code, and storage: an item goes on only once its row is committed.

The same article from several sources (a live fetch, WARC files, Common Crawl, the Wayback Machine) is
stored once, as its best copy by THE rule, newscrawl.db.store.better: live over archived, the earliest
capture among archived ones. Stats: `newscrawl/dedup/kept` (a copy dropped: the stored or pending one is as
good), `newscrawl/dedup/replaced` (a better copy written over the stored one; it goes on to the feeds),
`newscrawl/dedup/superseded` (a copy dropped before it was written: a better one came in the same batch).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from itemadapter import ItemAdapter
from scrapy.exceptions import DropItem

from newscrawl.db.store import StorageError, StorageFull, better, store_for
from newscrawl.extensions.halt import DATABASE_UNAVAILABLE, DISK_FULL, halt_for
from newscrawl.pipelines import SCRAPY_DROP_LOG_LEVEL, _Pipeline
from newscrawl.spidermiddlewares import spool

logger = logging.getLogger(__name__)


class DedupPipeline(_Pipeline):
    """One article per (site, news_code), across runs: the state is the database itself. A copy the stored
    one outranks (`better`) is dropped here; a better one goes on, and the database decides again when it
    is written (another process may have stored a copy meanwhile)."""

    def open_spider(self):
        self.store = store_for(self.crawler).open()
        self.halt = halt_for(self.crawler)

    def process_item(self, item):
        if self.halt:  # the crawl is stopping: StoragePipeline keeps the article for the next run
            return item
        adapter = ItemAdapter(item)
        try:
            known = self.store.outranked(adapter)
        except StorageError as exc:
            # retried for NEWSCRAWL_DB_RETRY_SECONDS already: stop; the storage spools this article
            self.stats.inc_value("newscrawl/db/errors")
            self.halt.stop(DISK_FULL if isinstance(exc, StorageFull) else DATABASE_UNAVAILABLE, str(exc))
            return item
        if known:
            _kept(self.stats, adapter)
        return item


def _kept(stats, adapter, counter: str = "newscrawl/dedup/kept"):
    """Drop a copy of an article whose stored (or pending) copy stays."""
    stats.inc_value("newscrawl/duplicates")
    stats.inc_value(counter)
    source = adapter.get("fetched_from") or "live"
    logger.info("duplicate %s/%s skipped (%s%s)", adapter["site"], adapter["news_code"], adapter["url"],
                "" if source == "live" else f", from {source}")
    raise DropItem("duplicate", log_level=SCRAPY_DROP_LOG_LEVEL)


class StoragePipeline(_Pipeline):
    """Write after commit: `process_item` adds the article to the open batch and waits for that batch's
    commit; only an article this run inserted goes on (to the feeds). A batch is written when it holds
    NEWSCRAWL_DB_BATCH_SIZE articles, NEWSCRAWL_DB_FLUSH_SECONDS after its first article, or at close,
    in a worker thread, so retries of a database outage do not stop the reactor.

    A copy of an article the open batch already holds is compared there (`better`): one of the two is
    dropped. An article whose stored copy stays (another process stored it first, or stored a better
    copy) is dropped as a duplicate (no feed line); a better copy replaces the stored row and goes on,
    so the feeds get a second line for the article (docs/archives.md). When the
    database stays unavailable, or a disk is full, the crawl stops (newscrawl.extensions.halt) and the articles held
    are appended to the spool (newscrawl.spidermiddlewares.spool) for the next run; so are the ones still arriving.
    """

    def open_spider(self):
        self.store = store_for(self.crawler).open()
        self.halt = halt_for(self.crawler)
        self.flush_seconds = self.crawler.settings.getfloat("NEWSCRAWL_DB_FLUSH_SECONDS")
        name = getattr(self.crawler.spider, "name", None) or getattr(self.crawler.spidercls, "name", None)
        self.spool_path = spool.spool_path(self.crawler, name or "items")
        #: the open batch: key -> (row, item, future of its outcome)
        self.batch: dict[tuple[str, str], tuple[dict, object, asyncio.Future]] = {}
        self.timer: asyncio.TimerHandle | None = None
        self.writes: set[asyncio.Future] = set()
        self.flush_wanted = False
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="newscrawl-db")

    async def process_item(self, item):
        adapter = ItemAdapter(item)
        if self.halt:
            self.keep([item])
            raise DropItem(f"not stored: {self.halt.reason}", log_level=SCRAPY_DROP_LOG_LEVEL)
        key = (adapter["site"], adapter["news_code"])
        row = self.store.row(adapter)
        held = self.batch.get(key)
        if held is not None:  # the same article twice in the open batch: the better copy stays
            if not better(row, held[0]):
                _kept(self.stats, adapter)
            held[2].set_result(("superseded", None))
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.batch[key] = (row, item, future)
        self.store.inflight[key] = row
        if len(self.batch) >= self.store.batch_size:
            self.flush()
        elif self.timer is None:
            self.timer = loop.call_later(self.flush_seconds, self.flush)
        outcome, detail = await future
        if outcome == "stored":
            return item
        if outcome == "replaced":
            logger.info("stored %s/%s over a worse copy (%s, from %s)", adapter["site"], adapter["news_code"],
                        adapter["url"], adapter.get("fetched_from") or "live")
            return item
        if outcome == "duplicate":
            _kept(self.stats, adapter)
        if outcome == "superseded":
            _kept(self.stats, adapter, "newscrawl/dedup/superseded")
        if outcome == "rejected":
            self.stats.inc_value("newscrawl/dropped/rejected_by_database")
            logger.warning("dropped %s: %s", adapter["url"], detail)
            raise DropItem("rejected by the database", log_level=SCRAPY_DROP_LOG_LEVEL)
        raise DropItem(f"not stored: {detail}", log_level=SCRAPY_DROP_LOG_LEVEL)

    def flush(self, force: bool = False) -> None:
        """Start writing the open batch (in the worker thread; batches are written in order). A batch
        that is not full waits while another one is being written, and goes when that one is done: it
        grows meanwhile, so a busy crawl writes fewer, larger transactions (group commit)."""
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.batch:
            return
        if self.writes and not force and len(self.batch) < self.store.batch_size:
            self.flush_wanted = True
            return
        self.flush_wanted = False
        batch, self.batch = self.batch, {}
        task = asyncio.ensure_future(self._write(batch))
        self.writes.add(task)
        task.add_done_callback(self._written)

    def _written(self, task) -> None:
        self.writes.discard(task)
        if self.flush_wanted and not self.writes:
            self.flush()

    async def _write(self, batch: dict) -> None:
        if self.halt:  # stopped meanwhile (e.g. the feed's disk is full): keep them for the next run
            self.keep([item for _, item, _ in batch.values()])
            self._settle(batch, lambda key: ("kept", self.halt.reason))
            return
        rows = [row for row, _, _ in batch.values()]
        try:
            written = await asyncio.get_running_loop().run_in_executor(self.executor, self.store.write, rows)
        except Exception as exc:  # noqa: BLE001  (whatever it is, the batch must not be lost)
            self.stats.inc_value("newscrawl/db/errors")
            reason = DISK_FULL if isinstance(exc, StorageFull) else DATABASE_UNAVAILABLE
            self.halt.stop(reason, str(exc) if isinstance(exc, StorageError) else f"{type(exc).__name__}: {exc}")
            self.keep([item for _, item, _ in batch.values()])
            self._settle(batch, lambda key: ("kept", reason))
            return
        self.stats.inc_value("newscrawl/stored", len(written.stored))
        if written.replaced:
            self.stats.inc_value("newscrawl/dedup/replaced", len(written.replaced))
        self._settle(batch, lambda key: ("stored", None) if key in written.inserted else
                     ("replaced", None) if key in written.replaced else
                     ("rejected", written.rejected[key]) if key in written.rejected else ("duplicate", None))

    def _settle(self, batch: dict, outcome) -> None:
        for key, (_, _, future) in batch.items():
            if key not in self.batch:  # else a newer copy of it waits in the open batch
                self.store.inflight.pop(key, None)
            if not future.done():
                future.set_result(outcome(key))

    def keep(self, items: list) -> None:
        """Articles that cannot be stored now: into the spool, or counted as lost for this run."""
        try:
            written = spool.append(self.spool_path, items)
        except OSError as exc:
            self.halt.count("unstored", len(items))
            self.halt.note(f"the spool {self.spool_path} cannot be written: {exc.strerror or exc}")
            return
        self.halt.spool_path = str(self.spool_path)
        self.halt.count("spooled", written)

    async def close_spider(self):
        while self.batch or self.writes:
            self.flush(force=True)
            await asyncio.gather(*list(self.writes))  # _write never raises
        self.executor.shutdown(wait=True)
        try:
            self.store.close()
        except StorageError as exc:
            self.stats.inc_value("newscrawl/db/errors")
            self.stats.set_value("newscrawl/db/unwritten", len(self.store.pending))
            logger.error("%s: %d articles were not written", exc, len(self.store.pending))
