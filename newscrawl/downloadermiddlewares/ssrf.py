"""No requests to private addresses (SSRF), and offsite checks that compare ports.

Why: under Scrapyd any `schedule.json` client chooses `url`, `feed`, `sitemap` and `base_url`, and pages
choose their links and redirects, so without this a crawl fetches (and stores) whatever answers on the
crawler's own network: 127.0.0.1:6379, 10.x, the cloud metadata service at 169.254.169.254. Scrapy has no
such guard, so it is ours, in three parts that each act before any connection is made:

- `PrivateAddressMiddleware` (a downloader middleware placed before robots.txt and the offline HTTP cache)
  refuses every request whose host is a literal loopback, private, link-local, multicast, reserved,
  unspecified or otherwise non-global address, in any form the URL parser lets through (``[::1]``,
  ``::ffff:127.0.0.1``, ``2130706433``, ``0x7f.1``, ``0177.0.0.1``, ``127.1``) or ``localhost``. It never
  resolves names (the offline replay answers the demo's www.tabnak.ir with no DNS). Redirects pass it again:
  RedirectMiddleware's new request goes through the whole chain. It also refuses links to a given host on
  another port (Scrapy's OffsiteMiddleware compares host names only).
- `GuardedResolver` (TWISTED_DNS_RESOLVER, Scrapy's CachingThreadedResolver) refuses a name that
  resolves to such an address; the address checked is the one Twisted connects to (no DNS rebinding gap).
- `RefusedLookupMiddleware` turns that refusal into a counted, logged IgnoreRequest before Scrapy's
  retry and stats middlewares see a DNS error.

Every refusal counts in `newscrawl/ssrf/refused` and `newscrawl/ssrf/refused/<reason>`, and logs one
WARNING per host with the URL. The only opt-in is the crawl process's environment variable
NEWSCRAWL_ALLOW_PRIVATE=1 (not a setting: a Scrapyd client passes settings, not environment), which the
local test site needs. Without it, a crawl whose settings remove these components stops at start, and a
crawl whose given targets are all private stops with one line and exit 2 (`preflight`).
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import getproxies

from scrapy import signals
from scrapy.exceptions import IgnoreRequest
from scrapy.resolver import CachingThreadedResolver
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.error import DNSLookupError

try:  # Scrapy 2.14+ wraps Twisted's DNSLookupError in its own
    from scrapy.exceptions import CannotResolveHostError
except ImportError:  # pragma: no cover
    CannotResolveHostError = DNSLookupError
LOOKUP_ERRORS = (DNSLookupError, CannotResolveHostError)

logger = logging.getLogger(__name__)

ALLOW_ENV = "NEWSCRAWL_ALLOW_PRIVATE"
MIDDLEWARE = "newscrawl.downloadermiddlewares.ssrf.PrivateAddressMiddleware"
LOOKUP_MIDDLEWARE = "newscrawl.downloadermiddlewares.ssrf.RefusedLookupMiddleware"
RESOLVER = "newscrawl.downloadermiddlewares.ssrf.GuardedResolver"
#: the spider arguments that name what a crawl fetches first
TARGET_ARGS = ("url", "urls", "urls_file", "feed", "sitemap", "base_url")
DEFAULT_PORTS = {"http": 80, "https": 443}
HINT = f"set {ALLOW_ENV}=1 in the crawl's environment to allow private addresses"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
#: NAT64 (RFC 6052): the last 32 bits are an IPv4 address the gateway connects to
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: what socket.inet_aton reads as IPv4 besides dotted quads: 2130706433, 0x7f.1, 0177.0.0.1, 127.1
_ODD_IPV4 = re.compile(r"[0-9][0-9a-fx.]*", re.IGNORECASE)


class PrivateAddressRefused(IgnoreRequest):
    """A request refused because it would reach a private address (never retried, never logged by Scrapy
    as a download error)."""


def private_allowed() -> bool:
    return os.environ.get(ALLOW_ENV) == "1"


# -- classifying addresses and hosts (pure) -----------------------------------------------------------
def address_reason(ip: Address) -> str | None:
    """Why a crawl must not connect to `ip` («loopback», «private», «link-local», «multicast»,
    «reserved», «unspecified», «not global»), or None for a global unicast address. An IPv6 address that
    carries an IPv4 one (mapped, 6to4, Teredo, NAT64) is refused when the IPv4 one is."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # the socket connects to the IPv4 address itself
            return address_reason(ip.ipv4_mapped)
        embedded = [ip.sixtofour, *(ip.teredo or ())]
        if ip in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
        for v4 in embedded:
            reason = v4 is not None and address_reason(v4)
            if reason:
                return reason
    for reason, flag in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                         ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                         ("private", ip.is_private), ("reserved", ip.is_reserved),
                         ("not global", not ip.is_global)):
        if flag:
            return reason
    return None


def literal_address(host: str) -> Address | None:
    """The address a URL host names without DNS: an IP literal (brackets, zone and one trailing dot
    allowed) or a form the C library's inet_aton reads as IPv4 (getaddrinfo accepts them too)."""
    text = host.strip().strip("[]").rstrip(".").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _ODD_IPV4.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def host_reason(host: str) -> tuple[str | None, str]:
    """(reason, address) for a URL host judged without DNS: a literal address, or `localhost` and its
    subdomains (RFC 6761: always loopback). (None, "") for other names and public addresses."""
    name = host.strip().rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return "loopback", name
    ip = literal_address(name)
    reason = address_reason(ip) if ip is not None else None
    return (reason, str(ip)) if reason else (None, "")


def describe(reason: str) -> str:
    return f"{'an' if reason[0] in 'aeiou' else 'a'} {reason} address"


def _split(value) -> list[str]:
    return [v for v in re.split(r"[,\s]+", str(value or "")) if v]


def given_targets(spargs: dict) -> list[tuple[str, str]]:
    """(argument, URL) for every target the spider arguments name; an unreadable urls_file names none
    (the spider's own check reports it)."""
    found: list[tuple[str, str]] = []
    for name in TARGET_ARGS:
        value = spargs.get(name)
        if not value:
            continue
        if name == "urls_file":
            try:
                lines = Path(str(value)).read_text(encoding="utf-8").splitlines()
            except (OSError, UnicodeDecodeError):
                continue
            found += [(name, line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#")]
        else:
            found += [(name, v) for v in _split(value)]
    return found


def refused_targets(spargs: dict) -> str | None:
    """One line when every target the arguments name is a private address (judged without DNS), so the
    crawl would fetch nothing: `scrapy crawl` prints it and exits 2. None otherwise, or with the opt-in."""
    if private_allowed():
        return None
    targets = given_targets(spargs)
    refused = []
    for name, url in targets:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            return None  # not a URL: the spider's own check says so
        reason, _ = host_reason(host)
        if reason is None:
            return None
        refused.append(f"{name} {url} ({reason})")
    if not refused:
        return None
    more = f" and {len(refused) - 1} more" if len(refused) > 1 else ""
    return f"every target is a private address, refused: {refused[0]}{more}; {HINT}"


def disabled_by_settings(settings) -> str | None:
    """One line when the settings remove the guards (a Scrapyd client can pass any setting), unless the
    environment opts in."""
    if private_allowed():
        return None
    from scrapy.settings import SETTINGS_PRIORITIES
    from scrapy.utils.conf import build_component_list
    from scrapy.utils.misc import load_object

    dns_priority = settings.getpriority("DNS_RESOLVER") or 0
    if dns_priority > SETTINGS_PRIORITIES["default"] and dns_priority >= (
            settings.getpriority("TWISTED_DNS_RESOLVER") or 0):
        resolver = settings.get("DNS_RESOLVER")  # Scrapy's own rule for the deprecated name
    else:
        resolver = settings.get("TWISTED_DNS_RESOLVER")
    enabled = {load_object(c) if isinstance(c, str) else c
               for c in build_component_list(settings.getwithbase("DOWNLOADER_MIDDLEWARES"))}
    resolver_cls = load_object(resolver) if isinstance(resolver, str) else resolver
    if not (isinstance(resolver_cls, type) and issubclass(resolver_cls, GuardedResolver)):
        return f"the DNS resolver must be {RESOLVER} (refuses private addresses); {HINT}"
    for path in (MIDDLEWARE, LOOKUP_MIDDLEWARE):
        if load_object(path) not in enabled:
            return f"downloader middleware {path} must stay enabled (refuses private addresses); {HINT}"
    return None


def preflight(settings, spargs: dict) -> str | None:
    """For `scrapy crawl`: the guards' settings, then the given targets."""
    return disabled_by_settings(settings) or refused_targets(spargs)


async def browser_request_refused(url: str) -> str | None:
    """For Chromium's requests (scrapy-playwright's abort_request): why `url` must not load, or None.

    Chromium resolves names itself, past GuardedResolver, so this resolves the host too (getaddrinfo in a
    thread) and refuses it when any address is private. Chromium then resolves again: a name whose DNS
    answer changes in between (rebinding) is not caught, and Playwright does not route redirects."""
    if private_allowed():
        return None
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return "not a URL"
    if not host or urlsplit(url).scheme not in ("http", "https", "ws", "wss"):
        return None  # data:, blob: and the like load nothing from the network
    reason, _ = host_reason(host)
    if reason or literal_address(host) is not None:
        return reason
    import asyncio

    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return None  # Chromium will not resolve it either
    for info in infos:
        reason = address_reason(ipaddress.ip_address(info[4][0].split("%", 1)[0]))
        if reason:
            return reason
    return None


# -- ports ------------------------------------------------------------------------------------------------
def origin_port(parts) -> int | None:
    """A URL's port when it is not its scheme's default (80 and 443 count as one, "the web's"), else None."""
    try:
        port = parts.port
    except ValueError:
        return -1  # a port that is no number: on no list
    return None if port is None or port == DEFAULT_PORTS.get(parts.scheme) else port


def given_urls(spider) -> list[str]:
    """The URLs a spider was started from: its root (base_url) and the generic spider's sources."""
    options = getattr(spider, "options", None) or {}
    urls = [getattr(spider, "root", "") or ""]
    for key in ("urls", "feeds", "sitemaps"):
        urls += list(options.get(key) or [])
    return [u for u in urls if u]


def port_allowed(host: str, port: int | None, given: list[str], domains) -> bool:
    """Whether a request to host:port may go, given the spider's start URLs: when a start URL names this
    host, a subdomain or a parent of it, or shares one of the spider's allowed domains with it, the port
    must be one of those start URLs' ports. Hosts related to no start URL are left to Scrapy's offsite."""
    from newscrawl.pages.common import on_domain

    related = set()
    for url in given:
        parts = urlsplit(url)
        other = (parts.hostname or "").lower()
        if (on_domain(host, [other]) or on_domain(other, [host])
                or any(on_domain(host, [d]) and on_domain(other, [d]) for d in domains or ())):
            related.add(origin_port(parts))
    return not related or port in related


# -- the crawl's components ---------------------------------------------------------------------------
#: names GuardedResolver refused, {name: (address, reason)}: the resolver belongs to the process, not to a
#: crawler, so it cannot count; RefusedLookupMiddleware counts and logs when the lookup error reaches it
REFUSED_NAMES: dict[str, tuple[str, str]] = {}


def proxy_hosts() -> set[str]:
    """Proxies named by the environment (http_proxy...) may be private: they resolve names themselves."""
    return {(urlsplit(p if "://" in p else "//" + p).hostname or "").lower() for p in getproxies().values()}


class GuardedResolver(CachingThreadedResolver):
    """Scrapy's default resolver, refusing names that resolve to a private address (a DNSLookupError,
    which RefusedLookupMiddleware recognises by REFUSED_NAMES). IPv4 only, like its parent."""

    def getHostByName(self, name: str, timeout=()):
        d = super().getHostByName(name, timeout)
        if private_allowed() or name.lower() in proxy_hosts():
            return d
        d.addCallback(self._check, name)
        return d

    @staticmethod
    def _check(address: str, name: str) -> str:
        reason = address_reason(ipaddress.ip_address(address))
        if reason:
            REFUSED_NAMES[name.lower()] = (address, reason)
            raise DNSLookupError(f"{name} resolves to {address}, {describe(reason)}: refused")
        return address


class _Refusals:
    """Counting and logging shared by both middlewares (one WARNING per host)."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.stats = crawler.stats
        self.allowed = private_allowed()
        self.logged: set[str] = set()

    def refuse(self, request, host: str, address: str, reason: str):
        self.stats.inc_value("newscrawl/ssrf/refused")
        self.stats.inc_value(f"newscrawl/ssrf/refused/{reason}")
        if host not in self.logged:
            self.logged.add(host)
            shown = host if address in ("", host) else f"{host} ({address})"
            logger.warning("refused %s: %s is %s; %s", request.url, shown, describe(reason), HINT)
        raise PrivateAddressRefused(f"{request.url}: {describe(reason)}")


class PrivateAddressMiddleware(_Refusals):
    """Downloader middleware (before robots.txt and the HTTP cache): literal private addresses, and ports."""

    def __init__(self, crawler):
        super().__init__(crawler)
        self.given: list[str] = []
        self.domains: list[str] = []
        self.ports_logged: set[tuple[str, int | None]] = set()
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def spider_opened(self, spider):
        self.given = given_urls(spider)
        self.domains = list(getattr(spider, "allowed_domains", None) or [])

    def process_request(self, request, spider=None):
        parts = urlparse_cached(request)
        host = (parts.hostname or "").lower()
        if not self.allowed:
            reason, address = host_reason(host)
            if reason:
                self.refuse(request, host, address, reason)
        port = origin_port(parts)
        if self.given and not port_allowed(host, port, self.given, self.domains):
            self.stats.inc_value("newscrawl/offsite/port")
            if (host, port) not in self.ports_logged:
                self.ports_logged.add((host, port))
                logger.info("filtered offsite request to another port of %s: %s", host, request.url)
            raise IgnoreRequest(f"offsite port: {request.url}")
        return None


class RefusedLookupMiddleware(_Refusals):
    """Downloader middleware (after DownloaderStats, 850, so before retry and stats see it): the DNS error
    of a name GuardedResolver refused becomes a counted PrivateAddressRefused."""

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def process_exception(self, request, exception, spider=None):
        if self.allowed or not isinstance(exception, LOOKUP_ERRORS):
            return None
        host = (urlparse_cached(request).hostname or "").lower()
        refused = REFUSED_NAMES.get(host)
        if refused is None:
            return None
        self.refuse(request, host, refused[0], refused[1])
        return None
