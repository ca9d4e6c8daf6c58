"""Republished copies on the test site, for the story tests (tests/test_stories_pipeline.py): under
`/republished`, another outlet's copies of demo articles, the way Persian sites republish agency copy.

  /republished/fa/rss/allnews        an RSS feed of the copies
  /republished/fa/news/<id>[/slug]   the copy with news id <id> = COPY_BASE + the demo article's id

Each copy has its own news id and headline, a new first line crediting Tabnak, and is published an hour
after the original; the copy of a four-paragraph article also drops its last paragraph. Crawled with
`scrapy crawl generic -a feed=<site>/republished/fa/rss/allnews`, the copies are site `127.0.0.1`, the
originals (`scrapy crawl tabnak -a base_url=<site>`) site `tabnak`.
"""

from __future__ import annotations

from dataclasses import replace

from testkit.demo.build import BY_ID, Article, render_article, render_rss
from testkit.routes import NOT_FOUND, news_id, route

PREFIX = "/republished"
COPY_BASE = 700_000
#: the demo articles republished (dated, with a body of three or four paragraphs)
ORIGINALS = (818230, 818233, 818240, 818242, 818244)
INTRO = "به گزارش تابناک، این خبر ساعتی پیش منتشر شد و در ادامه می‌خوانید."


def copy_of(original: Article) -> Article:
    """The republished copy of a demo article (see the module docstring)."""
    paragraphs = original.paragraphs[:3] if len(original.paragraphs) == 4 else original.paragraphs
    hour = int(original.clock[:2]) + 1
    day, hour = (original.day + 1, hour - 24) if hour >= 24 else (original.day, hour)
    return replace(original, id=COPY_BASE + original.id, day=day, clock=f"{hour:02d}{original.clock[2:]}",
                   title=f"گزارش: {original.title}", paragraphs=(INTRO, *paragraphs), comments=(),
                   headline=None, tags=())


COPIES = {COPY_BASE + i: copy_of(BY_ID[i]) for i in ORIGINALS}


@route(PREFIX)
def republished(req, rest: str, query) -> None:
    if rest == "/fa/rss/allnews":
        req.reply(200, render_rss(list(COPIES.values()), link_base=req.base, prefix=PREFIX),
                  "text/xml; charset=utf-8")
        return
    copy = COPIES.get(news_id(rest))
    if copy is None:
        req.reply(404, NOT_FOUND)
        return
    req.reply(200, render_article(copy, prefix=PREFIX))
