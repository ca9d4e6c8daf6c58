"""The test site's route table and the pieces its handlers share.

Why a module of its own: the server (testkit.testsite) serves the corners (testkit.hostile,
testkit.jspages) and so imports them; the corners import this table to register on, never the server, so
no module imports one that imports it back.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from http.server import BaseHTTPRequestHandler

from testkit.demo.build import ARTICLES, Article

HTML = "text/html; charset=utf-8"
NOT_FOUND = "<html><body>404 Not Found</body></html>\n"

#: a handler gets the request (testkit.testsite.SiteHandler), the rest of the path after its prefix, the query
Handler = Callable[[BaseHTTPRequestHandler, str, dict[str, list[str]]], None]
#: path prefix → handler; the longest matching prefix wins
ROUTES: dict[str, Handler] = {}


def route(prefix: str) -> Callable[[Handler], Handler]:
    """Register the decorated handler for the paths under `prefix`."""
    def register(func: Handler) -> Handler:
        ROUTES[prefix] = func
        return func

    return register


_ARTICLE_PATH = re.compile(r"/fa/news/(\d+)(?:/[^/]*)?")
#: demo articles whose text /hostile, /broken, /js and /jsgate borrow
_BORROWED = [a for a in ARTICLES if a.body and not a.shown_date]


def news_id(rest: str) -> int:
    """The id in an article path («/fa/news/818242/slug»), 0 when `rest` is not one."""
    m = _ARTICLE_PATH.fullmatch(rest)
    return int(m[1]) if m else 0


def borrowed_article(news_id: int, label: str, title: str | None = None,
                     paragraphs: tuple[str, ...] | None = None) -> Article:
    """A demo-structured article with its own id, its title «<a demo title> (<label>)» unless given,
    and a demo article's text."""
    t = _BORROWED[news_id % len(_BORROWED)]
    return replace(t, id=news_id, title=title or f"{t.title} ({label})", paragraphs=paragraphs or t.paragraphs,
                   comments=(), shown_date=None, body=True, headline=None)
