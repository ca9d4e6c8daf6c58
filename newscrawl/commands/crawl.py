"""`scrapy crawl` that stops bad arguments and an unreachable database before crawling, with one line.

The check runs in `process_options`, before Scrapy creates the crawler process and starts logging,
so the user sees only the error line and exit code 2."""

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl
from scrapy.spiderloader import get_spider_loader

from newscrawl.spiders.base import ArgumentError


def preflight(settings, spider_name: str, spargs: dict) -> str | None:
    """Return a one-line error if the crawl cannot work, else None."""
    try:
        spidercls = get_spider_loader(settings).load(spider_name)
    except KeyError:
        return f"unknown spider {spider_name!r}; `scrapy list` shows them"
    check = getattr(spidercls, "check_args", None)
    if check is not None:
        try:
            check(**spargs)
        except ArgumentError as exc:
            return f"{spider_name}: {exc}"
    from newscrawl.rendering import preflight as rendering_preflight

    error = rendering_preflight(settings, spidercls)
    if error:
        return error
    if "newscrawl.pipelines.StoragePipeline" in settings.getdict("ITEM_PIPELINES"):
        from newscrawl.storage import ArticleStore, StorageError

        try:
            ArticleStore(settings.get("NEWSCRAWL_DATABASE_URL")).open().close()
        except StorageError as exc:
            return str(exc)
    return None


class Command(ScrapyCrawl):
    def process_options(self, args, opts):
        super().process_options(args, opts)
        if len(args) == 1:
            error = preflight(self.settings, args[0], opts.spargs)
            if error:
                print(f"error: {error}", file=sys.stderr)
                sys.exit(2)
