"""The bundled demo snapshot: Tabnak-like pages we wrote ourselves, recorded as a betamax cassette so the
whole crawler runs offline (`NEWSCRAWL_REPLAY=testkit/demo/cassettes scrapy crawl tabnak ...`).

Rebuild with `python -m testkit.demo.build`; what each page is for is in build.py's MANIFEST.
"""

from pathlib import Path

CASSETTE_DIR = Path(__file__).resolve().parent / "cassettes"
CASSETTE = CASSETTE_DIR / "tabnak.json"
