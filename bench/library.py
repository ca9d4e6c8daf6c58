"""`newscrawl.extract()` called as a library on the real Tabnak article: what a user's loop over saved
pages gets, the cached site extractor included. Measured with the URL given (the same work as the
extraction row, plus the library's site lookup) and with the URL taken from the page (one more parse
for its rel=canonical / og:url). Also the generic page on the same real page (milliseconds per page,
target ≤ 40: issue 16) and the page read by its family on an undeclared host, as a ratio to the declared
site's spider (target ≤ 2)."""

from __future__ import annotations

import statistics
import time

from bench.extract import REAL_URL, real_page


def _rate(call, seconds: float) -> float:
    """Calls per second, for at least `seconds`."""
    done, start = 0, time.perf_counter()
    while True:
        call()
        done += 1
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def run(quick: bool = False) -> dict:
    body = real_page()
    if body is None:
        return {"library_note": "real page not found (set NEWSCRAWL_REALPAGES)"}
    from newscrawl import extract

    item = extract(body, url=REAL_URL)  # builds and caches the site's extractor; and a check it extracts
    if not (item["title"] and item["body"]) or extract(body)["url"] != item["url"]:
        raise RuntimeError("extract() gave no title or body, or another URL, on the real Tabnak page")
    rounds, seconds = (3, 0.05) if quick else (20, 0.25)
    given, from_page = [], []
    for _ in range(rounds):  # interleaved, so a burst of machine noise hits both alike
        given.append(_rate(lambda: extract(body, url=REAL_URL), seconds))
        from_page.append(_rate(lambda: extract(body), seconds))
    mirror = REAL_URL.replace("www.tabnak.ir", "news.example.ir")  # no spider covers it: family detection
    if extract(body, url=mirror)["title"] != item["title"]:
        raise RuntimeError("the real Tabnak page on an undeclared host was not read by its family")
    generic, family, declared = [], [], []
    for _ in range(rounds):
        generic.append(_rate(lambda: extract(body, url=REAL_URL, site="generic"), seconds))
        family.append(_rate(lambda: extract(body, url=mirror), seconds))
        declared.append(_rate(lambda: extract(body, url=REAL_URL), seconds))
    return {"library_per_s": round(statistics.median(given), 1),
            "library_url_from_page_per_s": round(statistics.median(from_page), 1),
            "generic_ms_per_page": round(1000 / statistics.median(generic), 1),
            "family_unknown_host_cost": round(statistics.median(d / f for d, f in zip(declared, family,
                                                                                       strict=True)), 2)}
