"""`scrapy canary [SITE ...] [--base-url URL] [--save DIR]`: does each declared site still read as it did?

Why: a site that changes its template loses articles without a single error (its selectors simply stop
matching). The canary fetches each site's newest article (from its feed, else its archive listing) the
way a crawl does (a small spider, so robots.txt, the SSRF guard, the user agent and the politeness
settings apply; never rendered in Chromium: a challenge is what it reports), reads it with the site's
page and with the generic page (newscrawl.pages.generic), which needs no selectors, and compares them
field by field (`compare`). Each site ends in one state:

- healthy: every field the generic page finds, the site's page finds too, and they agree;
- drifted: the site's page misses a field the generic page finds, disagrees with it, or gives no article;
  the page and both items are saved as a fixture candidate (testkit.fixtures' format, to review);
- blocked: a challenge page (NEWSCRAWL_RENDER_MARKERS) instead of the feed, the listing or the article;
- unreachable: a network error, an HTTP error, or nothing to read (no link in the feed or the listing).

Exit code: 1 when any site drifted or is blocked (the crawl of that site loses articles: someone must
act), else 3 when any site was unreachable (maybe only the network: worth a look when it lasts), else 0.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date, timedelta
from difflib import SequenceMatcher
from pathlib import Path

import scrapy
from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.spidermiddlewares.httperror import HttpError

from newscrawl.parsing.dates import parse_iso

HEALTHY, DRIFTED, BLOCKED, UNREACHABLE = "healthy", "drifted", "blocked", "unreachable"
EXIT_OK, EXIT_ACT, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
#: the fields compared, in the table's order
COMPARED = ("title", "kicker", "lead", "body", "published_at", "category", "tags", "news_code")
#: a site column or generic column this wide in the table
WIDTH = 34


# -- comparing two items -------------------------------------------------------------------------------
def _text(value) -> str:
    return " ".join(str(value).split())


def _empty(value) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


def texts_agree(site: str, generic: str, similarity: float) -> bool:
    """One text within the other (the generic body may hold a caption more, or a paragraph less), or
    `similarity` of their words alike (difflib)."""
    a, b = _text(site), _text(generic)
    if a in b or b in a:
        return True
    return SequenceMatcher(None, a.split(), b.split(), autojunk=False).ratio() >= similarity


def dates_agree(site: str, generic: str) -> bool:
    """Within a minute (a page shows minutes, its metadata seconds), or the same day when one of them has
    no time of day (a date-only source)."""
    a, b = parse_iso(site), parse_iso(generic)
    if a is None or b is None:
        return _text(site) == _text(generic)
    if abs(a - b) < timedelta(minutes=1):
        return True
    midnight = any((d.hour, d.minute, d.second) == (0, 0, 0) for d in (a, b))
    return midnight and a.date() == b.date()


def compare(site: dict | None, generic: dict | None, similarity: float) -> dict[str, str]:
    """Each compared field's verdict: "same", "missing" (the generic page has it, the site's page not),
    "differs", or "-" (the generic page has none: nothing to check it against). Lists agree when they
    share an item (the generic page often finds only the last category)."""
    site, generic = site or {}, generic or {}
    verdicts = {}
    for name in COMPARED:
        mine, theirs = site.get(name), generic.get(name)
        if _empty(theirs):
            verdicts[name] = "-"
        elif _empty(mine):
            verdicts[name] = "missing"
        elif name in ("lead", "body"):
            verdicts[name] = "same" if texts_agree(mine, theirs, similarity) else "differs"
        elif name == "published_at":
            verdicts[name] = "same" if dates_agree(mine, theirs) else "differs"
        elif isinstance(theirs, list):
            verdicts[name] = "same" if {_text(v) for v in mine} & {_text(v) for v in theirs} else "differs"
        else:
            verdicts[name] = "same" if _text(mine) == _text(theirs) else "differs"
    return verdicts


# -- what the canary found for a site ------------------------------------------------------------------
@dataclass
class Report:
    site: str
    state: str = UNREACHABLE
    url: str | None = None
    reason: str = ""
    site_item: dict | None = None
    generic_item: dict | None = None
    verdicts: dict[str, str] = field(default_factory=dict)
    saved: Path | None = None

    @property
    def drifted_fields(self) -> list[str]:
        return [name for name, verdict in self.verdicts.items()
                if verdict in ("missing", "differs", "fallback")]


def _short(value) -> str:
    if _empty(value):
        return "—"
    text = _text("، ".join(value) if isinstance(value, list) else value)
    return text if len(text) <= WIDTH else text[:WIDTH - 1] + "…"


def table(report: Report) -> str:
    """The site's block of the printed report."""
    head = f"{report.site}: {report.state}" + (f" ({report.reason})" if report.reason else "")
    lines = [head] + ([f"  url: {report.url}"] if report.url else [])
    if report.verdicts:
        lines.append(f"  {'field':<13}{'verdict':<9}{'site page':<{WIDTH + 2}}generic page")
        for name, verdict in report.verdicts.items():
            mine = (report.site_item or {}).get(name)
            theirs = (report.generic_item or {}).get(name)
            lines.append(f"  {name:<13}{verdict:<9}{_short(mine):<{WIDTH + 2}}{_short(theirs)}")
    if report.saved:
        lines.append(f"  saved: {report.saved} (+ .json): a fixture candidate, review it before use")
    return "\n".join(lines)


def save_candidate(report: Report, body: bytes, folder: Path, day: date) -> Path:
    """`<folder>/<site>/<day>.html` and `.json` in testkit.fixtures' format: `item` is the site page's item
    (null when it gave none) and what is to be fixed; `generic_item` and `canary` (the verdicts) help the
    reviewer write the item the fixed site page must give."""
    html = folder / report.site / f"{day.isoformat()}.html"
    html.parent.mkdir(parents=True, exist_ok=True)
    html.write_bytes(body)

    def stored(item):
        # the time of the run is no part of a fixture (testkit.fixtures.VARYING)
        return {k: v for k, v in item.items() if k not in ("crawled_at", "captured_at")} if item else None

    data = {"input": {"url": report.url, "captured_at": None}, "item": stored(report.site_item),
            "not_in_body": [], "generic_item": stored(report.generic_item),
            "canary": {"state": report.state, "reason": report.reason, "fields": report.verdicts}}
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    html.with_suffix(".json").write_text(text, encoding="utf-8")
    return html


# -- the spider ------------------------------------------------------------------------------------------
class CanarySpider(scrapy.Spider):
    """Per site: the feed (else the newest archive page: yesterday and today), its newest link, the article;
    each answer or failure becomes the site's Report in `reports`."""

    name = "canary"
    #: the downloader middlewares stay the crawl's (robots.txt, the guards); nothing is stored or exported,
    #: and no crawl report, health check or spool applies (each dict here replaces the project's)
    custom_settings = {
        "NEWSCRAWL_RENDER_AUTO": False,  # a challenge is the finding, not something to get past
        "ITEM_PIPELINES": {}, "FEEDS": {}, "NEWSCRAWL_REDIS_URL": "", "JOBDIR": None,
        "SPIDER_MIDDLEWARES": {"newscrawl.spidermiddlewares.spool.SpoolReplay": None},
        "EXTENSIONS": {"newscrawl.extensions.progress.ProgressStats": None,
                       "newscrawl.extensions.jobstate.ResumeMarker": None,
                       "newscrawl.extensions.report.CrawlReport": None,
                       "spidermon.contrib.scrapy.extensions.Spidermon": None},
    }

    def __init__(self, sites=(), base_url=None, save=None, reports=None, **kwargs):
        super().__init__(**kwargs)
        self.sites = {cls.name: cls(**({"base_url": base_url} if base_url else {})) for cls in sites}
        self.save = Path(save) if save else None
        self.reports: dict[str, Report] = reports if reports is not None else {}

    async def start(self):
        for name, site in self.sites.items():
            self.reports[name] = Report(name, reason="no answer")
            if site.rss_path:
                yield self.fetch(site, site.site_url(site.rss_path), "feed", self.on_feed)
            elif site.archive_path:
                yield self.listing_request(site)
            else:
                self.reports[name].reason = "no feed and no archive to find an article in"

    def fetch(self, site, url: str, kind: str, callback, **meta) -> scrapy.Request:
        return scrapy.Request(url, callback=callback, errback=self.on_error, dont_filter=True,
                              meta={**site.page_meta(kind, url), **meta, "canary_site": site.name})

    def listing_request(self, site) -> scrapy.Request:
        today = date.today()
        url = next(site.archive_urls(today - timedelta(days=1), today))
        return self.fetch(site, url, "listing", self.on_listing)

    def site_of(self, response):
        return self.sites[response.meta["canary_site"]]

    def challenged(self, response) -> bool:
        from newscrawl.downloadermiddlewares.rendering import assess

        settings = self.crawler.settings
        markers = [re.compile(m, re.IGNORECASE) for m in settings.getlist("NEWSCRAWL_RENDER_MARKERS")]
        expected = tuple(response.meta.get("newscrawl_expect") or ())
        shell_text = settings.getint("NEWSCRAWL_RENDER_SHELL_TEXT")
        return assess(response, expected, markers, shell_text) == "challenge"

    def blocked(self, response) -> None:
        name = response.meta["canary_site"]
        reason = "a challenge page (NEWSCRAWL_RENDER_MARKERS)"
        self.reports[name] = Report(name, BLOCKED, response.url, reason)

    def on_feed(self, response):
        from newscrawl.pages.listing import FeedPage

        if self.challenged(response):
            return self.blocked(response)
        site = self.site_of(response)
        links = FeedPage.from_response(response).links
        if links:  # the newest: by the feed's dates when it gives them, else its first
            dated = [link for link in links if link.date and parse_iso(link.date)]
            newest = max(dated, key=lambda link: parse_iso(link.date)) if dated else links[0]
            return self.fetch(site, site.rebase(newest.url), "article", self.on_article,
                              listing_date=newest.date, from_feed=True)
        if site.archive_path:
            return self.listing_request(site)
        self.reports[site.name].reason = f"no article link in the feed {response.url}"
        return None

    def on_listing(self, response):
        from newscrawl.pages.listing import ArchivePage

        if self.challenged(response):
            return self.blocked(response)
        site = self.site_of(response)
        page = ArchivePage.from_response(response, links_selector=site.sel_map["archive_links"])
        links = [link.url for link in page.links if site.news_code_from_url(link.url)]
        if not links:
            self.reports[site.name].reason = f"no article link on the listing {response.url}"
            return None
        return self.fetch(site, site.rebase(links[0]), "article", self.on_article)

    def on_article(self, response):
        if self.challenged(response):
            return self.blocked(response)
        site = self.site_of(response)
        report = self.reports[site.name] = Report(site.name, url=response.url)
        from newscrawl.pages import site_page
        from newscrawl.pages.generic import GenericArticlePage

        digits = self.settings.get("NEWSCRAWL_TEXT_DIGITS")
        page = site_page(type(site), site.root).from_response(response, digits=digits)
        report.site_item, reason = self.read(page)
        generic = GenericArticlePage.from_response(response, digits=digits,
                                                   fast=self.settings.getbool("NEWSCRAWL_GENERIC_FAST"))
        report.generic_item, generic_reason = self.read(generic)
        report.verdicts = compare(report.site_item, report.generic_item,
                                  self.settings.getfloat("NEWSCRAWL_CANARY_BODY_SIMILARITY"))
        # a field the site's selectors no longer give, filled by a fallback (newscrawl.pages.article)
        for note in page.notes:
            if note.stat.startswith("fallback/") and note.stat.removeprefix("fallback/") in report.verdicts:
                report.verdicts[note.stat.removeprefix("fallback/")] = "fallback"
        if reason:
            report.reason = f"the site's page gives no article: {reason}"
        elif report.drifted_fields:
            report.reason = "fields: " + ", ".join(report.drifted_fields)
        elif generic_reason and report.generic_item is None:
            report.reason = f"the generic page gives no article ({generic_reason}): nothing compared"
        report.state = DRIFTED if reason or report.drifted_fields else HEALTHY
        if report.state == DRIFTED and self.save:
            report.saved = save_candidate(report, response.body, self.save, date.today())
        return None

    def read(self, page) -> tuple[dict | None, str | None]:
        """The page's item as a crawl cleans it (markup out, the schema), and why it is no article (None
        when it is one). An item that fails the checks is still returned for the comparison."""
        from scrapy.exceptions import DropItem

        from newscrawl.pages.finish import NotAnArticle, validate

        try:
            item = page.to_item()
        except NotAnArticle as exc:
            return None, str(exc)
        except Exception as exc:  # a broken page is a finding, not a crash of the canary
            return None, f"{type(exc).__name__}: {exc}"
        try:
            for cleaner in self.cleaners:
                item = cleaner.process_item(dict(item))
            validate(item)
        except (DropItem, NotAnArticle) as exc:
            return item, str(exc)
        return item, None

    @property
    def cleaners(self):
        from newscrawl.pipelines.clean import SanitizePipeline, SchemaPipeline

        return [SanitizePipeline(self.crawler), SchemaPipeline(self.crawler)]

    def on_error(self, failure):
        request = failure.request
        name = request.meta["canary_site"]
        response = getattr(failure.value, "response", None)
        if isinstance(failure.value, HttpError) and response is not None:
            if self.challenged(response):
                return self.blocked(response)
            reason = f"HTTP {response.status} at {request.url}"
        else:
            reason = f"{type(failure.value).__name__} at {request.url}: {failure.getErrorMessage()}"
        site = self.sites[name]
        if isinstance(failure.value, HttpError) and request.meta.get("newscrawl_page") == "feed" and (
                site.archive_path):  # a feed gone or moved; a host that does not answer is not tried twice
            self.reports[name].reason = reason
            return self.listing_request(site)
        self.reports[name] = Report(name, UNREACHABLE, request.url, reason)
        return None


# -- the command ----------------------------------------------------------------------------------------
def exit_code(reports) -> int:
    states = {report.state for report in reports}
    if states & {DRIFTED, BLOCKED}:
        return EXIT_ACT
    return EXIT_UNREACHABLE if UNREACHABLE in states else EXIT_OK


class Command(ScrapyCommand):
    requires_project = True

    def syntax(self):
        return "[SITE ...] [--base-url URL] [--save DIR]"

    def short_desc(self):
        return "Check that each site's newest article still reads as the generic page reads it"

    def long_desc(self):
        return (self.short_desc() + ". Prints a table per site: healthy, drifted (fields missing or "
                "disagreeing; the page is saved as a fixture candidate), blocked (a challenge page) or "
                "unreachable. Exit code 1 on drift or block, else 3 when a site was unreachable, else 0.")

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--base-url", help="read the site(s) at this root instead (e.g. the local test "
                                               "site, http://127.0.0.1:8000)")
        parser.add_argument("--save", help="folder for drifted pages (default: NEWSCRAWL_DATA_DIR/canary)")

    def run(self, args, opts):
        from scrapy.spiderloader import get_spider_loader

        from newscrawl.spiders.base import ArgumentError, NewsSpider

        loader = get_spider_loader(self.settings)
        declared = [name for name in loader.list() if issubclass(loader.load(name), NewsSpider)]
        unknown = [name for name in args if name not in declared]
        if unknown:
            raise UsageError(f"unknown site {unknown[0]!r}; the sites: {', '.join(declared)}")
        sites = [loader.load(name) for name in (args or declared)]
        if opts.base_url:
            try:
                for spidercls in sites:
                    spidercls.check_args(base_url=opts.base_url)
            except ArgumentError as exc:
                raise UsageError(f"--base-url: {exc}") from None
        save = opts.save or str(Path(self.settings.get("NEWSCRAWL_DATA_DIR")) / "canary")
        reports: dict[str, Report] = {}
        self.crawler_process.crawl(CanarySpider, sites=sites, base_url=opts.base_url, save=save,
                                   reports=reports)
        self.crawler_process.start()
        ordered = [reports.get(cls.name) or Report(cls.name, reason="not checked") for cls in sites]
        print("\n\n".join(table(report) for report in ordered))
        counts = {state: sum(r.state == state for r in ordered) for state in (HEALTHY, DRIFTED, BLOCKED,
                                                                              UNREACHABLE)}
        print("\n" + ", ".join(f"{n} {state}" for state, n in counts.items() if n))
        sys.stdout.flush()
        self.exitcode = exit_code(ordered)
