"""JavaScript corners of the local test site, for newscrawl.downloadermiddlewares.rendering (tests/test_browser.py).

Why: some Iranian sites fill their listings with JavaScript or answer with a JavaScript cookie challenge
(ArvanCloud). These routes do the same on 127.0.0.1, with nothing loaded from elsewhere:

- `/js/fa/archive`: an empty page whose script inserts the article links (`JS_IDS`) after a moment;
  the articles themselves are plain pages. Crawl it with
  `scrapy crawl tabnak -a base_url=http://127.0.0.1:PORT/js -a mode=archive -a since=1397/04/29`.
- `/jsgate/fa/archive`: a plain listing of `GATE_PLAIN` (a plain article) and `GATE_CHALLENGED` (behind
  the challenge). The challenge answers 403, sets an HTTP cookie, and its script sets `__arcsjs` to a
  computed value and reloads; with both cookies the server sends the real article.
- `/jsgate/fa/news/<GATE_REFUSED>`: a challenge that never lets anyone through (rendering cannot help).

Handlers are registered on the test site with testkit.routes' `@route`, like testkit.hostile.
"""

from __future__ import annotations

import json
from http.cookies import SimpleCookie

from testkit import routes
from testkit.demo.build import Article, fa, render_archive, render_article

JS_PREFIX = "/js"
GATE_PREFIX = "/jsgate"
JS_IDS = (720001, 720002)
GATE_PLAIN = 730001
GATE_CHALLENGED = 730002
GATE_REFUSED = 730003
#: the challenge's sum, computed by its script; the server wants it back in the __arcsjs cookie
CHALLENGE_ANSWER = str(17 * 23 + 4)
SESSION_COOKIE = "__arcsid"
def article(news_id: int) -> Article:
    """A demo-structured article with its own id and title (text borrowed from the demo)."""
    return routes.borrowed_article(news_id, f"نسخه {fa(news_id % 1000)}")


def js_listing() -> str:
    """An empty shell: no links in the HTML, a script that inserts them."""
    links = [{"href": f"{JS_PREFIX}/fa/news/{i}/{article(i).slug}", "title": article(i).title} for i in JS_IDS]
    return f"""<!DOCTYPE html>
<html lang="fa-IR" dir="rtl"><head><meta charset="utf-8"><title>آرشیو</title></head>
<body><div id="app"><div class="archive_content"></div></div>
<script>
var items = {json.dumps(links, ensure_ascii=False)};
setTimeout(function () {{
  var box = document.querySelector(".archive_content");
  items.forEach(function (it) {{
    var row = document.createElement("div"); row.className = "linear_news";
    var a = document.createElement("a"); a.className = "title5"; a.href = it.href; a.textContent = it.title;
    row.appendChild(a); box.appendChild(row);
  }});
}}, 150);
</script></body></html>
"""


def challenge_page(refuse: bool) -> str:
    """ArvanCloud-like: set the __arcsjs cookie from a computation, then reload (once, when refused)."""
    value = "'refused'" if refuse else "(17 * 23 + 4)"
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>...</title></head>
<body><noscript>Please enable JavaScript.</noscript>
<script>
(function () {{
  if ({'true' if refuse else 'false'} && document.cookie.indexOf("__arcsjs=") >= 0) return;
  document.cookie = "__arcsjs=" + {value} + "; path=/";
  setTimeout(function () {{ location.reload(); }}, 200);
}})();
</script></body></html>
"""


def _cookies(req) -> dict[str, str]:
    jar = SimpleCookie()
    jar.load(req.headers.get("Cookie", ""))
    return {k: m.value for k, m in jar.items()}


@routes.route(JS_PREFIX)
def js_site(req, rest: str, query) -> None:
    if rest.startswith("/fa/archive"):
        req.reply(200, js_listing())
    elif routes.news_id(rest) in JS_IDS:
        req.reply(200, render_article(article(routes.news_id(rest)), prefix=JS_PREFIX))
    else:
        req.reply(404, routes.NOT_FOUND)


@routes.route(GATE_PREFIX)
def gate_site(req, rest: str, query) -> None:
    news_id = routes.news_id(rest)
    if rest.startswith("/fa/archive"):
        links = [(f"{GATE_PREFIX}/fa/news/{i}", article(i)) for i in (GATE_PLAIN, GATE_CHALLENGED)]
        req.reply(200, render_archive(links, prefix=GATE_PREFIX))
    elif news_id == GATE_PLAIN:
        req.reply(200, render_article(article(news_id), prefix=GATE_PREFIX))
    elif news_id in (GATE_CHALLENGED, GATE_REFUSED):
        cookies = _cookies(req)
        if news_id == GATE_CHALLENGED and cookies.get("__arcsjs") == CHALLENGE_ANSWER and cookies.get(
                SESSION_COOKIE):
            req.reply(200, render_article(article(news_id), prefix=GATE_PREFIX))
        else:
            req.reply(403, challenge_page(refuse=news_id == GATE_REFUSED),
                      headers={"Set-Cookie": f"{SESSION_COOKIE}=s{news_id}; Path=/"})
    else:
        req.reply(404, routes.NOT_FOUND)
