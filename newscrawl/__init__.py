"""newscrawl: a Scrapy project that archives Persian news sites, and its extraction as a library:

    from newscrawl import extract, NotAnArticle
    item = extract(html_bytes_or_str, url=None, site=None)

The two names are loaded on first use: `scrapy list` and every crawl import this package, and must not
pay for the library's imports (Scrapy's Crawler, every spider and pipeline)."""

__all__ = ["NotAnArticle", "extract"]


def __getattr__(name: str):
    if name in __all__:
        from newscrawl import api

        return getattr(api, name)
    raise AttributeError(f"module 'newscrawl' has no attribute {name!r}")
