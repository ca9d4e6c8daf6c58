"""Crash-safe JSON Lines files for Scrapy's feed exports, kept in agreement with the database.

A line is written only after its article's row is committed (newscrawl.pipelines.store.StoragePipeline), so
what a crash, a kill or a full disk can leave behind is a half-written last line, and committed rows
whose line was never written. SafeFileFeedStorage handles both:

- Every write is the whole line or nothing: a short write is continued, a failed one is cut back to the
  line's start. The first failure stops the crawl (`disk_full` for ENOSPC/EDQUOT), later lines are
  dropped quietly (counted as newscrawl/feed/unwritten), and `store()` fails, so Scrapy does not
  report a complete feed.
- While a run writes a local JSON Lines file it holds a shared flock on it and keeps a marker next to
  it, `<file>.<run_id>.open`: JSON with the run id, the offset where the run started writing, its pid,
  the export fields and the database. A clean close removes the marker.
- When a crawl opens, before it stores anything, each of its SafeFileFeedStorages repairs every marked
  file in its folder that no live process writes, i.e. an exclusive flock succeeds (`repair`): a
  partial last line is cut; after the run's start offset, lines that do not parse, whose article the
  database lacks, or that repeat an article already in the file are cut; rows of the marked run that
  the file lacks are appended, exported exactly as the feed exporter writes them. Then the marker goes.

A feed is a log of what was stored: when a better copy of an article replaces its stored row (a live
fetch over an archived capture, an earlier capture over a later one: newscrawl.db.store.better), the
replacing run writes a second line for the article and the earlier line stays. So the repair keeps a
repeated article's line when its copy is better than every earlier line's (that is a replacement), and
appends the row of a run's replacement whose line the kill lost. Whoever reads several lines of one
article keeps the best by the same rule (that is the database's row), or reads `scrapy export`.

Why our own code: Scrapy's FileFeedStorage writes through a buffer and knows nothing of the database;
there is no library for a feed that must agree with a database across kills.
"""

from __future__ import annotations

import errno
import fcntl
import io
import json
import logging
import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scrapy import signals
from scrapy.extensions.feedexport import FileFeedStorage
from scrapy.utils.misc import load_object

from newscrawl.db.store import ArticleStore, StorageError, better, run_id_for, store_for
from newscrawl.extensions.halt import DISK_FULL, halt_for
from newscrawl.spidermiddlewares.spool import write_all

logger = logging.getLogger(__name__)

MARKER_SUFFIX = ".open"
FEED_UNWRITABLE = "feed_unwritable"
_KEY_PREFIX = re.compile(rb'^\{"site": ("(?:[^"\\]|\\.)*"), "news_code": ("(?:[^"\\]|\\.)*")')


class FeedWriteError(OSError):
    """A feed file lost lines: raised by store() so that Scrapy logs the feed as not stored."""


# -- whole-line writes -------------------------------------------------------------------------------------
class LineFile(io.RawIOBase):
    """An append-only file descriptor written whole writes at a time (see the module docstring)."""

    def __init__(self, fd: int, path: str, on_failure=None, on_unwritten=None):
        super().__init__()
        self.fd, self.path = fd, path
        self.on_failure, self.on_unwritten = on_failure, on_unwritten
        self.failed: OSError | None = None
        self.write_call = os.write  # the system call (a test gives a short-writing one)
        self.lines = 0
        self.unwritten = 0

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.fd

    def write(self, data) -> int:
        data = bytes(data)
        count = max(1, data.count(b"\n"))
        if self.failed is not None:
            self._unwritten(count)
            return len(data)
        start = None
        try:
            start = os.lseek(self.fd, 0, os.SEEK_END)  # O_APPEND writes there
            write_all(self.fd, data, self.write_call)
        except OSError as exc:
            if start is not None:
                try:
                    os.ftruncate(self.fd, start)
                except OSError:
                    pass
            self.failed = exc
            if self.on_failure is not None:
                self.on_failure(exc)
            self._unwritten(count)
            return len(data)
        self.lines += data.count(b"\n")
        return len(data)

    def _unwritten(self, count: int) -> None:
        self.unwritten += count
        if self.on_unwritten is not None:
            self.on_unwritten(count)

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self.fd)
            finally:
                super().close()


# -- markers ---------------------------------------------------------------------------------------------
def marker_path(path: Path, run_id: str) -> Path:
    return path.with_name(f"{path.name}.{run_id}{MARKER_SUFFIX}")


def write_marker(path: Path, data: dict) -> None:
    """Write `data` to `path` atomically and durably (a temporary file renamed over it)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, json.dumps(data, ensure_ascii=False).encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def markers_in(folder: Path) -> dict[Path, list[tuple[Path, dict]]]:
    """The marked feed files of `folder`: file -> [(marker path, marker)]."""
    found: dict[Path, list[tuple[Path, dict]]] = {}
    if not folder.is_dir():
        return found
    for marker in sorted(folder.glob(f"*{MARKER_SUFFIX}")):
        try:
            data = json.loads(marker.read_text(encoding="utf-8"))
            target = folder / data["file"]
        except (OSError, ValueError, KeyError, TypeError):
            logger.warning("%s is not a feed marker; left alone", marker)
            continue
        found.setdefault(target, []).append((marker, data))
    return found


# -- repair ----------------------------------------------------------------------------------------------
@dataclass
class Repaired:
    cut_bytes: int = 0
    cut_lines: int = 0
    added_lines: int = 0


def _line_key(line: bytes):
    """(site, news_code) of a feed line, None when it is not a whole JSON object with both."""
    match = _KEY_PREFIX.match(line)
    if match:
        try:
            return json.loads(match[1]), json.loads(match[2])
        except ValueError:
            pass
    try:
        item = json.loads(line)
    except ValueError:
        return None
    if not isinstance(item, dict) or not isinstance(item.get("site"), str) or \
            not isinstance(item.get("news_code"), str):
        return None
    return item["site"], item["news_code"]


def _exists(store: ArticleStore, keys) -> set:
    sites: dict[str, list[str]] = {}
    for site, code in keys:
        sites.setdefault(site, []).append(code)
    return {(site, code) for site, codes in sites.items() for code in store.known_codes(site, codes, than=None)}


def _copy(data: bytes) -> dict:
    """The provenance of a feed line's copy of its article (`better` reads it); {} if it is not JSON."""
    try:
        item = json.loads(data)
    except ValueError:
        return {}
    return item if isinstance(item, dict) else {}


class _Copies:
    """The best copy of each repeated article in a feed file, read back from its lines only when an
    article repeats (the first line of each article is not parsed twice)."""

    def __init__(self, fh):
        self.fh = fh
        self.first: dict = {}  # key -> (offset, length) of its first line
        self.best: dict = {}  # key -> best copy so far, for keys seen twice

    def _read(self, offset: int, length: int) -> dict:
        here = self.fh.tell()
        self.fh.seek(offset)
        data = self.fh.read(length)
        self.fh.seek(here)
        return _copy(data)

    def best_of(self, key) -> dict | None:
        if key in self.best:
            return self.best[key]
        if key in self.first:
            return self._read(*self.first[key])
        return None

    def add(self, key, offset: int, length: int) -> bool:
        """Record a line; True when it is the article's first or a better copy than every earlier one."""
        if key not in self.first:
            self.first[key] = (offset, length)
            return True
        copy = self._read(offset, length)
        if better(copy, self.best_of(key) or {}):
            self.best[key] = copy
            return True
        return False


def repair(path: Path, markers: list[dict], store: ArticleStore | None, exporter_cls=None) -> Repaired:
    """Make the feed file `path` agree with the database for the (dead) runs of `markers`; see the
    module docstring. Without a store only a partial last line is cut. The caller holds the lock."""
    done = Repaired()
    size = path.stat().st_size
    start = min([max(0, min(int(m.get("offset", 0)), size)) for m in markers] or [size])
    runs = [m["run_id"] for m in markers if m.get("run_id")]
    with open(path, "r+b") as fh:
        copies = _Copies(fh)
        lines: list[tuple[int, int, object]] = []  # (offset, length, key or None) after `start`
        offset = 0
        for line in fh:
            if not line.endswith(b"\n"):
                break  # a partial last line
            key = _line_key(line)
            if offset < start:
                if key is not None:
                    copies.add(key, offset, len(line))
            else:
                lines.append((offset, len(line), key))
            offset += len(line)
        end = offset
        stored = _exists(store, {k for _, _, k in lines if k is not None}) if store is not None else None
        keep = []
        for line_offset, length, key in lines:
            ok = key is not None and (stored is None or key in stored) and copies.add(key, line_offset, length)
            keep.append(ok)
        seen = set(copies.first)
        replaced: dict = {}  # the runs' replaced rows in the file: their best copy there, read before any move
        if store is not None:
            for run in runs:
                replaced |= {key: copies.best_of(key) or {} for key in store.run_replaced(run) & seen}
        first_cut = next((i for i, ok in enumerate(keep) if not ok), None)
        write_at = end
        if first_cut is not None:  # move the kept lines after it down, in place (reads stay ahead)
            write_at = lines[first_cut][0]
            for (line_offset, length, _), ok in zip(lines[first_cut:], keep[first_cut:], strict=True):
                if not ok:
                    done.cut_lines += 1
                    continue
                fh.seek(line_offset)
                data = fh.read(length)
                fh.seek(write_at)
                fh.write(data)
                write_at += length
        if write_at != size:
            fh.flush()
            fh.truncate(write_at)
            done.cut_bytes = size - write_at
        if store is not None and runs:
            missing = set()
            for run in runs:
                missing |= store.run_keys(run) - seen
            rows = [item for run in runs for item in store.run_articles(run, missing)]
            # a replacement whose line was lost: its row is better than the file's lines of the article
            rows += [item for run in runs for item in store.run_articles(run, replaced)
                     if better(item, replaced[(item["site"], item["news_code"])])]
            if rows:
                fh.seek(0, os.SEEK_END)
                buffer = io.BytesIO()
                exporter = (exporter_cls or _jsonlines_exporter())(
                    buffer, fields_to_export=markers[0].get("fields"), encoding=markers[0].get("encoding") or "utf-8",
                    indent=markers[0].get("indent"))
                exporter.start_exporting()
                for item in rows:
                    exporter.export_item(item)
                exporter.finish_exporting()
                fh.write(buffer.getvalue())
                done.added_lines = len(rows)
        fh.flush()
        os.fsync(fh.fileno())
    return done


def _jsonlines_exporter():
    from scrapy.exporters import JsonLinesItemExporter

    return JsonLinesItemExporter


def repair_folder(folder: Path, store: ArticleStore | None, exporter_cls=None, stats=None) -> None:
    """Repair every marked file in `folder` that no live process writes (see the module docstring)."""
    for target, marked in markers_in(folder).items():
        if not target.exists():
            for marker, _ in marked:
                marker.unlink(missing_ok=True)
            logger.info("removed the markers of %s, which no longer exists", target)
            continue
        fd = os.open(target, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live crawl writes it; it is repaired after that crawl, if need be
            if store is not None:
                foreign = [m["run_id"] for _, m in marked if m.get("db") and m["db"] != store.safe_url]
                try:
                    if any(not store.run_keys(run) for run in foreign):
                        logger.warning("%s was written to database %s, not %s; not repaired", target,
                                       next(m["db"] for _, m in marked if m.get("db") != store.safe_url),
                                       store.safe_url)
                        continue
                    done = repair(target, [m for _, m in marked], store, exporter_cls)
                except StorageError as exc:
                    logger.warning("%s not repaired (the database cannot be read: %s); it will be next time",
                                   target, exc)
                    continue
            else:
                done = repair(target, [m for _, m in marked], None, exporter_cls)
                if any(m.get("db") for _, m in marked):  # its lines are checked by a crawl with the database
                    marked = [(p, m) for p, m in marked if not m.get("db")]
            for marker, _ in marked:
                marker.unlink(missing_ok=True)
            if done.cut_bytes or done.added_lines:
                logger.warning("repaired %s (left by a run that did not close): cut %d bytes (%d lines) of "
                               "incomplete, unstored or repeated lines, added %d stored articles' lines",
                               target, done.cut_bytes, done.cut_lines, done.added_lines)
            if stats is not None:
                stats.inc_value("newscrawl/feed/repaired_bytes", done.cut_bytes)
                stats.inc_value("newscrawl/feed/repaired_lines_added", done.added_lines)
        finally:
            os.close(fd)


# -- the storage -------------------------------------------------------------------------------------------
class SafeFileFeedStorage(FileFeedStorage):
    """FileFeedStorage with whole-line writes, a marker while writing, and repair on open (see the module
    docstring). Markers and repair apply to JSON Lines files written by a crawl; other formats, batched
    (`batch_item_count`) and post-processed (compressed) feeds get the whole-line writes only."""

    def __init__(self, uri, *, feed_options=None, crawler=None):
        super().__init__(uri, feed_options=feed_options)
        self.crawler = crawler
        self.feed_options = feed_options or {}
        self.fd: int | None = None
        self.file: LineFile | None = None
        self.marker: Path | None = None
        # Built by the feed exporter when the spider opens (the engine exists then; not when Scrapy only
        # checks the URI at startup): take the file now, before this run commits anything. Repairing at
        # the first item instead would count this run's first committed rows as missing lines (a resumed
        # JOBDIR crawl has the killed run's run_id), and a kill before it would leave rows unmarked.
        if self.marked and getattr(crawler, "_engine", None) is not None:
            self._take()
            crawler.signals.connect(self._spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler, uri, *, feed_options=None):
        return cls(uri, feed_options=feed_options, crawler=crawler)

    @property
    def marked(self) -> bool:
        options = self.feed_options
        return (self.crawler is not None and options.get("format") == "jsonlines"
                and not options.get("batch_item_count") and not options.get("postprocessing"))

    def _take(self) -> None:
        """Repair the folder's marked files, open ours to append under a shared lock, and mark it."""
        path = Path(self.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.marked:
            repair_folder(path.parent, self._store(), self._exporter_cls(), self.crawler.stats)
        overwrite = self.write_mode == "wb"
        if overwrite:
            for marker, _ in markers_in(path.parent).get(path, []):
                marker.unlink(missing_ok=True)  # what they describe is being overwritten
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_TRUNC if overwrite else 0), 0o644)
        fcntl.flock(fd, fcntl.LOCK_SH)  # "being written": no repair while this process lives
        if self.marked:
            run_id = run_id_for(self.crawler)
            store = self._store()
            self.marker = marker_path(path, run_id)
            write_marker(self.marker, {
                "file": path.name, "run_id": run_id, "offset": os.fstat(fd).st_size, "pid": os.getpid(),
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "fields": self.feed_options.get("fields"), "encoding": self.feed_options.get("encoding"),
                "indent": self.feed_options.get("indent"), "db": store.safe_url if store is not None else None})
        self.fd = fd

    def open(self, spider):
        if self.fd is None:
            self._take()
        self.file = LineFile(self.fd, str(self.path), self._failed, self._unwritten)
        return self.file

    def _spider_closed(self, spider, reason):
        """A feed that got no line and is not stored empty (FEED_STORE_EMPTY): let the file and its
        marker go (else Scrapy opens and stores it, which does the same)."""
        if self.file is None and self.fd is not None and not self.feed_options.get("store_empty"):
            os.close(self.fd)
            self.fd = None
            if self.marker is not None:
                self.marker.unlink(missing_ok=True)

    def _failed(self, exc: OSError) -> None:
        reason = DISK_FULL if exc.errno in (errno.ENOSPC, errno.EDQUOT) else FEED_UNWRITABLE
        if self.crawler is not None:
            halt_for(self.crawler).stop(reason, f"cannot write {self.path}: {exc.strerror or exc}")

    def _unwritten(self, count: int) -> None:
        if self.crawler is not None:
            self.crawler.stats.inc_value("newscrawl/feed/unwritten", count)
            halt_for(self.crawler).count("unwritten", count)

    def store(self, file):
        line_file = self.file
        if line_file is None or line_file.closed:
            return super().store(file)
        if line_file.failed is None:
            try:
                os.fsync(line_file.fd)
            except OSError as exc:
                line_file.failed = exc
        file.close()
        line_file.close()
        if line_file.failed is not None:
            raise FeedWriteError(
                f"{self.path}: {line_file.lines} lines written, {line_file.unwritten} not "
                f"({line_file.failed.strerror or line_file.failed}); the next run adds the stored ones")
        store = store_for(self.crawler, create=False) if self.crawler is not None else None
        if self.marker is not None and not (store is not None and store.uncertain):
            self.marker.unlink(missing_ok=True)
        return None

    def _store(self) -> ArticleStore | None:
        """The crawl's database, when the crawl stores articles (None: no check against it)."""
        if self.crawler is None or "newscrawl.pipelines.store.StoragePipeline" not in \
                self.crawler.settings.getdict("ITEM_PIPELINES"):
            return None
        try:
            return store_for(self.crawler).open()
        except StorageError as exc:
            logger.warning("feed %s: cannot open the database to check it (%s)", self.path, exc)
            return None

    def _exporter_cls(self):
        exporters = self.crawler.settings.getwithbase("FEED_EXPORTERS")
        return load_object(exporters["jsonlines"])


def uri_params(params: dict, spider) -> dict:
    """FEED_URI_PARAMS: adds %(run_id)s (newscrawl.db.store.run_id_for) for every spider, ours or not."""
    params.setdefault("run_id", run_id_for(spider.crawler))
    return params
