"""`scrapy summary [--brief] [--days N] [--stories N] [--runs N] [--html FILE]`: what the database holds, at a
glance.

Articles per site and per Tehran publication day (a text histogram), field coverage per site, the date
range, the newest items, the biggest stories of the histogram's days (newscrawl.stories: the most sites
first; the headline of each story's earliest article) and the last crawls per spider from the `crawls`
table (newscrawl.db.history), failed ones marked FAILED. Everything is counted by the database (GROUP BY),
so a large table costs one scan and no memory here. `--html` writes the same as one self-contained page: an inline SVG chart, no scripts and
no external files, every stored value escaped, links only to http(s) URLs, and a Content-Security-Policy
that forbids scripts and fetches, so it can be mailed or archived as is.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import sys

from scrapy.commands import ScrapyCommand

from newscrawl.items import FIELDS
from newscrawl.parsing.dates import jalali_str

BAR = "█"
COLORS = ("#3b6ea5", "#d9822b", "#4f9a5b", "#b5495b", "#7c5fa8", "#8a6d3b", "#2a9d9d", "#c2a500")


def gather(engine, days: int = 14, newest: int = 5, stories: int = 10) -> dict:
    """Counts per site and day, coverage per site, date range and the newest items, all counted in SQL
    (newscrawl.db.store.summary_counts), and the `stories` biggest stories first published in the window.

    A day is the publication day in Tehran. `days` is the histogram's window: that many calendar days
    ending on the newest publication day."""
    from newscrawl.db.store import summary_counts

    counted = summary_counts(engine, newest)
    per_site_day, coverage_rows = counted["per_site_day"], counted["coverage"]
    per_site: dict[str, int] = {}
    undated: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}
    for site, on, n in per_site_day:
        per_site[site] = per_site.get(site, 0) + n
        if on and len(on) == 10:
            counts.setdefault(on, {})[site] = n
        else:
            undated[site] = undated.get(site, 0) + n
    sites = sorted(per_site, key=lambda s: (-per_site[s], s))
    window: list[str] = []
    if counts:
        end = dt.date.fromisoformat(max(counts))
        window = [(end - dt.timedelta(days=i)).isoformat() for i in range(max(1, days) - 1, -1, -1)]
    total = sum(per_site.values())
    filled = {row[0]: (row[1], [int(n or 0) for n in row[2:]]) for row in coverage_rows}  # plain ints for JSON
    coverage = {}
    for i, name in enumerate(FIELDS):
        shares = {site: filled[site][1][i] / filled[site][0] for site in sites}
        coverage[name] = {"all": sum(filled[s][1][i] for s in sites) / total if total else 0.0, **shares}
    return {
        "total": total,
        "sites": sites,
        "per_site": {s: per_site[s] for s in sites},
        "undated": {s: undated[s] for s in sites if s in undated},
        "per_day": {d: {s: counts.get(d, {}).get(s, 0) for s in sites} for d in window},
        "older": sum(n for d, c in counts.items() if window and d < window[0] for n in c.values()),
        "coverage": coverage,
        "first_published": counted["first"],
        "last_published": counted["last"],
        "last_crawled": counted["crawled"],
        "newest": counted["newest"],
        "stories": biggest_stories(engine, window, stories),
    }


def biggest_stories(engine, window: list[str], limit: int) -> list[dict] | None:
    """The `limit` biggest stories (newscrawl.stories.StoryIndex.biggest) whose first article is in the
    window's days; None when none are asked for."""
    if limit < 1:
        return None
    if not window:
        return []
    from newscrawl.stories import StoryIndex

    since, until = dt.date.fromisoformat(window[0]), dt.date.fromisoformat(window[-1])
    return StoryIndex(engine).biggest(since=since, until=until, limit=limit)


def recent_runs(engine, per_spider: int) -> dict[str, list[dict]]:
    """The last runs per spider from the `crawls` table (newscrawl.db.history), times as text for JSON."""
    from newscrawl.db.history import last_runs

    if per_spider < 1:
        return {}
    return {spider: [{k: (str(v) if k in ("started_at", "finished_at") and v is not None else v)
                      for k, v in run.items()} for run in runs]
            for spider, runs in last_runs(engine, per_spider).items()}


def _jalali(day: str) -> str:
    return jalali_str(dt.date.fromisoformat(day))


def brief(s: dict) -> str:
    sites = ", ".join(f"{k} {v}" for k, v in s["per_site"].items()) or "none"
    return (f"{s['total']} articles in the database ({sites}); published "
            f"{s['first_published'] or '-'} … {s['last_published'] or '-'}")


def render_text(s: dict, width: int = 40) -> str:
    """The terminal report; histogram bars scale to the busiest day shown."""
    sites = s["sites"]
    undated = sum(s["undated"].values())
    lines = [f"{s['total']} articles from {len(sites)} site{'s' * (len(sites) != 1)}",
             f"published {s['first_published'] or '-'} … {s['last_published'] or '-'}"
             + (f" ({undated} without a date)" if undated else ""),
             f"last crawled {s['last_crawled'] or '-'}", "", "per site:"]
    top_site = max(s["per_site"].values(), default=0)
    name_w = max([len(x) for x in sites] + [6])
    lines += [f"  {site:<{name_w}} {n:>7}  {BAR * max(1, round(width * n / top_site))}"
              for site, n in s["per_site"].items()]
    if s["per_day"]:
        first, last = next(iter(s["per_day"])), next(reversed(s["per_day"]))
        lines += ["", f"per day (Tehran publication day, {first} … {last}):",
                  "  day        jalali     " + "".join(f"{x:>{max(len(x), 5) + 1}}" for x in sites) + "   total"]
        top = max(sum(c.values()) for c in s["per_day"].values()) or 1
        for day, by_site in s["per_day"].items():
            n = sum(by_site.values())
            cells = "".join(f"{by_site[x]:>{max(len(x), 5) + 1}}" for x in sites)
            lines.append(f"  {day} {_jalali(day)} {cells} {n:>7}  {BAR * round(width * n / top) if n else ''}".rstrip())
        if s["older"]:
            lines.append(f"  ({s['older']} articles on earlier days; --days shows more)")
    lines += ["", "field coverage:", f"  {'field':<18}{'all':>7}" + "".join(f"{x:>{max(len(x), 6) + 1}}" for x in sites)]
    for name, shares in s["coverage"].items():
        cells = "".join(f"{_pct(shares[x]):>{max(len(x), 6) + 1}}" for x in sites)
        lines.append(f"  {name:<18}{_pct(shares['all']):>7}{cells}")
    lines += ["", "newest:"]
    lines += [f"  {n['published_at']}  {n['site']}/{n['news_code']}  {n['title']}" for n in s["newest"]]
    if s.get("stories") is not None:  # None: --stories 0
        lines += ["", "biggest stories (first published in the days above; sites, articles, first … last "
                  "publication):"]
        lines += [f"  {n['sites']:>3} {n['articles']:>5}  {_when(n['first'])} … {_when(n['last'])}  {n['title']}"
                  for n in s["stories"]] or ["  none (`scrapy stories` assigns stories to stored articles)"]
    lines += ["", "recent crawls (newest first; FAILED: exit code not 0):"]
    lines += [f"  {_run_line(spider, run)}" for spider, runs in s.get("runs", {}).items() for run in runs] \
        or ["  none recorded"]
    return "\n".join(lines)


def _when(value) -> str:
    return str(value or "-")[:19].replace("T", " ")


def _run_line(spider: str, run: dict) -> str:
    """One recorded crawl: when, how it ended, what it stored, and FAILED with the reasons."""
    from newscrawl.db.history import failed

    verdict = "FAILED" if failed(run) else "ok"
    why = "; ".join(run.get("health_failures") or [])
    if run.get("finish_reason") not in ("finished", None) and not why:
        why = f"finish reason {run['finish_reason']}"
    return (f"{spider:<10} {_when(run['started_at'])}  {verdict:<6} exit {run['exit_code']}  "
            f"{run['pages'] or 0} pages, {run['items_stored'] or 0} stored, {run['items_dropped'] or 0} dropped, "
            f"{run['items_duplicate'] or 0} duplicates  ({run['finish_reason']}; job {run['job_id']})"
            + (f"  {why}" if verdict == "FAILED" and why else ""))


def _pct(share: float) -> str:
    return f"{100 * share:.0f}%" if share in (0, 1) else f"{100 * share:.1f}%"


def _chart(s: dict, bar_w: int = 26, gap: int = 6, height: int = 180) -> str:
    """Inline SVG: one stacked bar per day, one <rect class="bar"> per site with articles that day."""
    days = list(s["per_day"].items())
    top = max((sum(c.values()) for _, c in days), default=0) or 1
    color = {site: COLORS[i % len(COLORS)] for i, site in enumerate(s["sites"])}
    left, parts = 36, []
    for i, (day, by_site) in enumerate(days):
        x, y = left + i * (bar_w + gap), 10 + height
        for site, n in by_site.items():
            if not n:
                continue
            h = max(1, round(height * n / top))
            y -= h
            parts.append(f'<rect class="bar" data-day="{html.escape(day)}" data-site="{html.escape(site)}" data-count="{int(n)}" '
                         f'x="{x}" y="{y}" width="{bar_w}" height="{h}" fill="{color[site]}">'
                         f'<title>{html.escape(site)} {html.escape(day)} ({_jalali(day)}): {int(n)}</title></rect>')
        parts.append(f'<text x="{x + bar_w / 2}" y="{height + 24}" font-size="9" text-anchor="middle">'
                     f'{html.escape(day[5:])}</text><text x="{x + bar_w / 2}" y="{height + 35}" font-size="9" '
                     f'text-anchor="middle" fill="#666">{html.escape(_jalali(day)[5:])}</text>')
    axis = (f'<line x1="{left - 4}" y1="{height + 10}" x2="{left + len(days) * (bar_w + gap)}" '
            f'y2="{height + 10}" stroke="#999"/><text x="{left - 6}" y="16" font-size="10" '
            f'text-anchor="end">{top}</text><text x="{left - 6}" y="{height + 10}" font-size="10" '
            f'text-anchor="end">0</text>')
    width = left + 10 + len(days) * (bar_w + gap)
    return (f'<svg id="chart" role="img" aria-label="articles per day" width="{width}" '
            f'height="{height + 45}" viewBox="0 0 {width} {height + 45}">{axis}{"".join(parts)}</svg>')


def _link(url, text: str) -> str:
    """An <a> only for an absolute http(s) URL; anything else (`javascript:`, `data:`) is plain text."""
    esc = html.escape
    if isinstance(url, str) and re.match(r"https?://[^\s/]", url, re.I):
        return f'<a href="{esc(url)}" rel="noopener noreferrer nofollow" dir="rtl">{esc(text)}</a>'
    return f'<span dir="rtl">{esc(text)}</span>'


#: nothing may load or run: no scripts (the JSON block is data), no fetches, no forms, no base URL
CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; script-src 'none'; "
       "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def render_html(s: dict) -> str:
    """One self-contained page: no script runs, nothing is fetched (article links are only links), every
    value from the database escaped, and a Content-Security-Policy that forbids the rest."""
    esc = html.escape
    sites = s["sites"]
    color = {site: COLORS[i % len(COLORS)] for i, site in enumerate(sites)}
    legend = "".join(f'<span class="key"><i style="background:{color[x]}"></i>{esc(x)}</span>' for x in sites)
    site_rows = "".join(f'<tr><td>{esc(k)}</td><td class="n">{int(v)}</td>'
                        f'<td class="n">{int(s["undated"].get(k, 0))}</td></tr>' for k, v in s["per_site"].items())
    head = "".join(f"<th>{esc(x)}</th>" for x in sites)
    day_rows = "".join(f'<tr><td>{esc(d)}</td><td>{esc(_jalali(d))}</td>'
                       + "".join(f'<td class="n">{int(c[x])}</td>' for x in sites)
                       + f'<td class="n">{int(sum(c.values()))}</td></tr>' for d, c in s["per_day"].items())
    cov_rows = "".join(f"<tr><td>{esc(f)}</td>" + "".join(f'<td class="n">{esc(_pct(v[x]))}</td>'
                                                           for x in ["all", *sites])
                       + "</tr>" for f, v in s["coverage"].items())
    newest = "".join(f'<li><span class="when">{esc(str(n["published_at"]))}</span> {esc(str(n["site"]))}/'
                     f'{esc(str(n["news_code"]))} {_link(n["url"], n["title"] or "")}</li>' for n in s["newest"])
    story_rows = "".join(f'<tr><td dir="rtl">{esc(str(n["title"] or ""))}</td><td class="n">{int(n["sites"])}</td>'
                         f'<td class="n">{int(n["articles"])}</td><td>{esc(_when(n["first"]))}</td>'
                         f'<td>{esc(_when(n["last"]))}</td><td>{esc(str(n["story_id"]))}</td></tr>'
                         for n in s.get("stories") or []) or '<tr><td colspan="6">none</td></tr>'
    run_rows = "".join(_run_row(spider, run) for spider, runs in s.get("runs", {}).items() for run in runs) \
        or '<tr><td colspan="9">none recorded</td></tr>'
    # data for scripts elsewhere: no "<", ">" or "&" can end the block or open a tag
    data = (json.dumps(s, ensure_ascii=False, default=str).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="referrer" content="no-referrer">
<title>newscrawl summary</title>
<style>
body{{font-family:sans-serif;margin:2em;color:#222}} table{{border-collapse:collapse;margin-bottom:1em}}
th,td{{border:1px solid #ccc;padding:2px 8px}} td.n{{text-align:right}} .key{{margin-right:1em}}
.key i{{display:inline-block;width:10px;height:10px;margin-right:4px}} .when{{color:#666}}
tr.failed td{{background:#fbe3e4}} td.verdict{{font-weight:bold}}
</style></head><body>
<h1>newscrawl: <span id="total">{int(s['total'])}</span> articles</h1>
<p id="range">published {esc(str(s['first_published'] or '-'))} … {esc(str(s['last_published'] or '-'))};
last crawled {esc(str(s['last_crawled'] or '-'))}</p>
<h2>Articles per day (Tehran publication day)</h2>
<p>{legend}</p>
{_chart(s)}
<h2>Per site</h2>
<table id="sites"><tr><th>site</th><th>articles</th><th>without a date</th></tr>{site_rows}</table>
<h2>Per day</h2>
<table id="days"><tr><th>day</th><th>jalali</th>{head}<th>total</th></tr>{day_rows}</table>
<h2>Field coverage</h2>
<table id="coverage"><tr><th>field</th><th>all</th>{head}</tr>{cov_rows}</table>
<h2>Newest</h2><ul id="newest">{newest}</ul>
<h2>Biggest stories</h2>
<table id="stories"><tr><th>headline of the first article</th><th>sites</th><th>articles</th>
<th>first published</th><th>last published</th><th>story</th></tr>{story_rows}</table>
<h2>Recent crawls</h2>
<table id="crawls"><tr><th>spider</th><th>started</th><th>verdict</th><th>exit</th><th>finish reason</th>
<th>pages</th><th>stored</th><th>dropped</th><th>why</th></tr>{run_rows}</table>
<script type="application/json" id="data">{data}</script>
</body></html>
"""


def _run_row(spider: str, run: dict) -> str:
    from newscrawl.db.history import failed

    esc = html.escape
    bad = failed(run)
    why = "; ".join(run.get("health_failures") or []) if bad else ""
    cells = [spider, _when(run["started_at"]), "FAILED" if bad else "ok", run["exit_code"], run["finish_reason"],
             run["pages"], run["items_stored"], run["items_dropped"], why]
    tds = "".join(f'<td class="verdict">{esc(str(c))}</td>' if i == 2 else f"<td>{esc(str(c if c is not None else '-'))}</td>"
                  for i, c in enumerate(cells))
    return f'<tr class="{"failed" if bad else "ok"}">{tds}</tr>'


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self):
        return "[--brief] [--days N] [--newest N] [--stories N] [--runs N] [--html FILE]"

    def short_desc(self):
        return ("Overview of the database: articles per site and day, coverage, newest items, biggest stories, "
                "recent crawls")

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--brief", action="store_true", help="one line")
        parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
        parser.add_argument("--days", type=int, default=14, help="days in the histogram (default 14)")
        parser.add_argument("--newest", type=int, default=5, help="newest articles listed (default 5)")
        parser.add_argument("--stories", type=int, default=10,
                            help="biggest stories listed (default 10; 0: none)")
        parser.add_argument("--runs", type=int, default=5, help="recent crawls listed per spider (default 5)")

    def run(self, args, opts):
        from sqlalchemy.exc import SQLAlchemyError

        from newscrawl.db.store import StorageError, one_line, open_existing

        if opts.days < 1 or opts.newest < 0 or opts.runs < 0 or opts.stories < 0:
            return self._fail("--days must be at least 1, --newest, --stories and --runs at least 0", 2)
        from newscrawl.db import url as dburl

        error = dburl.check_environment()  # an unreadable NEWSCRAWL_DATABASE_URL_FILE, said as such
        if error:
            return self._fail(error, 2)
        store = None
        try:
            store = open_existing(self.settings.get("NEWSCRAWL_DATABASE_URL"))
            s = gather(store.engine, days=opts.days, newest=opts.newest, stories=opts.stories)
            s["runs"] = recent_runs(store.engine, opts.runs)
        except StorageError as exc:
            return self._fail(str(exc))
        except SQLAlchemyError as exc:
            return self._fail(f"cannot read the database: {one_line(exc)}")
        finally:
            if store is not None:
                store.close()
        try:
            print(brief(s) if opts.brief else render_text(s), flush=True)
        except BrokenPipeError:  # `scrapy summary | head`: the reader has all it wants
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no error at exit either
        if opts.html:
            try:
                with open(opts.html, "w", encoding="utf-8") as fh:
                    fh.write(render_html(s))
            except OSError as exc:
                return self._fail(f"cannot write {opts.html}: {exc.strerror}")
            print(f"wrote {opts.html}")

    def _fail(self, message: str, code: int = 1) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exitcode = code
