"""`scrapy extract [--url URL] [--spider NAME] PAGE [PAGE ...]`: saved pages → one item per page, one JSON
line each, on stdout; `-` reads a page from standard input. The work is `newscrawl.extract`'s, under the
project's settings (so -s options count).

A page that gives no article is one `error: PAGE: reason` line on stderr; the other pages go on, and
the exit code is 1 if any failed. A reader that stops early (`| head`) ends the command quietly with
128 + SIGPIPE = 141, as `cat` or `grep` would end: a `set -o pipefail` script sees what it sees for them."""

import json
import os
import signal
import sys
from pathlib import Path

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError

from newscrawl.api import Extractors, NotAnArticle
from newscrawl.spiders.base import ArgumentError

STDIN = "-"
EXIT_BROKEN_PIPE = 128 + signal.SIGPIPE


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False

    def syntax(self):
        return "[--url URL] [--spider NAME] PAGE [PAGE ...]"

    def short_desc(self):
        return "Parse saved article pages (PAGE, or - for stdin) and print each item as a JSON line"

    def long_desc(self):
        return (self.short_desc() + ". A page that gives no article prints `error: PAGE: reason` on stderr "
                "and the others go on; the exit code is 1 if any page failed, 141 when the reader of the "
                "output stopped early (`| head`), else 0.")

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--url", help="the URL the page was saved from (one PAGE only; default: the "
                                          "page's rel=canonical or og:url)")
        parser.add_argument("--spider", help="spider to use (default: chosen by the URL's host, else generic)")

    def run(self, args, opts):
        if not args:
            raise UsageError("give at least one PAGE (a file, or - for standard input)")
        if opts.url and len(args) > 1:
            raise UsageError("--url is for one PAGE; several pages each give their own URL")
        if args.count(STDIN) > 1:
            raise UsageError("standard input (-) can be read once")
        from scrapy.utils.log import configure_logging

        # the reason is printed by us; -L shows the log too
        settings = self.settings.copy()
        settings.set("LOG_LEVEL", opts.loglevel or "CRITICAL", priority="cmdline")
        configure_logging(settings)
        extractors = Extractors(settings)
        if opts.spider and opts.spider not in extractors.loader.list():
            self._fail(f"unknown spider {opts.spider!r}; `scrapy list` shows them")
            return
        for page in args:
            line = self._one(extractors, page, opts)
            if line is None:
                continue
            try:
                sys.stdout.write(line + "\n")
                sys.stdout.flush()  # now, so a closed pipe shows here and not at interpreter exit
            except BrokenPipeError:
                # nobody reads any more: point stdout at /dev/null so the exit's flush is quiet too
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                self.exitcode = EXIT_BROKEN_PIPE
                return

    def _one(self, extractors: Extractors, page: str, opts) -> str | None:
        """The page's item as a JSON line, or None after its error line."""
        try:
            body = sys.stdin.buffer.read() if page == STDIN else Path(page).read_bytes()
        except OSError as exc:
            self._fail(f"cannot read {page}: {exc.strerror}")
            return None
        try:
            item = extractors.extract(body, opts.url, opts.spider)
        except (NotAnArticle, ArgumentError) as exc:  # no URL, or one off the spider's site
            self._fail(f"{'standard input' if page == STDIN else page}: {exc}")
            return None
        return json.dumps(item, ensure_ascii=False)

    def _fail(self, message: str) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exitcode = 1
