"""A JOBDIR that always resumes: one crawl at a time, and never a request queue that cannot be trusted.

Why: Scrapy resumes from `JOBDIR/requests.queue` exactly as it finds it. After a SIGKILL its queue files
can be cut short or out of step with `active.json` (written only by a clean close, and the killed run may
have reopened and changed the files after that), and one bad file stops every later run at once
(`struct.error: unpack requires a buffer of 4 bytes`). Two processes on one JOBDIR would pop each other's
requests and overwrite each other's files. Scrapy offers neither a check nor a lock, so:

- `JobdirGuard` (an add-on: it runs before Scrapy opens anything in JOBDIR) takes an exclusive
  `fcntl.flock` on `JOBDIR/newscrawl.lock`, held for the process's lifetime. When another process holds
  it, the crawl is pointed away from JOBDIR and its feeds and closes at once (`jobdir_in_use`).
- With the lock, `prepare` decides what can be trusted. After a kill (`newscrawl.running` left behind)
  nothing of Scrapy's queue is kept. After a clean stop every listed queue is read through on a copy, and
  a damaged one, or a file `active.json` does not list, drops the queue too. The crawl is then rebuilt
  from what is known: the spider's start requests, a walk of the whole range (a resumed crawl never stops
  early), and the database, which says what is stored (stored articles are skipped before download).
- `ResumeMarker` (an extension) tells the spider it is resuming, also after a kill, when Scrapy has not
  saved its state: it writes `newscrawl.started` when a crawl opens and keeps `newscrawl.running` until it
  closes.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from scrapy import signals
from scrapy.exceptions import CloseSpider, NotConfigured
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.job import job_dir
from scrapy.utils.misc import load_object

logger = logging.getLogger(__name__)

MARKER = "newscrawl.started"
#: present while a crawl runs; left behind by a kill
RUNNING = "newscrawl.running"
LOCK = "newscrawl.lock"
QUEUES = "requests.queue"
STATE = "spider.state"
#: the finish reason of a crawl that found its JOBDIR taken
IN_USE = "jobdir_in_use"
_VERDICT = "_newscrawl_jobdir"

#: JOBDIR (real path) → the open, flock'ed lock file; kept until the process exits
_locks: dict[str, int] = {}
#: JOBDIR (real path) → the crawler using it in this process (None: reserved, e.g. by `scrapy crawl`)
_owners: dict[str, object] = {}


def _lock(jobdir: str) -> str | None:
    """Hold JOBDIR's lock for this process; a one-line reason when another process holds it."""
    key = os.path.realpath(jobdir)
    if key in _locks:
        return None
    try:
        os.makedirs(key, exist_ok=True)
        fd = os.open(os.path.join(key, LOCK), os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        return f"cannot use JOBDIR {jobdir}: {exc.strerror or exc}"
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
        os.close(fd)
        return f"JOBDIR {jobdir} is in use by another crawl (pid {holder})"
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _locks[key] = fd
    return None


def jobdir_busy(settings) -> str | None:
    """For the `scrapy crawl` preflight: None when the crawl can have its JOBDIR (or has none), else a
    one-line reason. The JOBDIR's lock is then held by this process, for the crawl it is about to run."""
    jobdir = settings.get("JOBDIR")
    if not jobdir:
        return None
    busy = _lock(jobdir)
    if busy is None and _owners.get(os.path.realpath(jobdir)) is not None:
        return f"JOBDIR {jobdir} is in use by another crawl in this process"
    return busy


def claim(jobdir: str, crawler) -> str | None:
    """Take JOBDIR for `crawler` (the lock, and within this process, the only crawler using it)."""
    busy = _lock(jobdir)
    if busy:
        return busy
    key = os.path.realpath(jobdir)
    owner = _owners.get(key)
    if owner is not None and owner is not crawler:
        return f"JOBDIR {jobdir} is in use by another crawl in this process"
    _owners[key] = crawler
    return None


def release(jobdir: str, crawler) -> None:
    """Let a later crawler of this process use JOBDIR (the file lock stays with the process)."""
    key = os.path.realpath(jobdir)
    if _owners.get(key) is crawler:
        _owners[key] = None


@dataclass(frozen=True)
class Verdict:
    """What `prepare` found: the last crawl was killed; the request queue was dropped and why."""

    killed: bool = False
    rebuilt: str | None = None


def _queue_classes(settings):
    """(the classes that read the main and the start disk queues' entries, the function that turns an
    entry into a request dict): Scrapy's pickle/marshal wrappers when they are in the configured classes'
    ancestry, else their queuelib base with entries left as bytes."""
    found = []
    for name in ("SCHEDULER_DISK_QUEUE", "SCHEDULER_START_DISK_QUEUE"):
        mro = load_object(settings.get(name)).__mro__
        reader = next((c for c in mro if c.__name__ == "SerializableQueue"), None) or next(
            (c for c in mro if c.__module__.startswith("queuelib")), None)
        found.append(reader)
    return found


def queue_problem(queues: Path, settings, spider=None) -> str | None:
    """Why Scrapy's saved request queue in `queues` cannot be trusted, or None.

    It is trusted only as a clean close leaves it: `active.json` readable, no queue file it does not list
    (a later push would reopen and trust it), and every listed queue readable to its end, each entry a
    request (with `spider`: one whose callback still exists). Read on a copy: popping changes the files."""
    if not queues.is_dir():
        return None
    active = queues / "active.json"
    files = [p for p in queues.rglob("*") if p.is_file() and p != active]
    if not active.exists():
        return f"{len(files)} queue files but no active.json" if files else None
    try:
        state = json.loads(active.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return f"active.json is unreadable ({exc})"
    from scrapy.pqueues import _path_safe

    if isinstance(state, dict):
        slots = [(queues / _path_safe(slot), prios) for slot, prios in state.items()]
    elif isinstance(state, list):
        slots = [(queues, state)]
    else:
        return "active.json is not a queue state"
    main_reader, start_reader = _queue_classes(settings)
    listed: dict[Path, type | None] = {}
    for base, prios in slots:
        if not isinstance(prios, list) or not all(isinstance(p, int) for p in prios):
            return "active.json is not a queue state"
        for prio in prios:
            listed[base / str(prio)] = main_reader
            listed[base / f"{prio}s"] = start_reader
    for path in files:
        if not any(path == q or q in path.parents for q in listed):
            return f"{path.relative_to(queues)} is not listed in active.json"
    for path, reader in listed.items():
        if reader is not None and path.exists():
            problem = _read_through(path, reader, spider, scratch=queues.parent)
            if problem:
                return f"{path.relative_to(queues)}: {problem}"
    return None


def _read_through(path: Path, reader: type, spider, scratch: Path) -> str | None:
    """Pop every entry of the queue at `path` from a copy in `scratch`; what went wrong, or None."""
    from scrapy.utils.request import request_from_dict

    with tempfile.TemporaryDirectory(prefix="newscrawl-queue-", dir=scratch) as tmp:
        copy = Path(tmp, path.name)
        try:
            if path.is_dir():
                shutil.copytree(path, copy)
            else:
                shutil.copy2(path, copy)
            queue = reader(str(copy))
        except Exception as exc:  # noqa: BLE001  (struct.error, ValueError, OSError...)
            return f"{type(exc).__name__}: {exc}"
        try:
            for _ in range(len(queue)):
                entry = queue.pop()
                if entry is None:
                    return "fewer entries than its header says"
                if spider is not None and isinstance(entry, dict):
                    request_from_dict(entry, spider=spider)
            size_size = getattr(queue, "SIZE_SIZE", None)
            if size_size is not None and copy.is_file() and copy.stat().st_size != size_size:
                return "more bytes than its entries"  # LifoDiskQueue: only the header should be left
        except Exception as exc:  # noqa: BLE001  (struct.error, pickle's, EOFError, OSError, ValueError...)
            return f"{type(exc).__name__}: {exc}"
        finally:
            try:
                queue.close()
            except Exception:  # noqa: BLE001, S110  (a damaged copy, removed with its folder)
                pass
    return None


def prepare(jobdir: str, settings, spider=None) -> Verdict:
    """Make JOBDIR safe to resume, before Scrapy's scheduler and SpiderState read it (see the module doc)."""
    root = Path(jobdir)
    queues = root / QUEUES
    killed = (root / RUNNING).exists()
    if killed:
        rebuilt = "the last crawl was killed" if queues.exists() else None
        if rebuilt:
            logger.info("the last crawl in %s did not close: its request queue is not trusted; the crawl is "
                        "rebuilt from its start requests, a walk of the whole range and the database", root)
    else:
        rebuilt = queue_problem(queues, settings, spider)
        if rebuilt:
            logger.warning("the request queue in %s cannot be trusted (%s): it is dropped, and the crawl is "
                           "rebuilt from its start requests, a walk of the whole range and the database",
                           queues, rebuilt)
    if rebuilt:
        shutil.rmtree(queues, ignore_errors=True)
    state = root / STATE
    if state.exists():
        try:
            with state.open("rb") as fh:
                pickle.load(fh)
        except Exception as exc:  # noqa: BLE001  (cut short by a kill: EOFError, UnpicklingError...)
            logger.warning("%s is unreadable (%s: %s): removed; %s says the crawl had started", state,
                           type(exc).__name__, exc, MARKER)
            state.unlink(missing_ok=True)
    return Verdict(killed=killed, rebuilt=rebuilt)


class JobdirGuard:
    """Add-on (ADDONS): the JOBDIR lock and `prepare`, before Scrapy opens anything in JOBDIR."""

    def __init__(self, crawler):
        self.crawler = crawler
        self.jobdir: str | None = None
        self.busy: str | None = None

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    def update_settings(self, settings) -> None:
        jobdir = settings.get("JOBDIR")
        if not jobdir:
            return
        self.busy = claim(jobdir, self.crawler)
        if self.busy:
            # above -s: this crawl must not open the other one's queue, state or feed files, nor replay or
            # write anything in the database (it stores nothing)
            top = SETTINGS_PRIORITIES["cmdline"] + 1
            for name, value in (("JOBDIR", None), ("FEEDS", {}), ("ITEM_PIPELINES", {})):
                settings.set(name, value, priority=top)
            self.crawler.signals.connect(self.refuse, signal=signals.spider_opened)
            return
        self.jobdir = jobdir
        self.crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)
        setattr(self.crawler, _VERDICT, prepare(jobdir, settings, getattr(self.crawler, "spider", None)))

    def refuse(self, spider):
        logger.error("%s: this crawl stops without touching it", self.busy)
        raise CloseSpider(IN_USE)

    def spider_closed(self, spider, reason):
        release(self.jobdir, self.crawler)


class ResumeMarker:
    """Extension: `spider.state["started"]` and `newscrawl/resumed_after_crash` after a kill too.

    Connected after Scrapy's SpiderState (EXTENSIONS_BASE), which loads spider.state on the same signal."""

    def __init__(self, crawler, jobdir: str, verdict: Verdict):
        self.crawler = crawler
        self.marker = Path(jobdir, MARKER)
        self.running = Path(jobdir, RUNNING)
        self.verdict = verdict

    @classmethod
    def from_crawler(cls, crawler):
        jobdir = job_dir(crawler.settings)
        if not jobdir:
            raise NotConfigured
        # without JobdirGuard among the add-ons: no lock, but the queue is still checked before Scrapy's
        verdict = getattr(crawler, _VERDICT, None) or prepare(jobdir, crawler.settings,
                                                             getattr(crawler, "spider", None))
        ext = cls(crawler, jobdir, verdict)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider):
        state = getattr(spider, "state", None)
        if state is None:
            spider.state = state = {}
        killed = self.verdict.killed or (self.marker.exists() and not state.get("started"))
        if killed:
            state["started"] = True
            self.crawler.stats.set_value("newscrawl/resumed_after_crash", True)
            logger.info("the last crawl in %s did not close: resuming after a crash", self.marker.parent)
        if self.verdict.rebuilt:
            self.crawler.stats.set_value("newscrawl/jobdir/queue_rebuilt", self.verdict.rebuilt)
        self.marker.parent.mkdir(parents=True, exist_ok=True)
        self.marker.touch()
        self.running.touch()

    def spider_closed(self, spider, reason):
        self.running.unlink(missing_ok=True)
