"""The one item every site produces, and the one field list: each field's kind, whether it is a list,
whether it is required, what it means and an example are declared here once, as Scrapy Field metadata.

Everything else derives from it: the JSON Schema and README's data dictionary (newscrawl.schema), the
`articles` table (newscrawl.db.store), the required fields (ValidatePipeline), the list fields and the
text the sanitizer cleans (newscrawl.parsing.sanitize). A field declared without a kind is internal: it
is not exported, stored or part of the schema.

Kinds: `name` (an identifier), `code` (a site's id: ASCII letters, digits, - and _), `url` (absolute
http(s)), `text` (one line of human text; markup is stripped), `paragraphs` (text, paragraphs separated
by a blank line), `instant` (ISO 8601 with an offset; `zone` is the one it is written in), `map` (a JSON
object of field name to text: stored as JSON, `jsonb` on PostgreSQL; a JSON cell in CSV and Parquet).
"""

import scrapy

from newscrawl.archives import SOURCES as FETCHED_FROM

_URL = {"format": "iri", "pattern": "^https?://", "maxLength": 2048}
#: the sources a field's value can come from (the `provenance` field), in the order a site's page tries them
SOURCES = ("site", "family", "jsonld", "opengraph", "meta", "generic", "url", "feed")
_INSTANT = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"


def _field(kind: str, description: str, example, *, required: bool = False, nullable: bool = False,
           many: bool = False, sql_length: int | None = None, zone: str | None = None, **rules) -> scrapy.Field:
    """A field of the item: `required` (never null or empty: dropped otherwise), `nullable` (null when
    the page lacks it), `many` (a list, [] when empty), `rules` (JSON Schema keywords for one value),
    `sql_length` (the database column is VARCHAR(n) rather than TEXT)."""
    return scrapy.Field(kind=kind, description=description, example=example, required=required,
                        nullable=nullable, list=many, rules=rules, sql_length=sql_length, zone=zone)


class ArticleItem(scrapy.Item):
    site = _field(
        "name", "The spider name (`scrapy list` shows them); for the `generic` spider, the page's registered "
        "domain, e.g. `tabnak.ir`.", "tabnak", required=True, sql_length=64, pattern="^[a-z0-9][a-z0-9_.-]*$")
    news_code = _field(
        "code", "The site's own news id (`generic`: the code the page shows after «کد خبر», else the URL's id, "
        "else a hash of the URL). Together with `site`, it is the deduplication key.", "818242", required=True,
        sql_length=32, pattern="^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
    url = _field(
        "url", "The canonical article URL: `rel=canonical` when it names the same code, otherwise the short "
        "`/fa/news/<id>`.", "https://www.tabnak.ir/fa/news/818242", required=True, **_URL)
    title = _field("text", "The headline.", "نشست هیئت دولت با محوریت بازار ارز", required=True, minLength=1)
    kicker = _field("text", "The line above the title (rutitr).", "رصدخانه «تابناک»؛", nullable=True,
                    minLength=1)
    lead = _field("text", "The summary under the title.",
                  "سازمان لیگ فوتبال برنامه هفته‌های نخست فصل جدید را اعلام کرد.", nullable=True, minLength=1)
    body = _field(
        "paragraphs", "The article text, paragraphs separated by a blank line. No ads, related news or "
        "navigation.", "بر اساس این برنامه، مسابقات از اوایل مرداد آغاز می‌شود.\n\nسازمان لیگ اعلام کرد ...",
        required=True, minLength=1)
    published_at = _field(
        "instant", "ISO 8601 with the Asia/Tehran offset in force on that date (+04:30 in summer until 2022, "
        "else +03:30). Null when the page gives no usable date.", "2018-07-21T00:20:00+04:30", nullable=True,
        sql_length=32, zone="Asia/Tehran", format="date-time", pattern=_INSTANT + "[+-][0-9]{2}:[0-9]{2}$")
    published_at_raw = _field("text", "The date as shown on the page.", "۳۰ تیر ۱۳۹۷ - ۰۰:۲۰", nullable=True,
                              minLength=1)
    category = _field("text", "The section path, most general first.", ["بین‌الملل", "آسیا"], many=True,
                      minLength=1)
    tags = _field("text", "The article's tags.", ["هیئت دولت", "بازار ارز"], many=True, minLength=1)
    images = _field("url", "Absolute URLs of the images in the article.",
                    ["https://www.tabnak.ir/files/fa/news/1397/4/30/910244_311.jpg"], many=True, **_URL)
    source = _field("text", "The agency the article credits: «به گزارش مهر،» gives `مهر`.", "مهر",
                    nullable=True, minLength=1)
    language = _field("name", "The ISO 639-1 language code of the text.", "fa", sql_length=8,
                      pattern="^[a-z]{2}$")
    crawled_at = _field("instant", "When the article was fetched, in UTC.", "2026-11-25T02:00:00+00:00",
                        sql_length=40, zone="UTC", format="date-time", pattern=_INSTANT + r"(\+00:00|Z)$")
    fetched_from = _field(
        "name", "Where the page's bytes came from: `live` (the site itself), `warc` (a WARC file), "
        "`commoncrawl` or `wayback` (web archives). See docs/archives.md.", "live",
        sql_length=16, pattern=f"^({'|'.join(FETCHED_FROM)})$")  # never null, as `language`: set by the page
    archive_ref = _field(
        "text", "Where in the archive: `<WARC file name>#<record offset>` for a WARC file or Common Crawl, "
        "the `https://web.archive.org/web/<timestamp>id_/<url>` capture for the Wayback Machine; null "
        "when live.", "CC-NEWS-20180722050000-00042.warc.gz#1834221", nullable=True, minLength=1)
    captured_at = _field(
        "instant", "When the page's bytes were captured, in UTC: the archive's capture time, or the fetch "
        "time of a live crawl.", "2018-07-22T05:00:00+00:00", sql_length=40, zone="UTC", format="date-time",
        pattern=_INSTANT + r"(\+00:00|Z)$")
    provenance = _field(
        "map", "Where each field with a value came from: `site` or `family` (the site's or its CMS family's "
        "selectors), `jsonld`, `opengraph` (og:* and article:*), `meta` (other meta tags: Dublin Core, "
        "twitter:*, itemprop, CMS tags), `generic` (the generic page: trafilatura's body, the visible headline, "
        "date and kicker), `url` (the page's URL), `feed` (the listing's "
        "date). Empty fields, and those every page computes alike (site, source, language, crawled_at), are "
        "left out. See docs/reliability.md, \"Fallbacks and provenance\".",
        {"title": "site", "body": "generic", "published_at": "jsonld"}, type="object")
    story_id = _field(
        "name", "The story the article belongs to: articles with this id tell the same story (the same text, "
        "give or take an intro line, a headline or a paragraph), on any site, within a few days. Set when the "
        "article is stored; null until then (`scrapy stories` assigns the rest). See docs/stories.md.",
        "s-5b6882eb98dd903c", nullable=True, sql_length=64, pattern="^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
    copy_of = _field(
        "name", "`<site>:<news_code>` of the article this one copies: the article of the agency it credits "
        "(`source`) when that is in the story, else the story's earliest article. Null for the original and for "
        "an article alone in its story.", "mehr:6123456", nullable=True, sql_length=100,
        pattern="^[a-z0-9][a-z0-9_.-]*:[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")


#: the exported fields, in export order; list fields are always lists, missing scalars None
FIELDS = tuple(name for name, meta in ArticleItem.fields.items() if "kind" in meta)
LIST_FIELDS = tuple(name for name in FIELDS if ArticleItem.fields[name]["list"])
#: never null or empty: ValidatePipeline drops an item without one (`missing_<field>`)
REQUIRED = tuple(name for name in FIELDS if ArticleItem.fields[name]["required"])


def of_kind(*kinds: str, lists: bool | None = None) -> tuple[str, ...]:
    """The fields of these kinds, in item order; `lists` True or False keeps only list or scalar fields."""
    return tuple(name for name in FIELDS if ArticleItem.fields[name]["kind"] in kinds
                 and (lists is None or ArticleItem.fields[name]["list"] == lists))
