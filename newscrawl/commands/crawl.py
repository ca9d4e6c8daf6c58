"""`scrapy crawl` that stops bad arguments and an unreachable database before crawling, with one line."""

import sys

from scrapy.commands.crawl import Command as ScrapyCrawl

from newscrawl.spiders.base import ArgumentError


def preflight(crawler_process, spider_name: str, spargs: dict) -> str | None:
    """Return a one-line error if the crawl cannot work, else None."""
    try:
        spidercls = crawler_process.spider_loader.load(spider_name)
    except KeyError:
        return f"unknown spider {spider_name!r}; `scrapy list` shows them"
    check = getattr(spidercls, "check_args", None)
    if check is not None:
        try:
            check(**spargs)
        except ArgumentError as exc:
            return f"{spider_name}: {exc}"
    settings = crawler_process.settings
    if "newscrawl.pipelines.StoragePipeline" in settings.getdict("ITEM_PIPELINES"):
        from newscrawl.storage import ArticleStore, StorageError

        try:
            store = ArticleStore(settings.get("NEWSCRAWL_DATABASE_URL"))
            store.open()
            store.close()
        except StorageError as exc:
            return str(exc)
    return None


class Command(ScrapyCrawl):
    def run(self, args, opts):
        if len(args) == 1:
            error = preflight(self.crawler_process, args[0], opts.spargs)
            if error:
                print(f"error: {error}", file=sys.stderr)
                self.exitcode = 2
                return
        super().run(args, opts)
