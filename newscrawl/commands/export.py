"""`scrapy export --format {jsonl,csv,parquet} --output PATH [filters] [--partition]`: the database as
files analysts open directly (pandas, DuckDB, spreadsheets), without reading our code.

Rows are streamed from the database (SQLite or PostgreSQL, the crawl's NEWSCRAWL_DATABASE_URL) and
written as they come, Parquet in record batches, so memory does not grow with the table. The output
appears only when complete: it is written under a temporary name and renamed at the end.

Decisions (documented in README, "Exporting"):
- A "day" (--since/--until and the `date=` partition) is the publication day in Tehran, which is the
  date part of `published_at`. Articles without a date go to `date=unknown` and are left out when
  --since or --until is given.
- CSV is UTF-8 with a BOM (spreadsheets then read Persian correctly); list fields are JSON arrays in
  their cells. Parquet has native list<string> columns and timezone-aware timestamps.
- `provenance` (field name → source) is a JSON object in JSON Lines and a CSV cell, and Parquet's native
  map<string, string> (pyarrow, DuckDB and Spark read it as a map; pandas as a list of (key, value) pairs).
- Partitioned Parquet files leave out `site` (it is in the path, the Hive convention); JSON Lines and
  CSV parts keep whole items, since those are usually read one file at a time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scrapy.commands import ScrapyCommand

from newscrawl.exports.exporters import CSV_ENCODING, csv_row
from newscrawl.items import FIELDS, LIST_FIELDS, ArticleItem, of_kind
from newscrawl.parsing.dates import TEHRAN, parse_date_arg, parse_iso

if TYPE_CHECKING:
    from newscrawl.db.store import Selection

FORMATS = ("jsonl", "csv", "parquet")
#: --format when it is absent, from the output's extension
EXTENSIONS = {".jsonl": "jsonl", ".jl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".parquet": "parquet",
              ".pq": "parquet"}
STDOUT = "-"
BATCH_ROWS = 10_000  # Parquet record batch (and row group) size, at most...
BATCH_CHARS = 16_000_000  # ...and at most this much text, so long bodies do not multiply the memory used
READ_CHUNK = 1_000  # rows fetched from the database at a time
INSTANTS = of_kind("instant")  # Parquet timestamps
MAPS = of_kind("map")  # Parquet map<string, string>


class ExportError(Exception):
    """A one-line reason the export cannot run; `usage` errors exit with 2, the others with 1."""

    def __init__(self, message: str, usage: bool = False):
        super().__init__(message)
        self.usage = usage


# -- the database (its SQL: newscrawl.db.store) ------------------------------------------------------
def tehran_day(published_at: str | None) -> str:
    """The partition day: the Tehran calendar date of `published_at`, or "unknown"."""
    moment = parse_iso(published_at) if published_at else None
    return moment.astimezone(TEHRAN).date().isoformat() if moment else "unknown"


def selection(opts) -> Selection:
    """The newscrawl.db.store.Selection --site/--since/--until/--category/--tag ask for. A repeated option
    means any of its values; different options must all hold."""
    from newscrawl.db.store import Selection
    from newscrawl.parsing.text import normalize

    def dates(name):
        value = getattr(opts, name)
        if value is None:
            return None
        try:
            return parse_date_arg(value, name)
        except ValueError as exc:
            raise ExportError(str(exc), usage=True) from None

    def words(name, values):
        cleaned = [normalize(v) for v in values or []]
        if any(not v for v in cleaned):
            raise ExportError(f"{name}: give a non-empty value", usage=True)
        return cleaned

    chosen = Selection(sites=words("site", opts.site), since=dates("since"), until=dates("until"),
                       categories=words("category", opts.category), tags=words("tag", opts.tag))
    if chosen.since and chosen.until and chosen.since > chosen.until:
        raise ExportError(f"since ({chosen.since}) is after until ({chosen.until})", usage=True)
    return chosen


def check_sites(engine, filters: Selection, spiders: list[str]) -> None:
    """A --site that is neither a spider nor in the database is a typo: say so, naming the real ones."""
    from newscrawl.db.store import stored_sites

    if not filters.sites:
        return
    stored = stored_sites(engine)
    for site in filters.sites:
        if site not in stored and site not in spiders:
            known = ", ".join(sorted(stored | set(spiders))) or "none"
            raise ExportError(f"site: {site!r} is not a site (known: {known})", usage=True)


# -- writers ------------------------------------------------------------------------------------------
class _TextFile:
    """A text file on a path, or on a binary stream (standard output), which is left open at the end."""

    def __init__(self, target, encoding: str, newline: str):
        if isinstance(target, Path):
            self.fh, self.owned = open(target, "w", encoding=encoding, newline=newline), True
        else:
            self.fh, self.owned = io.TextIOWrapper(target, encoding=encoding, newline=newline), False

    def close(self) -> None:
        if self.owned:
            self.fh.close()
        else:
            self.fh.flush()
            self.fh.detach()


class JsonlWriter(_TextFile):
    """One item per line, UTF-8, Persian unescaped: exactly the lines of the crawl's feed."""

    def __init__(self, target):
        super().__init__(target, "utf-8", "\n")

    def write(self, row: dict) -> None:
        self.fh.write(json.dumps(row, ensure_ascii=False) + "\n")


class CsvWriter(_TextFile):
    """The CSV dialect of newscrawl.exports.exporters (a crawl's CSV feeds use it too): UTF-8 with a BOM, a header,
    lists as JSON arrays, null as an empty cell."""

    def __init__(self, target):
        super().__init__(target, CSV_ENCODING, "")
        self.out = csv.writer(self.fh)
        self.out.writerow(FIELDS)

    def write(self, row: dict) -> None:
        self.out.writerow(csv_row(row, FIELDS))


def arrow_schema(columns=FIELDS):
    """Strings, list<string> for the list fields, map<string, string> for the maps, and aware timestamps in
    their field's zone for the instants (newscrawl.items)."""
    import pyarrow as pa

    types = {name: pa.timestamp("s", tz=ArticleItem.fields[name]["zone"]) for name in INSTANTS}
    types |= {name: pa.map_(pa.string(), pa.string()) for name in MAPS}
    return pa.schema([(name, pa.list_(pa.string()) if name in LIST_FIELDS else types.get(name, pa.string()))
                      for name in columns])


def _instant(value: str | None) -> dt.datetime | None:
    moment = parse_iso(value) if value else None
    return moment.replace(microsecond=0) if moment else None


class ParquetWriter:
    """Buffers up to BATCH_ROWS rows (or BATCH_CHARS of text), then writes them as one record batch
    (zstd-compressed).

    In a partition the `site` column is left out, as pyarrow's write_dataset and Spark do: the folder
    name holds it, and pandas.read_parquet refuses a dataset where both do."""

    def __init__(self, path, partitioned: bool = False):
        import pyarrow.parquet as pq

        self.columns = [name for name in FIELDS if not (partitioned and name == "site")]
        self.schema = arrow_schema(self.columns)
        self.out = pq.ParquetWriter(path, self.schema, compression="zstd")
        self.rows: list[dict] = []
        self.chars = 0

    def write(self, row: dict) -> None:
        self.rows.append(row)
        self.chars += sum(len(v) for v in row.values() if isinstance(v, str))
        if len(self.rows) >= BATCH_ROWS or self.chars >= BATCH_CHARS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        if not self.rows:
            return
        columns = {name: [r[name] for r in self.rows] for name in self.columns}
        for name in INSTANTS:
            columns[name] = [_instant(v) for v in columns[name]]
        for name in MAPS:
            columns[name] = [list((v or {}).items()) for v in columns[name]]
        self.out.write_batch(pa.RecordBatch.from_pydict(columns, schema=self.schema))
        self.rows.clear()
        self.chars = 0

    def close(self) -> None:
        self._flush()
        self.out.close()


WRITERS = {"jsonl": JsonlWriter, "csv": CsvWriter, "parquet": ParquetWriter}


class Sink:
    """Routes rows to one file, or with `partition` to ROOT/site=S/date=D/part-N.EXT. Rows come
    sorted by site and day, so one file is open at a time; a partition seen again gets the next part."""

    def __init__(self, fmt: str, root: Path, partition: bool):
        self.fmt, self.root, self.partition = fmt, root, partition
        self.writer = None
        self.key: tuple[str, str] | None = None
        self.parts: dict[tuple[str, str], int] = {}
        if not partition:
            self.writer = WRITERS[fmt](root)

    def write(self, row: dict) -> None:
        if self.partition:
            key = (row["site"], tehran_day(row["published_at"]))
            if key != self.key:
                self._close_writer()
                part = self.parts.get(key, -1) + 1
                self.parts[key] = part
                folder = self.root / f"site={key[0]}" / f"date={key[1]}"
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / f"part-{part}.{self.fmt}"
                options = {"partitioned": True} if self.fmt == "parquet" else {}
                self.writer, self.key = WRITERS[self.fmt](path, **options), key
        self.writer.write(row)

    def _close_writer(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def close(self) -> None:
        self._close_writer()

    @property
    def files(self) -> int:
        return sum(n + 1 for n in self.parts.values()) if self.partition else 1


# -- progress -----------------------------------------------------------------------------------------
class Progress:
    """On a terminal, one line redrawn in place; otherwise (a log, CI) a line every `every` rows."""

    def __init__(self, total: int, every: int, stream=None):
        self.total, self.every = total, every
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.step = max(1, every // 10) if self.tty else every
        self.shown = False

    def update(self, read: int, written: int) -> None:
        if not self.every or read % self.step:
            return
        share = f" ({100 * read // self.total}%)" if self.total else ""
        text = f"export: {read:,} of {self.total:,} articles read{share}, {written:,} written"
        self.stream.write(f"\r{text}" if self.tty else text + "\n")
        self.stream.flush()
        self.shown = True

    def done(self, read: int, written: int) -> None:
        """On a terminal, end the redrawn line on the final counts."""
        if self.tty and self.shown:
            if read % self.step:
                self.shown, self.step = False, 1
                self.update(read, written)
            self.stream.write("\n")


# -- the export ----------------------------------------------------------------------------------------
def prepare_output(output: Path, partition: bool, overwrite: bool = False) -> Path:
    """Check OUTPUT can be written and return the temporary path to write instead. With `overwrite`, a
    partitioned folder may be replaced, but only one that holds nothing but `site=` folders (an export's):
    `--output . --partition --overwrite` must not delete a working folder."""
    if partition:
        if output.is_file():
            raise ExportError(f"{output} is a file (--partition writes a folder)", usage=True)
        if output.is_dir() and any(output.iterdir()):
            if not overwrite:
                raise ExportError(f"{output} is not empty (--overwrite replaces an earlier partitioned export)",
                                  usage=True)
            foreign = [p.name for p in output.iterdir() if not (p.is_dir() and p.name.startswith("site="))]
            if foreign:
                raise ExportError(f"{output} holds {foreign[0]!r}, which is not a site= folder of an export; "
                                  "not replaced", usage=True)
    elif output.is_dir():
        raise ExportError(f"{output} is a folder; give a file name (or use --partition)", usage=True)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create {output.parent}: {exc.strerror}") from None
    return output.with_name(f".{output.name}.partial-{os.getpid()}")


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def export(engine, fmt: str, output: Path | None, filters: Selection, partition: bool = False,
           progress_every: int = 10_000, overwrite: bool = False) -> tuple[int, int]:
    """Write the matching articles to `output` (None: standard output); return (articles, files). Nothing
    is left behind on failure, and an existing `output` is only replaced once the new one is complete."""
    if output is None:
        return _export_stdout(engine, fmt, filters, progress_every)
    temp = prepare_output(output, partition, overwrite)
    progress = Progress(_count(engine, filters), progress_every)
    written = 0
    try:
        if partition:
            temp.mkdir()
        sink = Sink(fmt, temp, partition)
        written = _pour(engine, filters, sink, progress)
        old = None
        if partition and output.is_dir():
            old = output.with_name(f".{output.name}.old-{os.getpid()}")
            os.replace(output, old)  # empty, or an earlier export (--overwrite), checked above
        os.replace(temp, output)
        if old is not None:
            _remove(old)
    except BaseException:
        _remove(temp)
        raise
    return written, sink.files


def _export_stdout(engine, fmt: str, filters: Selection, progress_every: int) -> tuple[int, int]:
    """`--output -`: rows straight to standard output (no temporary file; a failure leaves a partial
    stream and a non-zero exit)."""
    progress = Progress(_count(engine, filters), progress_every)
    sys.stdout.flush()
    return _pour(engine, filters, Sink(fmt, sys.stdout.buffer, False), progress), 1


def _count(engine, filters: Selection) -> int:
    from newscrawl.db.store import count_selected

    return count_selected(engine, filters)


def _pour(engine, filters: Selection, sink, progress) -> int:
    """Stream the matching rows into `sink` (closed after), with progress lines; how many were written."""
    from newscrawl.db.store import selected

    written = read = 0
    try:
        for row in selected(engine, filters, READ_CHUNK):
            read += 1
            sink.write(row)
            written += 1
            progress.update(read, written)
    finally:
        sink.close()
        progress.done(read, written)
    return written


def output_format(fmt: str | None, output: str, partition: bool) -> str:
    """--format, else the output's extension; a one-line usage error when neither says."""
    if fmt:
        if fmt not in FORMATS:
            raise ExportError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}", usage=True)
        return fmt
    if output == STDOUT:
        raise ExportError("give --format jsonl, csv or parquet with --output -", usage=True)
    found = EXTENSIONS.get(Path(output).suffix.lower())
    if found is None:
        known = ", ".join(EXTENSIONS)
        raise ExportError(f"give --format: {output!r} does not end in a format's extension ({known})",
                          usage=True)
    return found


def _arrow_errors() -> tuple[type[BaseException], ...]:
    """pyarrow's own exception base, when it is loaded (only Parquet exports import it)."""
    arrow = sys.modules.get("pyarrow")
    return (arrow.ArrowException,) if arrow is not None else ()


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings = {"LOG_LEVEL": "WARNING"}

    def syntax(self):
        return ("--output PATH|- [--format {jsonl,csv,parquet}] [--site S] [--since D] [--until D] "
                "[--category C] [--tag T] [--partition [--overwrite]] [--progress N]")

    def short_desc(self):
        return "Export articles from the database as JSON Lines, CSV or Parquet"

    def add_options(self, parser):
        super().add_options(parser)
        parser.add_argument("--format", dest="fmt", metavar="FORMAT",
                            help="jsonl, csv or parquet (default: from the output's extension)")
        parser.add_argument("--output", metavar="PATH",
                            help="the file, - for standard output, or with --partition the folder")
        parser.add_argument("--site", action="append", metavar="S", help="only this site (repeatable)")
        parser.add_argument("--since", metavar="D", help="from this Tehran day: Jalali 1397/04/29 or Gregorian 2018-07-20")
        parser.add_argument("--until", metavar="D", help="to this Tehran day, inclusive")
        parser.add_argument("--category", action="append", metavar="C",
                            help="articles whose category path has C (repeatable)")
        parser.add_argument("--tag", action="append", metavar="T", help="articles tagged T (repeatable)")
        parser.add_argument("--partition", action="store_true",
                            help="write OUTPUT/site=S/date=YYYY-MM-DD/part-0.EXT (hive layout)")
        parser.add_argument("--overwrite", action="store_true",
                            help="with --partition: replace an earlier export in OUTPUT")
        parser.add_argument("--progress", type=int, default=10_000, metavar="N",
                            help="a progress line every N articles (0: none; default 10000)")

    def run(self, args, opts):
        from sqlalchemy.exc import SQLAlchemyError

        from newscrawl.db.store import StorageError, one_line, open_existing

        store = None
        try:
            if args:
                raise ExportError(f"unexpected argument {args[0]!r}", usage=True)
            if not opts.output:
                raise ExportError("give --output PATH (or - for standard output)", usage=True)
            fmt = output_format(opts.fmt, opts.output, opts.partition)
            to_stdout = opts.output == STDOUT
            if to_stdout and opts.partition:
                raise ExportError("--partition writes a folder, not standard output", usage=True)
            if opts.overwrite and not opts.partition:
                raise ExportError("--overwrite is for --partition (a file is always replaced)", usage=True)
            if opts.progress < 0:
                raise ExportError(f"progress: {opts.progress} is negative; give N >= 0 (0: no progress lines)",
                                  usage=True)
            filters = selection(opts)
            from newscrawl.db import url as dburl

            error = dburl.check_environment()
            if error:
                raise ExportError(error, usage=True)
            store = open_existing(self.settings.get("NEWSCRAWL_DATABASE_URL"))
            from scrapy.spiderloader import get_spider_loader

            check_sites(store.engine, filters, get_spider_loader(self.settings).list())
            total, files = export(store.engine, fmt, None if to_stdout else Path(opts.output), filters,
                                  opts.partition, opts.progress, opts.overwrite)
        except ExportError as exc:
            return self._fail(str(exc), 2 if exc.usage else 1)
        except StorageError as exc:
            return self._fail(str(exc))
        except SQLAlchemyError as exc:
            return self._fail(f"cannot read the database: {one_line(exc)}")
        except OSError as exc:
            return self._fail(f"cannot write {exc.filename or opts.output}: {exc.strerror or exc}")
        except KeyboardInterrupt:
            return self._fail("interrupted; nothing was written", 130)
        except _arrow_errors() as exc:
            return self._fail(f"cannot write Parquet: {str(exc).splitlines()[0] if str(exc) else exc!r}")
        finally:
            if store is not None:
                store.close()
        where = f"{opts.output} ({files} files)" if opts.partition else opts.output
        if opts.output == STDOUT:  # the data is on standard output
            print(f"exported {total:,} articles to standard output", file=sys.stderr)
        else:
            print(f"exported {total:,} articles to {where}")

    def _fail(self, message: str, code: int = 1) -> None:
        print(f"error: {message}", file=sys.stderr)
        self.exitcode = code
