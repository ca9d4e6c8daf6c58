"""`scrapy summary [--brief] [--html FILE]`: what the database holds, per site and per day."""

from __future__ import annotations

import html
import json
import sys
from collections import Counter, defaultdict

from scrapy.commands import ScrapyCommand

from newscrawl.items import FIELDS

BAR = "█"


def gather(url: str, days: int = 14, newest: int = 5) -> dict:
    """Counts, coverage, date range and newest items, read with one pass over the table."""
    from sqlalchemy import create_engine, select

    from newscrawl.storage import articles

    engine = create_engine(url)
    per_site: Counter[str] = Counter()
    per_day: dict[str, Counter[str]] = defaultdict(Counter)
    filled: Counter[str] = Counter()
    first = last = None
    latest: list[tuple[str, str, str, str]] = []
    cols = [articles.c[f] for f in FIELDS if f in articles.c]
    with engine.connect() as conn:
        for row in conn.execute(select(*cols)):
            rec = row._mapping
            per_site[rec["site"]] += 1
            for field in FIELDS:
                if rec.get(field) not in (None, "", []):
                    filled[field] += 1
            published = rec["published_at"]
            if published:
                day = published[:10]
                per_day[day][rec["site"]] += 1
                first = min(first or published, published)
                last = max(last or published, published)
                latest.append((published, rec["site"], rec["news_code"], rec["title"]))
    engine.dispose()
    total = sum(per_site.values())
    latest.sort(reverse=True)
    recent_days = sorted(per_day)[-days:]
    return {
        "total": total,
        "per_site": dict(per_site.most_common()),
        "per_day": {d: dict(per_day[d]) for d in recent_days},
        "coverage": {f: round(filled[f] / total, 4) if total else 0.0 for f in FIELDS},
        "first_published": first,
        "last_published": last,
        "newest": [dict(zip(("published_at", "site", "news_code", "title"), r, strict=True))
                   for r in latest[:newest]],
    }


def render_text(s: dict, width: int = 40) -> str:
    lines = [f"{s['total']} articles, published {s['first_published'] or '-'} … {s['last_published'] or '-'}", ""]
    lines.append("per site:")
    lines += [f"  {site:<14} {n:>7}" for site, n in s["per_site"].items()]
    top = max((sum(c.values()) for c in s["per_day"].values()), default=0)
    lines += ["", "per day (newest days):"]
    for day, counts in s["per_day"].items():
        n = sum(counts.values())
        lines.append(f"  {day} {n:>6} {BAR * max(1, round(width * n / top)) if n else ''}")
    lines += ["", "field coverage:"]
    lines += [f"  {f:<18} {100 * v:5.1f}%" for f, v in s["coverage"].items()]
    lines += ["", "newest:"]
    lines += [f"  {n['published_at']} {n['site']}/{n['news_code']} {n['title']}" for n in s["newest"]]
    return "\n".join(lines)


def render_html(s: dict) -> str:
    """A self-contained page (no scripts, no external files): tables and an inline SVG bar chart."""
    days = list(s["per_day"].items())
    top = max((sum(c.values()) for _, c in days), default=1) or 1
    bar_w, chart_h = 28, 160
    bars = []
    for i, (day, counts) in enumerate(days):
        n = sum(counts.values())
        h = round(chart_h * n / top)
        x = 10 + i * (bar_w + 6)
        bars.append(f'<rect class="bar" x="{x}" y="{chart_h - h + 10}" width="{bar_w}" height="{h}" '
                    f'fill="#3b6ea5"><title>{day}: {n}</title></rect>'
                    f'<text x="{x + bar_w / 2}" y="{chart_h + 26}" font-size="9" text-anchor="middle">'
                    f'{day[5:]}</text>')
    svg_w = 20 + len(days) * (bar_w + 6)
    site_rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>" for k, v in s["per_site"].items())
    cov_rows = "".join(f"<tr><td>{f}</td><td>{100 * v:.1f}%</td></tr>" for f, v in s["coverage"].items())
    newest = "".join(f"<li>{html.escape(n['published_at'])} {html.escape(n['site'])}/{n['news_code']} "
                     f"{html.escape(n['title'] or '')}</li>" for n in s["newest"])
    return f"""<!DOCTYPE html>
<html lang="fa" dir="rtl"><head><meta charset="utf-8"><title>newscrawl summary</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td{{border:1px solid #ccc;padding:2px 8px}} svg{{direction:ltr}}</style></head><body>
<h1>newscrawl: <span id="total">{s['total']}</span> articles</h1>
<p>published {html.escape(s['first_published'] or '-')} … {html.escape(s['last_published'] or '-')}</p>
<h2>Articles per day</h2>
<svg id="chart" width="{svg_w}" height="{chart_h + 40}" xmlns="http://www.w3.org/2000/svg">{''.join(bars)}</svg>
<h2>Per site</h2><table id="sites">{site_rows}</table>
<h2>Field coverage</h2><table id="coverage">{cov_rows}</table>
<h2>Newest</h2><ul id="newest">{newest}</ul>
<script type="application/json" id="data">{html.escape(json.dumps(s, ensure_ascii=False))}</script>
</body></html>
"""


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self):
        return "[--brief] [--html FILE] [--days N]"

    def short_desc(self):
        return "Overview of the database: articles per site and day, coverage, newest items"

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--brief", action="store_true", help="one line")
        parser.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
        parser.add_argument("--days", type=int, default=14, help="days in the histogram (default 14)")

    def run(self, args, opts):
        from sqlalchemy.exc import SQLAlchemyError

        url = self.settings.get("NEWSCRAWL_DATABASE_URL")
        try:
            s = gather(url, days=opts.days)
        except SQLAlchemyError as exc:
            print(f"error: cannot read {url}: {str(exc).splitlines()[0]}", file=sys.stderr)
            self.exitcode = 1
            return
        if opts.brief:
            sites = ", ".join(f"{k} {v}" for k, v in s["per_site"].items()) or "none"
            print(f"{s['total']} articles in the database ({sites}); published "
                  f"{s['first_published'] or '-'} … {s['last_published'] or '-'}")
        else:
            print(render_text(s))
        if opts.html:
            with open(opts.html, "w", encoding="utf-8") as fh:
                fh.write(render_html(s))
            print(f"wrote {opts.html}")
