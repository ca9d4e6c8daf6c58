"""Page objects: what a page gives, from its URL, bytes and headers, without Scrapy's engine.

Article pages (`article`: the selector-map families, `generic`: any site) and listing pages (`listing`:
feeds, archives, sitemaps). Which page reads which site: a spider class names its family's page
(`page_class`) and is the site's data (name, domains, selectors, template versions); `site_page` makes
the site's page class from it (newscrawl.offline.page_for_url picks one by the URL's domain). Pages import
nothing of the spiders.
"""

from __future__ import annotations


def site_page(spidercls, root: str | None = None):
    """The article page class of a spider class (`root`: the base_url a crawl reads the site at)."""
    from newscrawl.pages.article import TemplateArticlePage

    family = spidercls.page_class
    if isinstance(family, type) and issubclass(family, TemplateArticlePage):
        return family.for_site(spidercls, root)
    return family
