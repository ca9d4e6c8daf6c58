"""For the tests and the benchmarks (never used by a crawl): throwaway servers on 127.0.0.1, and the stats
a `scrapy crawl` child process logged.

Why in the package: tests/conftest.py and bench/ both need them; one copy of how to start and stop a
real PostgreSQL (Debian's binaries, trust auth, loopback only, a socket in the temp folder) and of how to
read Scrapy's closing stats dump."""

from __future__ import annotations

import ast
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin() -> Path | None:
    """The newest Debian PostgreSQL server binaries (/usr/lib/postgresql/N/bin), None when absent."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@contextmanager
def postgres_cluster(prefix: str = "newscrawl-pg-") -> Iterator[str | None]:
    """A new PostgreSQL cluster (trust auth, loopback only), stopped and deleted after; yields its SQLAlchemy
    URL, or None when the server binaries are not installed. As root, the server runs as `postgres`."""
    pgbin = postgres_bin()
    if pgbin is None:
        yield None
        return
    base = Path(tempfile.mkdtemp(prefix=prefix))
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(base, "postgres", "postgres")
    port, data = free_port(), str(base / "data")
    try:
        subprocess.run([*as_pg, str(pgbin / "initdb"), "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--locale=C.UTF-8"], check=True, capture_output=True)
        subprocess.run([*as_pg, str(pgbin / "pg_ctl"), "-D", data, "-l", str(base / "pg.log"), "-w", "-o",
                        f"-c listen_addresses=127.0.0.1 -p {port} -k {base}", "start"],
                       check=True, capture_output=True)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_pg, str(pgbin / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def closing_stats(log: str) -> dict:
    """The stats of Scrapy's closing dump («Dumping Scrapy stats:») in a crawl's log: numbers and booleans
    as such, anything else (datetimes) as its text; {} when the log has no dump."""
    if "Dumping Scrapy stats" not in log:
        return {}
    dump = log.split("Dumping Scrapy stats", 1)[1]
    stats: dict = {}
    for key, value in re.findall(r"^[ {]'([^']+)': ([^\n]+?),?$", dump, flags=re.M):
        for text in (value, value.removesuffix("}")):  # the last entry closes the dict
            try:
                stats[key] = ast.literal_eval(text)
                break
            except (ValueError, SyntaxError):
                stats[key] = text
    return stats
