"""No requests to private addresses (newscrawl.downloadermiddlewares.ssrf), through the real engine without the opt-in.

Every crawl here runs without NEWSCRAWL_ALLOW_PRIVATE (removed from the environment `scrapy_env` builds).
The "public" site news.example is answered offline by Scrapy's HTTP cache over cassettes (NEWSCRAWL_REPLAY), so
a request the guard let through would end at the cache as `httpcache/miss`, never on a network:
`httpcache/miss == 0` with the refusal counted proves the refusal came before any connection attempt.
The one test that needs real name resolution maps a name to 127.0.0.1 inside the crawl process
(sitecustomize) and listens on that port, counting connections."""

from __future__ import annotations

import ipaddress
import json
import socket
import sqlite3
import threading
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from newscrawl.downloadermiddlewares.ssrf import (
    ALLOW_ENV,
    address_reason,
    host_reason,
    literal_address,
    origin_port,
    port_allowed,
    refused_targets,
)
from newscrawl.extensions.cassettes import interaction, save_cassette
from testkit.devservers import closing_stats
from tests.conftest import ROOT, run_scrapy, scrapy_env

FAST = ("-s", "AUTOTHROTTLE_ENABLED=0", "-s", "DOWNLOAD_DELAY=0", "-L", "INFO")
NOW = "2024-01-01T00:00:00"
ROBOTS = b"User-agent: *\nAllow: /\n"


# -- the address classifier ---------------------------------------------------------------------------------
def flagged(ip) -> bool:
    """Python's own verdict: anything but a global unicast address."""
    return (not ip.is_global or ip.is_multicast or ip.is_private or ip.is_reserved or ip.is_loopback
            or ip.is_link_local or ip.is_unspecified)


@given(st.integers(0, 2**32 - 1))
def test_ipv4_refused_exactly_when_python_flags_it(n):
    ip = ipaddress.IPv4Address(n)
    assert (address_reason(ip) is not None) == flagged(ip)


EMBEDDING = [ipaddress.ip_network(n) for n in ("::ffff:0:0/96", "2002::/16", "2001::/32", "64:ff9b::/96")]


@given(st.integers(0, 2**128 - 1))
def test_ipv6_refused_exactly_when_python_flags_it(n):
    ip = ipaddress.IPv6Address(n)
    if any(ip in net for net in EMBEDDING):
        return  # carries an IPv4 address: the tests below
    assert (address_reason(ip) is not None) == flagged(ip)


@given(st.integers(0, 2**32 - 1))
def test_ipv4_mapped_ipv6_judged_as_its_ipv4(n):
    v4 = ipaddress.IPv4Address(n)
    assert (address_reason(ipaddress.IPv6Address(f"::ffff:{v4}")) is not None) == flagged(v4)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**80 - 1))
def test_6to4_and_nat64_carrying_a_private_ipv4_refused(n, rest):
    v4 = ipaddress.IPv4Address(n)
    sixtofour = ipaddress.IPv6Address((0x2002 << 112) | (n << 80) | rest)
    nat64 = ipaddress.IPv6Address(f"64:ff9b::{v4}")
    if flagged(v4):
        assert address_reason(sixtofour) is not None
        assert address_reason(nat64) is not None


@pytest.mark.parametrize(("host", "reason", "address"), [
    ("127.0.0.1", "loopback", "127.0.0.1"),
    ("2130706433", "loopback", "127.0.0.1"),
    ("0x7f.1", "loopback", "127.0.0.1"),
    ("0177.0.0.1", "loopback", "127.0.0.1"),
    ("127.1", "loopback", "127.0.0.1"),
    ("0x7f000001", "loopback", "127.0.0.1"),
    ("127.0.0.1.", "loopback", "127.0.0.1"),
    ("[::1]", "loopback", "::1"),
    ("::ffff:127.0.0.1", "loopback", "::ffff:127.0.0.1"),
    ("::ffff:7f00:1", "loopback", "::ffff:127.0.0.1"),
    ("169.254.169.254", "link-local", "169.254.169.254"),
    ("fe80::1%eth0", "link-local", "fe80::1"),
    ("10.1.2.3", "private", "10.1.2.3"),
    ("192.168.1.1", "private", "192.168.1.1"),
    ("fd00::1", "private", "fd00::1"),
    ("224.0.0.1", "multicast", "224.0.0.1"),
    ("ff02::1", "multicast", "ff02::1"),
    ("0.0.0.0", "unspecified", "0.0.0.0"),
    ("0", "unspecified", "0.0.0.0"),
    ("100.64.0.1", "not global", "100.64.0.1"),
    ("localhost", "loopback", "localhost"),
    ("LocalHost.", "loopback", "localhost"),
    ("db.localhost", "loopback", "db.localhost"),
    ("8.8.8.8", None, "8.8.8.8"),
    ("2a00:1450::1", None, "2a00:1450::1"),
])
def test_host_forms(host, reason, address):
    got, shown = host_reason(host)
    assert got == reason
    if reason is None:
        assert shown == ""
    elif "localhost" in address:
        assert shown == address
    else:
        assert ipaddress.ip_address(shown) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["www.tabnak.ir", "123.abc", "cafe", "1e100.net", "0x7g.1", "127.0.0.1.nip.io"])
def test_names_are_not_literals(host):
    assert literal_address(host) is None
    assert host_reason(host) == (None, "")


def test_url_parser_keeps_odd_forms_for_the_middleware():
    """What Scrapy's Request makes of odd hosts is what the middleware judges (w3lib normalizes the URL)."""
    from scrapy import Request

    for url in ("http://2130706433/", "http://0x7f.1/", "http://[::ffff:127.0.0.1]:8000/",
                "http://\uff11\uff12\uff17.0.0.1/"):  # fullwidth digits: IDNA maps them to 127
        host = urlsplit(Request(url).url).hostname
        assert host_reason(host)[0] == "loopback", (url, host)


# -- given targets ------------------------------------------------------------------------------------------
@pytest.fixture
def no_opt_in(monkeypatch):
    monkeypatch.delenv(ALLOW_ENV, raising=False)


def test_all_targets_private_is_one_line(no_opt_in, tmp_path):
    line = refused_targets({"url": "http://127.0.0.1:8000/x", "sitemap": "http://169.254.169.254/s.xml"})
    assert line.startswith("every target is a private address, refused: url http://127.0.0.1:8000/x (loopback)")
    assert "and 1 more" in line and "\n" not in line and ALLOW_ENV in line
    listed = tmp_path / "urls.txt"
    listed.write_text("# internal\nhttp://10.0.0.1/a\nhttp://localhost:6379/\n", encoding="utf-8")
    assert refused_targets({"urls_file": str(listed)}).startswith("every target is a private address")
    assert refused_targets({"base_url": "http://[::1]:8000"}).endswith(f"{ALLOW_ENV}=1 in the crawl's environment"
                                                                     " to allow private addresses")


def test_one_public_target_lets_the_crawl_start(no_opt_in, monkeypatch):
    assert refused_targets({"url": "http://127.0.0.1/x", "urls": "https://www.tabnak.ir/fa/news/1"}) is None
    assert refused_targets({"mode": "rss"}) is None  # no target given: the spider's own site
    assert refused_targets({"url": "http://intranet.example/x"}) is None  # a name: the resolver judges it
    monkeypatch.setenv(ALLOW_ENV, "1")
    assert refused_targets({"url": "http://127.0.0.1/x"}) is None


# -- ports --------------------------------------------------------------------------------------------------
def test_origin_port():
    assert origin_port(urlsplit("http://a.ir/")) is None
    assert origin_port(urlsplit("http://a.ir:80/")) is None
    assert origin_port(urlsplit("https://a.ir:443/")) is None
    assert origin_port(urlsplit("http://a.ir:443/")) == 443
    assert origin_port(urlsplit("http://a.ir:8000/")) == 8000


def test_port_allowed():
    given_ = ["http://127.0.0.1:8000"]
    assert port_allowed("127.0.0.1", 8000, given_, ["127.0.0.1"])
    assert not port_allowed("127.0.0.1", 8201, given_, ["127.0.0.1"])
    assert not port_allowed("127.0.0.1", None, given_, ["127.0.0.1"])
    assert port_allowed("example.org", 8201, given_, ["127.0.0.1"])  # unrelated host: Scrapy's offsite
    sites = ["https://www.tabnak.ir/sitemap.xml"]
    assert port_allowed("www.tabnak.ir", None, sites, ["tabnak.ir"])  # http and https: the web's ports
    assert port_allowed("cdn.tabnak.ir", None, sites, ["tabnak.ir"])
    assert not port_allowed("cdn.tabnak.ir", 8080, sites, ["tabnak.ir"])


# -- through the engine -------------------------------------------------------------------------------------
def article_html(code: int) -> bytes:
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": f"خبر آزمایشی {code}",
          "datePublished": "2018-07-21T10:00:00+04:30"}
    body = "".join(f"<p>این پاراگراف {i} از متن خبر آزمایشی است که برای آزمودن خزنده نوشته شده است.</p>"
                   for i in range(6))
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>خبر {code}</title>'
            f'<script type="application/ld+json">{json.dumps(ld, ensure_ascii=False)}</script></head>'
            f"<body><article><h1>خبر آزمایشی {code}</h1>{body}</article></body></html>").encode()


HTML = {"Content-Type": ["text/html; charset=utf-8"]}
XML = {"Content-Type": ["application/xml"]}
TEXT = {"Content-Type": ["text/plain"]}


def cassette(tmp_path, pages: dict[str, tuple[int, dict, bytes]]):
    folder = tmp_path / "cassettes"
    save_cassette(folder / "site.json", [interaction(url, status, headers, body, recorded_at=NOW)
                                         for url, (status, headers, body) in pages.items()])
    return folder


def sitemap(urls: list[str]) -> bytes:
    locs = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{locs}</urlset>'.encode()


def guarded_env(tmp_path, **extra) -> dict[str, str]:
    """The crawl's environment without the opt-in (clean_env adds it for the test site)."""
    env = scrapy_env(NEWSCRAWL_DATA_DIR=str(tmp_path / "data"), NEWSCRAWL_FEED=str(tmp_path / "items.jsonl"),
                     NEWSCRAWL_DATABASE_URL=f"sqlite:///{tmp_path}/news.sqlite3")
    env.pop(ALLOW_ENV)
    env.update(extra)
    return env


def crawl(tmp_path, *args: str, replay=None, env=None):
    env = env or guarded_env(tmp_path, **({"NEWSCRAWL_REPLAY": str(replay)} if replay else {}))
    result = run_scrapy("crawl", "generic", *args, *FAST, env=env, timeout=120)
    assert result.returncode in (0, 1), result.stderr[-3000:]  # it ran (1: nothing stored is a failed run)
    return result.stderr, closing_stats(result.stderr)


def stored_codes(tmp_path) -> list[str]:
    with sqlite3.connect(tmp_path / "news.sqlite3") as db:
        return sorted(row[0] for row in db.execute("SELECT news_code FROM articles"))


def refused_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if "[newscrawl.downloadermiddlewares.ssrf] WARNING: refused " in line]


def no_download_errors(stats: dict):
    """No exception but the guards' own refusals (raised in process_request: DownloaderStats counts them),
    and no retry."""
    ours = ("downloader/exception_type_count/newscrawl.downloadermiddlewares.ssrf.PrivateAddressRefused",
            "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest")
    assert not [k for k in stats if k.startswith(("downloader/exception_type_count", "retry/")) and k not in ours]
    assert stats.get("downloader/exception_count", 0) == sum(stats.get(k, 0) for k in ours)


PUBLIC = "http://news.example"


def test_literal_private_addresses_refused_before_any_connection(tmp_path):
    replay = cassette(tmp_path, {f"{PUBLIC}/robots.txt": (200, TEXT, ROBOTS),
                                 f"{PUBLIC}/fa/news/100001": (200, HTML, article_html(100001))})
    private = ["http://127.0.0.1:1/a", "http://169.254.169.254/latest/meta-data/", "http://[::1]:1/b",
               "http://10.1.2.3/c", "http://2130706433/d", "http://0x7f.1/e", "http://[::ffff:127.0.0.1]:1/f",
               "http://localhost:6379/g"]
    log, stats = crawl(tmp_path, "-a", f"url={PUBLIC}/fa/news/100001", "-a", "urls=" + ",".join(private),
                       replay=replay)
    assert stats["newscrawl/ssrf/refused"] == len(private)
    assert stats["newscrawl/ssrf/refused/loopback"] == 6
    assert stats["newscrawl/ssrf/refused/link-local"] == 1
    assert stats["newscrawl/ssrf/refused/private"] == 1
    assert stats.get("httpcache/miss", 0) == 0  # nothing refused reached the (offline) downloader
    assert stats["httpcache/hit"] == 2  # the public site's robots.txt and article
    no_download_errors(stats)
    lines = refused_lines(log)
    assert len(lines) == len(private)  # one per host (each host once here)
    assert any("http://169.254.169.254/latest/meta-data/" in line and "link-local" in line for line in lines)
    assert stored_codes(tmp_path) == ["100001"]


def test_redirect_to_metadata_service_refused(tmp_path):
    """An allowed page redirects to 169.254.169.254 (named in `allowed`, so Scrapy's offsite check lets it
    through): RedirectMiddleware's new request meets the guard again."""
    replay = cassette(tmp_path, {
        f"{PUBLIC}/robots.txt": (200, TEXT, ROBOTS),
        f"{PUBLIC}/fa/news/100001": (302, {"Location": ["http://169.254.169.254/latest/meta-data/"]}, b""),
        f"{PUBLIC}/fa/news/100002": (301, {"Location": ["http://localhost:6379/"]}, b""),
        f"{PUBLIC}/fa/news/100003": (200, HTML, article_html(100003))})
    log, stats = crawl(tmp_path, "-a", f"urls={PUBLIC}/fa/news/100001,{PUBLIC}/fa/news/100002,{PUBLIC}/fa/news/100003",
                       "-a", "allowed=169.254.169.254,localhost", replay=replay)
    assert stats["newscrawl/ssrf/refused"] == 2
    assert stats["newscrawl/ssrf/refused/link-local"] == 1
    assert stats["newscrawl/ssrf/refused/loopback"] == 1
    assert stats["downloader/response_status_count/302"] == 1
    assert stats.get("httpcache/miss", 0) == 0
    no_download_errors(stats)
    assert stored_codes(tmp_path) == ["100003"]


def test_sitemap_links_to_other_ports_and_private_hosts_refused(tmp_path):
    links = [f"{PUBLIC}/fa/news/100001", f"{PUBLIC}:8200/fa/news/100002", f"{PUBLIC}:8201/fa/news/100003",
             f"{PUBLIC}:6379/fa/news/100004", "http://127.0.0.1:8201/fa/news/100005"]
    replay = cassette(tmp_path, {f"{PUBLIC}/robots.txt": (200, TEXT, ROBOTS),
                                 f"{PUBLIC}/sitemap.xml": (200, XML, sitemap(links)),
                                 f"{PUBLIC}/fa/news/100001": (200, HTML, article_html(100001))})
    log, stats = crawl(tmp_path, "-a", f"sitemap={PUBLIC}/sitemap.xml", "-a", "allowed=127.0.0.1", replay=replay)
    assert stats["newscrawl/listing/sitemap_links"] == 5
    assert stats["newscrawl/offsite/port"] == 3
    assert stats["newscrawl/ssrf/refused"] == 1 and stats["newscrawl/ssrf/refused/loopback"] == 1
    assert stats.get("httpcache/miss", 0) == 0
    no_download_errors(stats)
    assert stored_codes(tmp_path) == ["100001"]


def test_sitemap_on_loopback_with_opt_in_stays_on_its_port(tmp_path):
    """The issue's case with the opt-in (the test site's way): a sitemap on 127.0.0.1:P leads to no other
    port of that host."""
    site = "http://127.0.0.1:8000"
    links = [f"{site}/fa/news/100001", "http://127.0.0.1:8200/fa/news/100002", "http://127.0.0.1:8201/fa/news/100003",
             "http://127.0.0.1:6379/fa/news/100004"]
    replay = cassette(tmp_path, {f"{site}/robots.txt": (200, TEXT, ROBOTS),
                                 f"{site}/sitemap.xml": (200, XML, sitemap(links)),
                                 f"{site}/fa/news/100001": (200, HTML, article_html(100001))})
    env = guarded_env(tmp_path, NEWSCRAWL_REPLAY=str(replay), **{ALLOW_ENV: "1"})
    log, stats = crawl(tmp_path, "-a", f"sitemap={site}/sitemap.xml", env=env)
    assert stats["newscrawl/offsite/port"] == 3
    assert "newscrawl/ssrf/refused" not in stats
    assert stats.get("httpcache/miss", 0) == 0
    assert stored_codes(tmp_path) == ["100001"]


@pytest.mark.parametrize("args", [
    ("generic", "-a", "url=http://127.0.0.1:{port}/fa/news/100001"),
    ("generic", "-a", "url=http://localhost:{port}/fa/news/100001"),
    ("generic", "-a", "feed=http://[::1]:{port}/rss", "-a", "sitemap=http://169.254.169.254/sitemap.xml"),
    ("tabnak", "-a", "base_url=http://127.0.0.1:{port}", "-a", "mode=rss"),
])
def test_crawl_of_only_private_targets_stops_with_one_line(tmp_path, args):
    with Listener() as listener:
        argv = [a.format(port=listener.port) for a in args]
        result = run_scrapy("crawl", *argv, *FAST, env=guarded_env(tmp_path), timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: every target is a private address, refused:")
    assert listener.connections == 0


def test_settings_cannot_switch_the_guard_off(tmp_path):
    """A Scrapyd client passes settings: none of them removes the guard."""
    for setting in ("TWISTED_DNS_RESOLVER=scrapy.resolver.CachingThreadedResolver",
                    "DNS_RESOLVER=scrapy.resolver.CachingThreadedResolver",
                    'DOWNLOADER_MIDDLEWARES={"newscrawl.downloadermiddlewares.ssrf.RefusedLookupMiddleware": null}'):
        result = run_scrapy("crawl", "generic", "-a", "url=https://www.tabnak.ir/fa/news/1", "-s", setting,
                            env=guarded_env(tmp_path), timeout=60)
        assert result.returncode == 2, setting
        assert result.stderr.strip().splitlines()[-1].startswith("error: ") and ALLOW_ENV in result.stderr


# -- a name that resolves to 127.0.0.1 ----------------------------------------------------------------------
class Listener:
    """A TCP server on 127.0.0.1 that counts connections and answers each with a 404."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.settimeout(2)
                try:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.sock.close()


MAPPED_NAME = "intranet.test"


@pytest.fixture
def name_env(tmp_path):
    """A crawl environment where MAPPED_NAME resolves to 127.0.0.1 (socket.gethostbyname patched in the crawl
    process by a sitecustomize module): name resolution without any DNS traffic."""
    folder = tmp_path / "site-hook"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(
        "import socket\n_real = socket.gethostbyname\n"
        "def gethostbyname(name):\n"
        f"    return '127.0.0.1' if name.lower() == {MAPPED_NAME!r} else _real(name)\n"
        "socket.gethostbyname = gethostbyname\n", encoding="utf-8")

    def make(**extra):
        env = guarded_env(tmp_path, **extra)
        env["PYTHONPATH"] = f"{folder}:{ROOT}"
        return env

    return make


def test_name_resolving_to_loopback_refused_before_connecting(tmp_path, name_env):
    with Listener() as listener:
        url = f"http://{MAPPED_NAME}:{listener.port}/fa/news/100001"
        log, stats = crawl(tmp_path, "-a", f"url={url}", env=name_env())
    assert listener.connections == 0
    # robots.txt (asked first) and the page, both refused at resolution
    assert stats["newscrawl/ssrf/refused"] == 2
    assert stats["newscrawl/ssrf/refused/loopback"] == 2
    no_download_errors(stats)
    lines = refused_lines(log)
    assert len(lines) == 1 and f": {MAPPED_NAME} (127.0.0.1) is a loopback address;" in lines[0]
    assert "Error downloading" not in log


def test_name_resolving_to_loopback_connects_with_opt_in(tmp_path, name_env):
    """The control: the same crawl with the opt-in does reach the listener (so the test above could fail)."""
    with Listener() as listener:
        url = f"http://{MAPPED_NAME}:{listener.port}/fa/news/100001"
        log, stats = crawl(tmp_path, "-a", f"url={url}", env=name_env(**{ALLOW_ENV: "1"}))
    assert listener.connections >= 2  # robots.txt and the page
    assert "newscrawl/ssrf/refused" not in stats
    assert stats["downloader/response_status_count/404"] >= 1


# -- Chromium's requests (for rendering's abort_request) ----------------------------------------------------
def test_browser_requests_judged_with_their_resolution(no_opt_in, monkeypatch):
    import asyncio

    from newscrawl.downloadermiddlewares.ssrf import browser_request_refused

    def fake_getaddrinfo(host, *args, **kwargs):
        table = {"intranet.test": "127.0.0.1", "metadata.test": "169.254.169.254", "www.tabnak.ir": "185.2.3.4"}
        if host not in table:
            raise socket.gaierror("not found")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], 0))]

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)

    def judge(url):
        return asyncio.run(browser_request_refused(url))

    assert judge("http://intranet.test:8000/x") == "loopback"
    assert judge("https://metadata.test/latest") == "link-local"
    assert judge("http://[::1]/") == "loopback"
    assert judge("http://0x7f.1/") == "loopback"
    assert judge("https://www.tabnak.ir/fa/news/1") is None
    assert judge("https://unknown.test/") is None
    assert judge("data:text/html,hi") is None
    monkeypatch.setenv(ALLOW_ENV, "1")
    assert judge("http://intranet.test/") is None
