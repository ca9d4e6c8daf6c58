"""Remember that a JOBDIR crawl has started, in a way that survives SIGKILL.

Why: Scrapy writes the spider state (`JOBDIR/spider.state`) only when the spider closes cleanly, and
after a SIGKILL its on-disk request queue is not restored either. The spider's `resumed` flag (read from
`state["started"]`) would then be False, and an archive crawl would stop at the first listing page
whose articles are all stored, although the killed run may have stored the newer pages first and never
reached the older ones. This extension writes a marker file as soon as the spider opens and, when the
marker is already there, sets `state["started"]` before the spider's `start()` reads it.
"""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import NotConfigured
from scrapy.utils.job import job_dir

logger = logging.getLogger(__name__)

MARKER = "newscrawl.started"
#: present while a crawl runs; left behind by a kill
RUNNING = "newscrawl.running"


class ResumeMarker:
    def __init__(self, crawler, jobdir: str):
        self.crawler = crawler
        self.marker = Path(jobdir, MARKER)
        self.running = Path(jobdir, RUNNING)

    @classmethod
    def from_crawler(cls, crawler):
        jobdir = job_dir(crawler.settings)
        if not jobdir:
            raise NotConfigured
        ext = cls(crawler, jobdir)
        # connected after Scrapy's SpiderState (EXTENSIONS_BASE), which loads spider.state on the same signal
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider):
        state = getattr(spider, "state", None)
        if state is None:
            spider.state = state = {}
        killed = self.running.exists() or (self.marker.exists() and not state.get("started"))
        if killed:
            state["started"] = True
            self.crawler.stats.set_value("newscrawl/resumed_after_crash", True)
            logger.info("the last crawl in %s did not close: resuming after a crash", self.marker.parent)
            self.drop_stale_queues()
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        self.marker.touch()
        self.running.touch()

    def spider_closed(self, spider, reason):
        self.running.unlink(missing_ok=True)

    def drop_stale_queues(self) -> None:
        """Remove the killed run's on-disk request queues. Scrapy restores queues only from the
        priorities listed in `requests.queue/active.json`, written on a clean close, so the killed run's
        queues are never read; but a later request of the same priority reopens its file, which a kill
        can leave cut short ("unpack requires a buffer of 4 bytes": that request and all after it are
        lost). Called from spider_opened, before the scheduler's first push opens any file. Queues that
        an earlier clean close listed are already open: those are left alone."""
        queues = self.marker.parent / "requests.queue"
        if not queues.is_dir():
            return
        active = queues / "active.json"
        try:
            listed = json.loads(active.read_text(encoding="utf-8")) if active.exists() else []
        except (OSError, ValueError):
            listed = ["unreadable"]
        if listed:
            logger.warning("%s lists queues from an earlier clean close; they are kept as they are", active)
            return
        for path in queues.iterdir():
            if path == active:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        logger.info("removed the killed run's unreadable request queues in %s", queues)
