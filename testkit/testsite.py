"""A local HTTP test site on 127.0.0.1: `python -m testkit.testsite [--port N] [--articles N]`.

Why: replay tests the parsing, but not the network side (HTTP, robots.txt, redirects, concurrency,
throttling, failures). This serves the demo snapshot over real HTTP, with the site's absolute links
rewritten to the local address, so `scrapy crawl tabnak -a base_url=http://127.0.0.1:PORT` runs the real
downloader; `--articles N` adds N generated articles in the same Tabnak structure under `/gen` (archive
pages of 50 links with a ► next link, an RSS feed, `/gen/fa/news/<id>`), for benchmarks:
`-a base_url=http://127.0.0.1:PORT/gen -a mode=archive -a since=1397/04/29 -a until=1397/04/30`.

Misbehaving endpoints live in testkit.routes.ROUTES (path prefix → handler); add more with its `@route`
decorator (testkit.hostile and testkit.jspages add theirs):
  /fault/status/<code>           that status, a short HTML body
  /fault/slow/<ms>[/<path>]      wait, then serve <path> (or a short page)
  /fault/redirect?to=<url>&code=302
  /fault/drop                    close the connection without answering
  /fault/truncate[/<path>]       announce the full Content-Length, send half the body, close
  /deep/<levels>/fa/news/<id>    generated article id-900000, nested <levels> deep (DEEP_SHAPES: how)
  /listing/<n>/<kind>/fa/archive one archive page of n links (every 10th twice); kind `articles`: they
                                 lead to small generated articles, `missing`: to 404s
  /drift/<path>                  the snapshot under /drift, its article pages drifted: the body's
                                 `div.body` renamed `div.news-text` (what `scrapy canary` must notice)
  /challenge/<path>              the snapshot's feed under /challenge; every other page an ArvanCloud
                                 challenge (403, `__arcsjs`) that never lets anyone through
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from w3lib.url import canonicalize_url

from newscrawl.extensions.cassettes import Recorded, load_cassettes
from testkit import hostile, jspages, republished  # noqa: F401  (/hostile, /broken, /js, /jsgate, /republished)
from testkit.demo import CASSETTE_DIR
from testkit.demo.build import ARTICLES, Article, fa, render_archive, render_article, render_rss
from testkit.routes import HTML, NOT_FOUND, ROUTES, news_id, route

GEN_PREFIX = "/gen"
GEN_ID_BASE = 900_000  # generated article k has news id GEN_ID_BASE + k
GEN_PAGE_SIZE = 50
GEN_RSS_SIZE = 100


def path_key(path_and_query: str) -> str:
    """Lookup key of a request path: the canonical form (sorted query, one escaping) without the host."""
    canonical = canonicalize_url("http://site" + path_and_query)
    return canonical[len("http://site"):] or "/"


class Snapshot:
    """Recorded responses indexed by path+query, with their original hosts rewritten to ours."""

    def __init__(self, cassettes: Path = CASSETTE_DIR):
        self.pages: dict[str, Recorded] = {}
        self.hosts: set[str] = set()
        ranked: dict[str, tuple[int, Recorded]] = {}
        for url, recorded in load_cassettes(cassettes).items():
            parts = urlsplit(url)
            self.hosts.add(parts.netloc)
            key = path_key(parts.path + (f"?{parts.query}" if parts.query else ""))
            # the same path under http and https: prefer a real page to a redirect, then https
            rank = (recorded.status // 100 != 3) * 2 + (parts.scheme == "https")
            if key not in ranked or rank > ranked[key][0]:
                ranked[key] = (rank, recorded)
        self.pages = {key: rec for key, (_, rec) in ranked.items()}

    def rewrite(self, data: bytes, base: str) -> bytes:
        escaped = base.replace("/", "\\/").encode()
        for host in sorted(self.hosts, key=len, reverse=True):
            for scheme in ("https", "http"):
                data = data.replace(f"{scheme}://{host}".encode(), base.encode())
                data = data.replace(f"{scheme}:\\/\\/{host}".encode(), escaped)
        return data


class SiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers do
    server: SiteServer

    def log_message(self, format, *args):
        if self.server.verbose:
            super().log_message(format, *args)

    @property
    def base(self) -> str:
        return self.server.base_url

    def reply(self, status: int, body: bytes | str = b"", content_type: str = HTML,
              headers: dict[str, str] | None = None) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        if self.server.delay:
            time.sleep(self.server.delay)  # a remote site's latency (--delay-ms)
        parts = urlsplit(self.path)
        self.dispatch(parts.path, parse_qs(parts.query, keep_blank_values=True), self.path)

    def dispatch(self, path: str, query: dict[str, list[str]], raw: str) -> None:
        for prefix in sorted(ROUTES, key=len, reverse=True):
            if path == prefix or path.startswith(prefix.rstrip("/") + "/"):
                ROUTES[prefix](self, path[len(prefix.rstrip("/")):], query)
                return
        self.serve_snapshot(raw)

    def serve_snapshot(self, raw_path: str) -> None:
        pages = self.server.snapshot.pages
        found = pages.get(path_key(raw_path))
        bare = re.match(r"(/fa/news/\d+)/", raw_path)
        if found is None and bare:  # like the CMS: the slug after the id is decoration
            found = pages.get(path_key(bare[1]))
        if found is None:
            self.reply(404, NOT_FOUND)
            return
        headers = {}
        for name, values in found.headers.items():
            if name.lower() == "location":
                headers[name] = self.server.snapshot.rewrite(values[0].encode(), self.base).decode()
        content_type = next((v[0] for k, v in found.headers.items() if k.lower() == "content-type"), HTML)
        self.reply(found.status, self.server.snapshot.rewrite(found.body, self.base), content_type, headers)


class SiteServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int = 0, articles: int = 0, host: str = "127.0.0.1",
                 cassettes: Path = CASSETTE_DIR, verbose: bool = False, delay_ms: int = 0):
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"host {host!r}: the test site only listens on loopback addresses")
        self.snapshot = Snapshot(cassettes)
        self.articles = articles
        self.verbose = verbose
        self.delay = max(0, delay_ms) / 1000
        super().__init__((host, port), SiteHandler)
        shown = f"[{host}]" if ":" in host else host
        self.base_url = f"http://{shown}:{self.server_address[1]}"

    def close(self) -> None:
        self.shutdown()
        self.server_close()


def serve_in_thread(port: int = 0, articles: int = 0, host: str = "127.0.0.1") -> tuple[SiteServer, str]:
    """Start the site in a daemon thread; returns (server, base_url). Stop it with server.close()."""
    server = SiteServer(port, articles, host)
    threading.Thread(target=server.serve_forever, name="newscrawl-testsite", daemon=True).start()
    return server, server.base_url


# -- generated site under /gen -------------------------------------------------------------------------------
_TEMPLATES = [a for a in ARTICLES if a.body]
_POOL = [p for a in _TEMPLATES for p in a.paragraphs if not p.startswith(("img:", "h:"))]


def generated_article(k: int) -> Article:
    """Article number k (1-based) of the generated site: the demo's structure, text recombined from its
    paragraphs, a unique title, dates spread over 29-30 Tir 1397. Pure function of k (no state)."""
    t = _TEMPLATES[k % len(_TEMPLATES)]
    paragraphs = tuple(_POOL[(k * 7 + j * 11) % len(_POOL)] for j in range(3 + k % 3))
    if k % 10 == 0:
        paragraphs = (paragraphs[0], f"img:/files/fa/news/1397/4/30/{GEN_ID_BASE + k}_1.jpg", *paragraphs[1:])
    clock = f"{k * 7 % 24:02d}:{k * 13 % 60:02d}:{k % 60:02d}"
    return Article(GEN_ID_BASE + k, 29 + k % 2, clock, t.service, t.cat, t.rutitr,
                   f"{t.title} (گزارش {fa(k)})", t.lead, paragraphs, tags=t.tags)


def generated_page(k: int, full: bool = False) -> str:
    """Generated article k as /gen serves it: the demo template, the one before it as related news.
    `full` adds the real page's chrome (menus, 90 other articles in the sidebar, footer), for the extraction
    benchmark: /gen serves the compact page."""
    related = generated_article(k - 1) if k > 1 else None
    article = generated_article(k)
    if not full:
        return render_article(article, prefix=GEN_PREFIX, related=related)
    # readers' comments, as under the real article (they are in the article's box, outside its body)
    comments = tuple((name, f"{fa(f'{10 + i:02d}:{k % 60:02d}')} - ۱۳۹۷/۰۴/۳۰", text)
                     for i, (name, text) in enumerate(_COMMENTS * 2))
    return render_article(replace(article, comments=comments), prefix=GEN_PREFIX, related=related,
                          sidebar=[generated_article(k + j) for j in range(1, 91)])


_COMMENTS = (("ناشناس", "چرا این خبر زودتر منتشر نشد؟"),
             ("رضا", "گزارش خوبی بود؛ لطفاً پیگیری کنید."),
             ("مریم", "ای کاش جزئیات بیشتری می‌نوشتید."),
             ("علی", "این موضوع به زندگی مردم مربوط است و باید شفاف باشد."))


@route(GEN_PREFIX)
def generated(req: SiteHandler, rest: str, query: dict[str, list[str]]) -> None:
    n = req.server.articles
    if rest.startswith("/fa/archive"):
        try:
            page = max(1, int(query.get("page", ["1"])[0]))
        except ValueError:
            page = 1
        newest = n - (page - 1) * GEN_PAGE_SIZE
        numbers = range(newest, max(0, newest - GEN_PAGE_SIZE), -1)
        links = [(f"{GEN_PREFIX}/fa/news/{a.id}/{a.slug}", a) for a in map(generated_article, numbers)]

        def href(k: int) -> str:
            q = {key: v[0] for key, v in query.items() if key != "page"}
            return f"{GEN_PREFIX}/fa/archive?{urlencode({**q, 'page': k} if k > 1 else q, safe='/')}"

        more = newest - GEN_PAGE_SIZE > 0
        req.reply(200, render_archive(links, prefix=GEN_PREFIX, page=page,
                                      next_href=href(page + 1) if more else None,
                                      prev_href=href(page - 1) if page > 1 else None))
        return
    if rest == "/fa/rss/allnews":
        items = [generated_article(k) for k in range(n, max(0, n - GEN_RSS_SIZE), -1)]
        req.reply(200, render_rss(items, link_base=req.base, prefix=GEN_PREFIX), "text/xml; charset=utf-8")
        return
    number = news_id(rest) - GEN_ID_BASE
    if 1 <= number <= n:
        req.reply(200, generated_page(number))
        return
    req.reply(404, NOT_FOUND)


# -- bounds: deep markup, huge listings (issue 13) -------------------------------------------------------------
#: how /deep nests generated article k: DEEP_SHAPES[k % 4] with <levels> levels
DEEP_SHAPES = ("wrap", "classed", "body", "stairs")


def deep_page(k: int, levels: int) -> str:
    """Generated article k (the compact /gen page) with `levels` of nesting, as DEEP_SHAPES[k % 4] says:
    wrap: the whole page inside <div>s; classed: inside <div class="level">s; body: the paragraphs inside
    <div>s within `.body`; stairs: each paragraph deeper than the one before, the last `levels` deep."""
    page = generated_page(k)
    shape = DEEP_SHAPES[k % len(DEEP_SHAPES)]
    if shape in ("wrap", "classed"):
        start = page.index(">", page.index("<body")) + 1
        end = page.rindex("</body>")
        tag = "<div>" if shape == "wrap" else '<div class="level">'
        return page[:start] + tag * levels + page[start:end] + "</div>" * levels + page[end:]
    start = page.index('<div class="body">') + len('<div class="body">')
    end = page.index('<div class="wrapper"></div>', start)
    inner = page[start:end]
    if shape == "body":
        inner = "<div>" * levels + inner + "</div>" * levels
    else:
        pieces = inner.split("</p>")
        step, extra = divmod(levels, max(1, len(pieces) - 1))
        inner = "".join(piece + ("</p>" + "<div>" * (step + (i < extra)) if i < len(pieces) - 1 else "")
                        for i, piece in enumerate(pieces)) + "</div>" * levels
    return page[:start] + inner + page[end:]


@route("/deep")
def deep(req: SiteHandler, rest: str, query) -> None:
    levels, _, path = rest.strip("/").partition("/")
    number = news_id("/" + path) - GEN_ID_BASE
    if levels.isdigit() and int(levels) <= 1_000_000 and number >= 1:
        req.reply(200, deep_page(number, int(levels)))
    else:
        req.reply(404, NOT_FOUND)


def listing_page(n: int, prefix: str) -> str:
    """An archive page in the Tabnak structure (`div.linear_news a.title5`) with links to articles n..1 of
    `prefix`, every 10th listed a second time; no next page. Short links and no titles, so that 100,000
    links stay under DOWNLOAD_MAXSIZE (16 MB): about 90 bytes a link."""
    items = []
    for k in range(n, 0, -1):
        item = f'<div class="linear_news"><a class="title5" href="{prefix}/fa/news/{GEN_ID_BASE + k}">{k}</a></div>'
        items.append(item + item if k % 10 == 0 else item)
    return ("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>آرشیو</title></head><body>"
            '<div class="list">' + "\n".join(items) + "</div></body></html>")


@route("/listing")
def listing(req: SiteHandler, rest: str, query) -> None:
    count, kind, path = (rest.strip("/").split("/", 2) + ["", ""])[:3]
    if not count.isdigit() or int(count) > 150_000 or kind not in ("articles", "missing"):
        req.reply(404, NOT_FOUND)
        return
    n = int(count)
    if path == "fa/archive":
        req.reply(200, listing_page(n, f"/listing/{n}/{kind}"))
        return
    number = news_id("/" + path) - GEN_ID_BASE
    if kind == "articles" and 1 <= number <= n:
        req.reply(200, generated_page(number))
    else:
        req.reply(404, NOT_FOUND)


# -- misbehaving endpoints -----------------------------------------------------------------------------------
@route("/fault/status")
def fault_status(req: SiteHandler, rest: str, query) -> None:
    try:
        code = int(rest.strip("/").split("/")[0])
    except ValueError:
        code = 500
    req.reply(code, f"<html><body>status {code}</body></html>\n")


@route("/fault/slow")
def fault_slow(req: SiteHandler, rest: str, query) -> None:
    ms, _, path = rest.strip("/").partition("/")
    time.sleep(min(int(ms) if ms.isdigit() else 1000, 600_000) / 1000)
    if path:
        req.dispatch("/" + path, query, "/" + path + (f"?{urlencode(query, doseq=True)}" if query else ""))
    else:
        req.reply(200, f"<html><body>slow {ms} ms</body></html>\n")


@route("/fault/redirect")
def fault_redirect(req: SiteHandler, rest: str, query) -> None:
    target = query.get("to", ["/"])[0]
    code = int(query.get("code", ["302"])[0])
    req.reply(code, "", headers={"Location": target})


@route("/fault/drop")
def fault_drop(req: SiteHandler, rest: str, query) -> None:
    req.close_connection = True  # say nothing; the client sees the connection close


@route("/fault/truncate")
def fault_truncate(req: SiteHandler, rest: str, query) -> None:
    page = rest or f"/fa/news/{ARTICLES[0].id}"
    found = req.server.snapshot.pages.get(path_key(page))
    body = req.server.snapshot.rewrite(found.body, req.base) if found else b"<html>%s</html>" % (b"x" * 4000)
    req.send_response(200)
    req.send_header("Content-Type", HTML)
    req.send_header("Content-Length", str(len(body)))
    req.end_headers()
    req.wfile.write(body[: len(body) // 2])
    req.wfile.flush()
    req.close_connection = True


# -- the canary's variants of the snapshot (newscrawl.commands.canary) -----------------------------------------
DRIFT_PREFIX = "/drift"
CHALLENGE_PREFIX = "/challenge"
#: how /drift changes an article page's template: the body's class, which no Tabnak body selector names
DRIFT = (b'<div class="body">', b'<div class="news-text">')


def snapshot_under(req: SiteHandler, prefix: str, rest: str, query: dict[str, list[str]]) -> Recorded | None:
    """The snapshot's response for `rest` (with its query), its links pointed at `prefix` on this site."""
    raw = rest + (f"?{urlencode(query, doseq=True)}" if query else "")
    pages = req.server.snapshot.pages
    bare = re.match(r"(/fa/news/\d+)/", raw)
    found = pages.get(path_key(raw)) or (pages.get(path_key(bare[1])) if bare else None)
    if found is None:
        return None
    return found._replace(body=req.server.snapshot.rewrite(found.body, req.base + prefix))


@route(DRIFT_PREFIX)
def drift(req: SiteHandler, rest: str, query: dict[str, list[str]]) -> None:
    found = snapshot_under(req, DRIFT_PREFIX, rest, query)
    if found is None or found.status != 200:
        req.reply(404, NOT_FOUND)
        return
    body = found.body.replace(*DRIFT) if news_id(rest) else found.body
    content_type = next((v[0] for k, v in found.headers.items() if k.lower() == "content-type"), HTML)
    req.reply(200, body, content_type)


@route(CHALLENGE_PREFIX)
def challenge(req: SiteHandler, rest: str, query: dict[str, list[str]]) -> None:
    from testkit.jspages import challenge_page

    found = snapshot_under(req, CHALLENGE_PREFIX, rest, query) if rest.startswith("/fa/rss") else None
    if found is not None:
        req.reply(200, found.body, "text/xml; charset=utf-8")
    else:
        req.reply(403, challenge_page(refuse=True), headers={"Set-Cookie": "__arcsid=canary; Path=/"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m testkit.testsite", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8000, help="0 picks a free port (default: %(default)s)")
    parser.add_argument("--articles", type=int, default=0, help="generated articles under /gen")
    parser.add_argument("--host", default="127.0.0.1", help="a loopback address (default: %(default)s)")
    parser.add_argument("--cassettes", type=Path, default=CASSETTE_DIR, help="cassette dir to serve")
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    parser.add_argument("--delay-ms", type=int, default=0, help="latency added to every response")
    args = parser.parse_args(argv)
    try:
        server = SiteServer(args.port, args.articles, args.host, args.cassettes, args.verbose,
                            args.delay_ms)
    except (ValueError, OSError) as exc:
        print(f"testsite: {exc}", file=sys.stderr)
        return 2
    print(f"serving on {server.base_url}", flush=True)
    if args.articles:
        print(f"generated articles: {server.base_url}{GEN_PREFIX}/fa/archive ({args.articles} articles, ids "
              f"{GEN_ID_BASE + 1}-{GEN_ID_BASE + args.articles})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a crawl or test site in a child process: the caller's, without NEWSCRAWL_* and
    SCRAPY_* (each run sets its own; in-process tests leave SCRAPY_SETTINGS_MODULE behind), the public
    suffix list never fetched, the project importable; plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NEWSCRAWL_", "SCRAPY_"))}
    env.update({"TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "", "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
                "NEWSCRAWL_ALLOW_PRIVATE": "1"},  # the test site is on 127.0.0.1 (newscrawl.downloadermiddlewares.ssrf)
               **extra)
    return env


@contextmanager
def running(articles: int = 0, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """`python -m testkit.testsite` as its own process on a free loopback port, for tests and benchmarks
    (a crawl in another process must not share its CPU); yields (base URL, process), stops it after."""
    root = Path(__file__).resolve().parents[1]
    proc = subprocess.Popen([sys.executable, "-m", "testkit.testsite", "--port", "0", "--articles", str(articles)],
                            cwd=root, env=env if env is not None else clean_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline()
        match = re.match(r"serving on (http://127\.0\.0\.1:\d+)", line)
        if not match:
            raise RuntimeError(f"test site did not start: {line!r}")
        yield match[1], proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


if __name__ == "__main__":
    sys.exit(main())
