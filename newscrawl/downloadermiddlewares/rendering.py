"""JavaScript pages through Chromium (scrapy-playwright), only for the pages that need it.

Why: a few Iranian sites fill their listings with JavaScript or put pages behind a JavaScript cookie
challenge (ArvanCloud; Alef in SELECTORS.md). A browser is about a hundred times slower than plain HTTP
here (2.6 against some 200 pages/s) and takes hundreds of MB, and most sites never need one, so:

- a site declares `render = {"listing"}` and/or `{"article"}` (or a crawl sets `NEWSCRAWL_RENDER`) to
  render those pages always (the spider marks each request with its kind of page, `meta["newscrawl_page"]`,
  and the selectors of what it reads there, `meta["newscrawl_expect"]`: newscrawl.spiders.base);
- any other article or archive page that comes back as a challenge (`NEWSCRAWL_RENDER_MARKERS`) or an
  empty JavaScript shell (the site's expected selector missing, a script, almost no text) is retried
  once in Chromium (`newscrawl/render/retried`); when the rendered page is no better, an ERROR names the
  URL (`newscrawl/render/failed`);
- a plain crawl never starts Playwright or Chromium: `BrowserDownloadHandler` is plain HTTP until the
  first request marked `meta["playwright"]`.

Memory stays bounded on long crawls (scrapy-playwright #240, #133): every page is closed after its
response, at most `NEWSCRAWL_RENDER_MAX_PAGES` render at once, and the browser context is replaced every
`NEWSCRAWL_RENDER_CONTEXT_PAGES` pages (the old one closed when its last page is done). When Chromium is
needed and missing, one ERROR line says how to install it: a crawl that declared rendering stops at once
(`chromium_missing`); otherwise the pages that needed it are skipped and counted, and the crawl goes on.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import CloseSpider, IgnoreRequest
from scrapy.http import HtmlResponse

from newscrawl.archives import META_KEY as ARCHIVE_KEY

logger = logging.getLogger(__name__)

#: the kinds of page (request meta `newscrawl_page`) that may be rendered: feeds and sitemaps are XML
RENDERED_KINDS = ("listing", "article")
#: statuses a challenge page comes with (a 5xx or 403 that is not a challenge is left to Scrapy)
CHALLENGE_STATUSES = (200, 202, 403, 429, 503)
MARKER_SCAN = 65536
#: resources a rendered news page does not need
HEAVY_RESOURCES = ("image", "media", "font")
INSTALL_HINT = "install it with `apt-get install -y chromium` or set NEWSCRAWL_CHROMIUM to a Chromium binary"


# -- Chromium ------------------------------------------------------------------------------------------
def chromium_path(settings) -> str:
    """The browser to launch: PLAYWRIGHT_LAUNCH_OPTIONS' executable_path, NEWSCRAWL_CHROMIUM (setting or
    environment), else Debian's /usr/bin/chromium or `chromium` on PATH."""
    explicit = (settings.getdict("PLAYWRIGHT_LAUNCH_OPTIONS").get("executable_path")
                or settings.get("NEWSCRAWL_CHROMIUM") or os.environ.get("NEWSCRAWL_CHROMIUM"))
    if explicit:
        return str(explicit)
    for candidate in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and os.path.isfile(candidate):
            return candidate
    return "/usr/bin/chromium"


def chromium_available(settings) -> bool:
    if settings.get("PLAYWRIGHT_CDP_URL") or settings.get("PLAYWRIGHT_CONNECT_URL"):
        return True  # a remote browser: nothing to find here
    path = chromium_path(settings)
    return os.path.isfile(path) and os.access(path, os.X_OK)


def render_kinds(value) -> set[str]:
    """'listing,article' / ['listing'] → {'listing', 'article'}; other words are an error."""
    words = value.replace(",", " ").split() if isinstance(value, str) else list(value or ())
    unknown = sorted(set(words) - {"listing", "article"})
    if unknown:
        raise ValueError(f"{unknown[0]!r} is not 'listing' or 'article'")
    return set(words)


def missing_message(settings, why: str) -> str:
    return f"Chromium is needed ({why}) but {chromium_path(settings)} does not exist: {INSTALL_HINT}"


def preflight(settings, spidercls) -> str | None:
    """A one-line error when a crawl declares rendering it cannot do (a bad NEWSCRAWL_RENDER or `render`,
    or no Chromium), for `scrapy crawl` to print before starting; None when all is well."""
    try:
        kinds = render_kinds(settings.get("NEWSCRAWL_RENDER") or "")
    except ValueError as exc:
        return f"NEWSCRAWL_RENDER: {exc}"
    try:
        kinds |= render_kinds(getattr(spidercls, "render", ()))
    except ValueError as exc:
        return f"{spidercls.name}.render: {exc}"
    if kinds and not chromium_available(settings):
        return missing_message(settings, f"{spidercls.name} renders its {' and '.join(sorted(kinds))} pages")
    return None


def browser_selector(query: str | None) -> str | None:
    """A spider selector (parsel CSS with ::attr/::text, or XPath) as a Playwright selector."""
    if not query:
        return None
    if query.startswith(("/", "(", "./")):
        parts = [re.sub(r"/(@[\w-]+|text\(\))$", "", p.strip()) for p in query.split(" | ")]
        return "xpath=" + " | ".join(parts)
    return re.sub(r"::(text|attr\([^)]*\))", "", query)


# -- what a response looks like ------------------------------------------------------------------------
def visible_text_length(response) -> int:
    text = response.xpath("//body//text()[not(ancestor::script or ancestor::style or ancestor::noscript"
                          " or ancestor::template)]").getall()
    return len(" ".join(" ".join(text).split()))


def assess(response, expected, markers, shell_text: int) -> str | None:
    """'challenge', 'shell' or None (the page has what the spider reads, or is not HTML). `expected`: the
    selectors of what the spider reads, most telling first: without the first, a page may be a challenge;
    without any of them, a short page with a script is an empty shell (a page cut before its body still
    has its title)."""
    from newscrawl.downloadermiddlewares.responses import (
        page_index,  # local: keeps this module light when nothing is rendered
    )
    from newscrawl.parsing.selectors import sel

    # a challenge has one of CHALLENGE_STATUSES, a shell is a 200 (among them): nothing else is either
    if not isinstance(response, HtmlResponse) or response.status not in CHALLENGE_STATUSES:
        return None
    if len(response.body) > 1024 * 1024:  # no challenge or shell is that big; a huge listing is not parsed
        return None  # here (newscrawl.spidermiddlewares.listings)
    index = page_index(response)
    if expected and sel(response, expected[0], index, first=True):
        return None
    head = response.text[:MARKER_SCAN]
    if any(m.search(head) for m in markers):
        return "challenge"
    if (expected and response.status == 200 and "<script" in head.lower()
            and not any(sel(response, q, index, first=True) for q in expected[1:])
            and visible_text_length(response) < shell_text):
        return "shell"
    return None


class RenderMiddleware:
    """Downloader middleware: marks the pages to render, and retries challenges and empty shells once
    in Chromium (see the module docstring)."""

    def __init__(self, crawler):
        s = crawler.settings
        self.crawler = crawler
        self.stats = crawler.stats
        self.auto = s.getbool("NEWSCRAWL_RENDER_AUTO")
        self.markers = [re.compile(m, re.IGNORECASE) for m in s.getlist("NEWSCRAWL_RENDER_MARKERS")]
        self.shell_text = s.getint("NEWSCRAWL_RENDER_SHELL_TEXT")
        self.missing_reported = False
        #: the page kinds always rendered (NEWSCRAWL_RENDER and the spider's `render`), set at spider_opened
        self.kinds: set[str] = set()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def spider_opened(self, spider):
        error = preflight(self.crawler.settings, spider)
        if error:  # one line, and nothing crawled
            self.missing_reported = True
            logger.error("%s", error)
            raise CloseSpider("chromium_missing" if error.startswith("Chromium") else "bad_setting")
        # both checked by preflight just above
        self.kinds = render_kinds(self.crawler.settings.get("NEWSCRAWL_RENDER") or "") | render_kinds(
            getattr(spider, "render", ()))

    def report_missing(self, why: str) -> bool:
        """Log the one ERROR line that says how to install Chromium; False when already logged."""
        if self.missing_reported:
            return False
        self.missing_reported = True
        logger.error("%s", missing_message(self.crawler.settings, why))
        return True

    @staticmethod
    def page_kind(request) -> str | None:
        """The spider's `newscrawl_page` when it is a kind that may be rendered ("listing", "article")."""
        kind = request.meta.get("newscrawl_page")
        return kind if kind in RENDERED_KINDS else None

    @staticmethod
    def expected(request) -> tuple[str, ...]:
        """The selectors of what the spider reads on the page, most telling first (the spider's
        `newscrawl_expect`; none for a spider without a selector map: then only the markers tell)."""
        return tuple(request.meta.get("newscrawl_expect") or ())

    def mark(self, request, reason: str) -> None:
        request.meta["playwright"] = True
        request.meta["newscrawl_render"] = reason
        request.meta["newscrawl_render_wait"] = browser_selector((self.expected(request) or (None,))[0])

    def process_request(self, request):
        kind = self.page_kind(request)
        if kind and kind in self.kinds and not request.meta.get("playwright"):
            self.mark(request, "declared")
        return None

    def process_response(self, request, response):
        kind = self.page_kind(request)
        if kind is None:
            return response
        rendered = bool(request.meta.get("playwright"))
        if rendered:
            self.stats.inc_value("newscrawl/render/pages")
        reason = assess(response, self.expected(request), self.markers, self.shell_text)
        if reason is None:
            return response
        what = "a JavaScript challenge" if reason == "challenge" else "an empty JavaScript shell"
        if request.meta.get(ARCHIVE_KEY):  # an archive kept the challenge, not the page: nothing to render
            self.stats.inc_value(f"newscrawl/render/archived_{reason}")
            logger.warning("%s was archived as %s: skipped", response.url, what)
            raise IgnoreRequest(f"archived as {what}: {response.url}")
        if rendered:
            self.stats.inc_value("newscrawl/render/failed")
            logger.error("rendering in Chromium did not help: %s is still %s", response.url, what)
            raise IgnoreRequest(f"still {what} after rendering: {response.url}")
        if not self.auto:
            return response
        if not chromium_available(self.crawler.settings):
            # the crawl goes on: other pages may not need a browser (a declared need stops it at open)
            self.stats.inc_value("newscrawl/render/failed")
            if not self.report_missing(f"{response.url} is {what}"):
                logger.warning("not rendered, Chromium is missing: %s is %s", response.url, what)
            raise IgnoreRequest(f"Chromium is missing: {response.url}")
        self.stats.inc_value("newscrawl/render/retried")
        self.stats.inc_value(f"newscrawl/render/retried/{reason}")
        logger.info("%s is %s: retrying it once in Chromium", response.url, what)
        retry = request.replace(dont_filter=True, meta=dict(request.meta))
        self.mark(retry, reason)
        return retry

    def process_exception(self, request, exception):
        if not request.meta.get("playwright") or not type(exception).__module__.startswith("playwright"):
            return None
        self.stats.inc_value("newscrawl/render/failed")
        first = (str(exception).strip().splitlines() or [type(exception).__name__])[0]
        logger.error("Chromium could not render %s: %s", request.url, first)
        raise IgnoreRequest(f"rendering failed: {request.url}")


def on_site(spider, host: str) -> bool:
    """May the browser load from this host? From the spider's `browser_domains` and their subdomains (a
    crawl of a copy, `-a base_url=`, names the copy's host only, never the real site), else its
    `allowed_domains`; from anywhere when it names none."""
    from newscrawl.pages.common import on_domain

    domains = getattr(spider, "browser_domains", None) or getattr(spider, "allowed_domains", None) or []
    return not domains or on_domain(host, domains)


# -- download handler ----------------------------------------------------------------------------------
class BrowserDownloadHandler:
    """The http/https download handler: Scrapy's own HTTP client for every plain request, Chromium for
    requests marked `meta["playwright"]`. Loading it imports nothing from Playwright (lazy handler);
    Playwright and the browser start on the first rendered request."""

    lazy = True

    @classmethod
    def from_crawler(cls, crawler):
        return _playwright_handler_class()(crawler)


_HANDLER_CLASS = None


def _playwright_handler_class():
    global _HANDLER_CLASS
    if _HANDLER_CLASS is None:
        _HANDLER_CLASS = _build_handler_class()
    return _HANDLER_CLASS


def _build_handler_class():  # noqa: C901 - one class, built on first use
    import asyncio

    from playwright.async_api import Error as PlaywrightError
    from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler

    class PlaywrightHandler(ScrapyPlaywrightDownloadHandler):
        """scrapy-playwright's handler, started on first use, with one bound on pages in flight and
        browser contexts replaced after a number of pages."""

        def __init__(self, crawler):
            super().__init__(crawler)
            for name in ("_maybe_launch_in_thread", "_engine_started"):  # start on first use instead
                if hasattr(self, name):
                    crawler.signals.disconnect(getattr(self, name), signal=signals.engine_started)
            s = crawler.settings
            self.crawler = crawler
            self.config.launch_options.setdefault("executable_path", chromium_path(s))
            self.wait_ms = s.getfloat("NEWSCRAWL_RENDER_WAIT") * 1000
            self.context_pages = max(1, s.getint("NEWSCRAWL_RENDER_CONTEXT_PAGES"))
            self.slots = asyncio.Semaphore(max(1, s.getint("NEWSCRAWL_RENDER_MAX_PAGES")))
            self.start_lock = asyncio.Lock()
            self.started = False
            self.generation = 0
            self.served = 0
            self.inflight: dict[str, int] = {}
            if self.abort_request is None:
                self.abort_request = self.skip_resource

        async def skip_resource(self, playwright_request) -> bool:
            """Abort images, media, fonts, anything off the site (analytics, ads), and private addresses
            (newscrawl.downloadermiddlewares.ssrf: Chromium resolves names itself, past the crawl's resolver)."""
            if playwright_request.resource_type in HEAVY_RESOURCES:
                return True
            if not on_site(self.crawler.spider, urlsplit(playwright_request.url).hostname or ""):
                return True
            from newscrawl.downloadermiddlewares.ssrf import browser_request_refused

            reason = await browser_request_refused(playwright_request.url)
            if reason:
                self.stats.inc_value("newscrawl/ssrf/refused")
                self.stats.inc_value(f"newscrawl/ssrf/refused/{reason}")
                logger.warning("refused in Chromium: %s is a %s address", playwright_request.url, reason)
            return bool(reason)

        async def _download_request(self, request, spider=None):
            async with self.start_lock:
                if not self.started:
                    await self._launch()
                    self.started = True
            async with self.slots:
                name = self.context_name(request)
                self.inflight[name] = self.inflight.get(name, 0) + 1
                try:
                    response = await super()._download_request(request, spider)
                finally:
                    self.inflight[name] -= 1
                    await self.retire()
            status = request.meta.pop("newscrawl_render_status", None)
            if status and status != response.status:  # the page reloaded itself (a passed challenge)
                response = response.replace(status=status)
            return response

        def context_name(self, request) -> str:
            current = request.meta.get("playwright_context")
            if current and not current.startswith("newscrawl-"):
                return current  # a context the request chose itself
            if self.served >= self.context_pages:
                self.generation += 1
                self.served = 0
            self.served += 1
            request.meta["playwright_context"] = name = f"newscrawl-{self.generation}"
            return name

        async def retire(self) -> None:
            """Close replaced contexts once their last page is done (frees the browser's memory)."""
            current = f"newscrawl-{self.generation}"
            for name in [n for n, count in self.inflight.items()
                         if n.startswith("newscrawl-") and n != current and not count]:
                del self.inflight[name]
                wrapper = self.context_wrappers.get(name)
                if wrapper is not None:
                    try:
                        await wrapper.context.close()
                    except PlaywrightError:
                        pass
                    self.stats.inc_value("newscrawl/render/contexts_closed")

        async def _create_page(self, request, spider):
            page = await super()._create_page(request, spider)

            def remember_status(response) -> None:  # the status of the document finally shown
                if response.frame == page.main_frame and response.request.is_navigation_request():
                    request.meta["newscrawl_render_status"] = response.status

            page.on("response", remember_status)
            return page

        async def _apply_page_methods(self, page, request, spider):
            await super()._apply_page_methods(page, request, spider)
            wait = request.meta.get("newscrawl_render_wait")
            try:  # until the content appears (across a challenge's reload), else until the network rests
                if wait:
                    await page.wait_for_selector(wait, state="attached", timeout=self.wait_ms)
                else:
                    await page.wait_for_load_state("networkidle", timeout=self.wait_ms)
            except PlaywrightError:
                pass  # not there in time: the middleware judges what did arrive
            try:
                await page.wait_for_load_state(timeout=self.wait_ms)
            except PlaywrightError:
                pass

    return PlaywrightHandler
