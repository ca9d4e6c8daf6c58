"""What every article page shares, whichever way it reads a page: the item's fields in order, provenance,
the fields computed alike (source, language, crawled_at), the domain and rebase rules, and the lines that
are never article text. Its own module so the template pages (newscrawl.pages.article) and the generic
page (newscrawl.pages.generic) both build on it, and a template page can fall back to the generic one
without an import cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from newscrawl.items import FIELDS
from newscrawl.pages.base import Page, field
from newscrawl.parsing.text import credited_source

#: a closing line that is not article text
SIGNOFF_RE = r"(انتهای پیام|انتهای خبر|پایان خبر)\s*[/.]?"
#: a "read more" box inside the body links elsewhere (Khabaronline's «بیشتر بخوانید:»)
READ_MORE_RE = r"\s*(بیشتر بخوانید|بخوانید|پیشنهاد ما|مطالب مرتبط)\s*:"


def on_domain(host: str | None, domains) -> bool:
    """Whether `host` is one of `domains` or a subdomain of one (the one rule for every domain check)."""
    host = host or ""
    return any(d and (host == d or host.endswith("." + d)) for d in domains)


def rebase(url: str, real_base: str, root: str) -> str:
    """Point an absolute link on the real site (`real_base`) at `root` (e.g. the local test site)."""
    if root == real_base:
        return url
    parts = urlsplit(url)
    real_host = (urlsplit(real_base).hostname or "").removeprefix("www.")
    if parts.hostname and on_domain(parts.hostname, [real_host]):
        base = urlsplit(root)
        return urlunsplit((base.scheme, base.netloc, base.path.rstrip("/") + parts.path, parts.query, ""))
    return url


class ArticlePage(Page):
    """A page whose item is an article: the schema's fields (newscrawl.items.FIELDS), in its order; the
    fields every article page computes alike are here, the others in each family's class."""

    fields = FIELDS  # the item's order, whichever class declares a field

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        #: field name -> the source its value came from (newscrawl.items.SOURCES), as each field is read
        self.sources: dict[str, str] = {}

    def took(self, name: str, source: str, value):
        """`value`, recording `source` as where field `name` came from when it is not empty."""
        if value:
            self.sources[name] = source
        return value

    def to_item(self) -> dict:
        """Every field, in declaration order; `provenance` last, from what the others recorded.
        `captured_at` is the page's hint (an archived copy's capture time) in UTC, else crawled_at: a
        live page is captured when it is read. `fetched_from` and `archive_ref` say live here: a crawl
        of an archive sets them from the request's meta (newscrawl.spiders.base.BaseSpider).
        `story_id` and `copy_of` are null: set when the article is stored (newscrawl.pipelines.stories)."""
        item = {name: getattr(self, name) for name in self.fields if name != "provenance"}
        if "captured_at" in item:
            item["captured_at"] = utc_instant(self.captured_at) or item.get("crawled_at") or self.now()
        item["provenance"] = {name: self.sources[name] for name in self.fields
                              if name in self.sources and item.get(name)}
        return {name: item[name] for name in self.fields}

    @staticmethod
    def now() -> str:
        """crawled_at: when the item was made."""
        return datetime.now(UTC).isoformat(timespec="seconds")

    #: the site's own domains: a credit to the site itself («به گزارش ایسنا،» on isna.ir) is no source
    own_domains: tuple[str, ...] = ()

    @field
    def source(self) -> str | None:
        """The agency the body credits («به گزارش مهر،» → مهر), unless it is the site itself."""
        return credited_source(self.body, self.own_domains) if self.body else None

    @field
    def language(self) -> str:
        return "fa"

    @field
    def crawled_at(self) -> str:
        return self.now()

    @field
    def fetched_from(self) -> str:
        return "live"

    @field
    def archive_ref(self) -> str | None:
        return None

    @field
    def story_id(self) -> None:
        """Null: a story depends on the other stored articles, not on the page; it is set when the article
        is stored (newscrawl.pipelines.stories)."""
        return None

    @field
    def copy_of(self) -> None:
        """Null, as story_id."""
        return None


def utc_instant(value: str | datetime | None) -> str | None:
    """A capture time (a datetime or ISO 8601 text; naive is UTC) as crawled_at's form, UTC to the second;
    text that is no date is kept as it is, for the item schema to refuse loudly."""
    if not value:
        return None
    moment = value
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def meta_source(name: str) -> str:
    """The provenance of a <meta> named `name`: `opengraph` for og:* and article:* (og:article:* read as
    article:*), `meta` for any other (Dublin Core DC.* / dcterms.*, twitter:*, itemprop, a CMS's own)."""
    return "opengraph" if name.startswith(("og:", "article:")) else "meta"
