"""A WARC backfill's pages come from the file, never from the network.

The spider (newscrawl.spiders.base, `warc_requests`) scans the WARC files and yields one request per
article record, its meta `newscrawl_warc` = (path, offset) and `newscrawl_archive` = the provenance
(newscrawl.archives.META_KEY). This middleware answers such a request with the record read at that
offset: the page then goes through the rest of the crawl (the response middlewares, the callback, the
pipelines, dedup and storage) as a live one does.

Why this shape: Scrapy's engine keeps what a backfill needs and a loop of our own would not: the
scheduler (and a JOBDIR's disk queue, so a stopped backfill resumes like a live crawl), stats, progress,
the monitors and the exit code. Why a request carries only (path, offset) and not the page: the requests
waiting in the scheduler (on disk with JOBDIR) stay a few hundred bytes each, and the body is read
when its turn comes; the file is read again at the offset (one seek, one record).

Its priority (10) is before every middleware that could touch the network (robots.txt, the private-address
guard, the download handlers): a record that claims an internal address is answered from the file and
never fetched. The request's meta also turns redirects, retries and cookies off, so no later middleware
makes a new request of it; the spider requests only records with status 200.
"""

from __future__ import annotations

import logging

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Headers
from scrapy.responsetypes import responsetypes

from newscrawl.archives.warc import ArchivedPage, read_at

logger = logging.getLogger(__name__)

#: the request meta key with (path, offset) of the WARC record that answers it
WARC_KEY = "newscrawl_warc"


class WarcMiddleware:
    """Downloader middleware: answers a request with meta `newscrawl_warc` from the WARC file."""

    def __init__(self, crawler):
        self.stats = crawler.stats
        self.max_bytes = crawler.settings.getint("DOWNLOAD_MAXSIZE") or 16 * 1024 * 1024

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_request(self, request, spider=None):
        where = request.meta.get(WARC_KEY)
        if where is None:
            return None
        path, offset = where
        try:
            page = read_at(path, int(offset), max_bytes=self.max_bytes)
        except (OSError, ValueError) as exc:  # the file went away or changed since the scan
            page = exc
        if not isinstance(page, ArchivedPage):
            self.stats.inc_value("newscrawl/warc/unreadable")
            reason = getattr(page, "reason", None) or type(page).__name__
            logger.error("cannot read the WARC record at %s#%s (%s): %s", path, offset, reason, request.url)
            raise IgnoreRequest(f"unreadable WARC record {path}#{offset}")
        headers = Headers()
        for name, value in page.headers:
            headers.appendlist(name, value)
        cls = responsetypes.from_args(headers=headers, url=request.url, body=page.body)
        return cls(url=request.url, status=page.status, headers=headers, body=page.body, request=request,
                   flags=["warc"])
