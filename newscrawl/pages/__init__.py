"""Page objects: what a page gives, from its URL, bytes and headers, without Scrapy's engine.

Article pages (`article`: the selector-map families, `generic`: any site) and listing pages (`listing`:
feeds, archives, sitemaps). Which page reads which site: a spider class names its family's page
(`page_class`) and is the site's data (name, domains, selectors, template versions); `site_page` makes
the site's page class from it (newscrawl.offline.page_for_url picks one by the URL's domain). On a host
no site declares, `detect` reads a page whose markup names a CMS family with that family's page. Pages
import nothing of the spiders at import time (`detect` loads a family's spider class, its selectors'
one home, when it first reads a page of that family).
"""

from __future__ import annotations


def site_page(spidercls, root: str | None = None):
    """The article page class of a spider class (`root`: the base_url a crawl reads the site at)."""
    from newscrawl.pages.article import TemplateArticlePage

    family = spidercls.page_class
    if isinstance(family, type) and issubclass(family, TemplateArticlePage):
        return family.for_site(spidercls, root)
    return family
