"""Which stored sites are the agency a `source` credits («مهر» → the `mehr` spider and mehrnews.com).

`source` is produced by newscrawl.parsing.text.credited_source: a name of its AGENCIES list, each with the
registered domains the agency publishes on. A stored article's `site` is a spider's name (a declared site)
or a registered domain (the generic spider), so an agency is both its domains and the names of the declared
spiders on those domains.
"""

from __future__ import annotations

from functools import cache

from newscrawl.parsing.text import AGENCIES


@cache
def _spider_domains() -> dict[str, tuple[str, ...]]:
    """Declared spider name → its allowed domains (imported on first use: the spiders pull in Scrapy)."""
    from newscrawl.spiders import sites

    found = {}
    for value in vars(sites).values():
        name, domains = getattr(value, "name", None), getattr(value, "allowed_domains", None)
        if isinstance(name, str) and domains and isinstance(value, type):
            found[name] = tuple(d.lower().removeprefix("www.") for d in domains)
    return found


@cache
def sites_of(agency: str | None) -> frozenset[str]:
    """The `site` values an article of the credited `agency` can carry; empty for an unknown name."""
    domains = AGENCIES.get(agency or "", ())
    if not domains:
        return frozenset()
    names = {name for name, own in _spider_domains().items()
             if any(d == o or o.endswith("." + d) or d.endswith("." + o) for d in domains for o in own)}
    return frozenset({*domains, *names})
