"""`scrapy extract PATH --url URL [--spider NAME]`: one saved page → one item as JSON on stdout."""

import json
import sys

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newscrawl.offline import Extractor, NotAnArticle, spider_for_url
from newscrawl.spiders.base import ArgumentError


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self):
        return "PATH --url URL [--spider NAME]"

    def short_desc(self):
        return "Parse a saved article page with its site's spider and print the item as JSON"

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--url", required=True, help="the URL the page was saved from")
        parser.add_argument("--spider", help="spider to use (default: chosen by the URL's host)")

    def run(self, args, opts):
        if len(args) != 1:
            raise UsageError("give exactly one PATH")
        from scrapy.spiderloader import get_spider_loader
        from scrapy.utils.log import configure_logging

        # the reason is printed by us; -L shows the log too (our Crawler re-installs the log handler
        # with the settings it is given, so the level goes into them)
        settings = self.settings.copy()
        settings.set("LOG_LEVEL", opts.loglevel or "CRITICAL", priority="cmdline")
        configure_logging(settings)
        loader = get_spider_loader(self.settings)
        name = opts.spider or spider_for_url(loader, opts.url) or "generic"
        try:
            spidercls = loader.load(name)
        except KeyError:
            self._fail(f"unknown spider {name!r}; `scrapy list` shows them" if opts.spider
                       else f"no spider for the host of {opts.url}")
            return
        try:
            with open(args[0], "rb") as fh:
                body = fh.read()
        except OSError as exc:
            self._fail(f"cannot read {args[0]}: {exc.strerror}")
            return
        try:
            item = Extractor(spidercls, settings, opts.url).extract(body, opts.url)
        except (NotAnArticle, ArgumentError) as exc:
            self._fail(str(exc))
            return
        print(json.dumps(item, ensure_ascii=False))

    def _fail(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exitcode = 1
