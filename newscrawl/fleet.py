"""Distributed crawling over Redis (scrapy-redis), switched on by NEWSCRAWL_REDIS_URL.

Every `scrapy crawl` process given the same Redis URL and crawl id shares one request queue and one
dupefilter, so a fleet on one or many machines works through one crawl and no URL is fetched twice.
Keys are namespaced by NEWSCRAWL_CRAWL_ID, so a new crawl does not inherit the last one's dupefilter;
SCHEDULER_PERSIST is on because with several workers the first to finish must not wipe the queue.

A killed worker loses nothing. scrapy-redis pops a request and forgets it, so a worker killed mid-crawl
took its requests (and the articles of its uncommitted batch) with it, and the shared dupefilter stopped
anyone from requesting them again. `FleetQueue` and `FleetScheduler` make the queue reliable:

- popping a request also records it in the worker's in-flight hash, in one Lua script, so no kill can
  fall between the two;
- the request leaves that hash only when Scrapy's engine is done with it: its callback's requests are
  in Redis and its items went through every pipeline (stored, or dropped, e.g. as already stored);
- each worker refreshes a heartbeat key (TTL NEWSCRAWL_REDIS_HEARTBEAT); any worker puts the in-flight
  requests of a worker whose heartbeat expired back on the shared queue, around the dupefilter;
- a worker that stops for a storage failure (newscrawl.extensions.halt) acknowledges nothing more and puts what
  it still holds back on the queue when it closes: the articles it spooled are fetched again by the
  fleet, even if this worker never runs again.

Doing a request twice is harmless (the database keeps one row per article, and the storage pipeline
drops an article another worker stored); losing one is not. So every doubt resolves to "fetch again".
Our own code, not a library: scrapy-redis has no acknowledgement, and the reliable-queue libraries
(RQ, Celery) queue jobs, not Scrapy requests behind Scrapy's scheduler interface.
"""

from __future__ import annotations

import itertools
import logging
import os
import secrets
import socket
import time

import redis
from redis.exceptions import RedisError
from scrapy import signals
from scrapy.exceptions import DontCloseSpider, NotConfigured
from scrapy.http import Request, Response
from scrapy.settings import SETTINGS_PRIORITIES
from scrapy.utils.asyncio import create_looping_call
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler

from newscrawl.db import url as dburl
from newscrawl.extensions.halt import halt_for

logger = logging.getLogger(__name__)

#: how often a request whose items failed in the pipelines (item_error) is put back for the fleet
#: before it is given up with an error line: a transient failure heals, a poison page does not loop
ITEM_ERROR_RETRIES = 2

# Lua: each script is one atomic step on the Redis server, so a kill between two commands cannot
# lose a request. Keys not passed as KEYS (per-worker keys built from a prefix) are fine on a single
# Redis server, which is what scrapy-redis supports.

#: KEYS dupefilter, queue; ARGV fingerprint ('' = do not filter), score, request.
#: scrapy-redis adds the fingerprint, then pushes: a kill between the two loses the request for good.
PUSH_NEW = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""

#: KEYS queue, in-flight hash, workers set; ARGV token, worker id. The entry keeps its score.
POP = """
local top = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #top == 0 then return false end
redis.call('ZREM', KEYS[1], top[1])
redis.call('HSET', KEYS[2], ARGV[1], top[2] .. '\\n' .. top[1])
redis.call('SADD', KEYS[3], ARGV[2])
return top[1]
"""

_MOVE_BACK = """
local function move_back(inflight, queue)
  local moved = 0
  for _, entry in ipairs(redis.call('HVALS', inflight)) do
    local cut = string.find(entry, '\\n', 1, true)
    redis.call('ZADD', queue, string.sub(entry, 1, cut - 1), string.sub(entry, cut + 1))
    moved = moved + 1
  end
  redis.call('DEL', inflight)
  return moved
end
"""

#: KEYS workers set, queue; ARGV key prefix. Returns {workers, requests} moved back.
REQUEUE_DEAD = _MOVE_BACK + """
local dead, moved = 0, 0
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', ARGV[1] .. ':alive:' .. worker) == 0 then
    moved = moved + move_back(ARGV[1] .. ':inflight:' .. worker, KEYS[2])
    redis.call('SREM', KEYS[1], worker)
    dead = dead + 1
  end
end
return {dead, moved}
"""

#: KEYS workers set, queue, in-flight hash, heartbeat; ARGV worker id. A clean exit.
LEAVE = _MOVE_BACK + """
local moved = move_back(KEYS[3], KEYS[2])
redis.call('SREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[4])
return moved
"""

#: KEYS in-flight hash, queue, failures hash; ARGV token, fingerprint, retries. Returns the failure
#: count, negative when given up (the entry is removed, not re-queued).
RELEASE = """
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local failures = redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
if failures > tonumber(ARGV[3]) then return -failures end
local cut = string.find(entry, '\\n', 1, true)
redis.call('ZADD', KEYS[2], string.sub(entry, 1, cut - 1), string.sub(entry, cut + 1))
return failures
"""

#: KEYS workers set; ARGV key prefix, this worker. Requests in flight on the other workers.
BUSY = """
local n = 0
for _, worker in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if worker ~= ARGV[2] then n = n + redis.call('HLEN', ARGV[1] .. ':inflight:' .. worker) end
end
return n
"""


def preflight(settings) -> str | None:
    """A one-line error when the fleet's Redis cannot be reached (password hidden), else None."""
    url = settings.get("NEWSCRAWL_REDIS_URL")
    if not url:
        return None
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5)
        try:
            client.ping()
        finally:
            client.close()
    except (RedisError, ValueError) as exc:
        shown = dburl.mask(url)
        detail = " ".join(str(exc).split())
        return f"cannot reach Redis {shown}: {detail}"
    return None


def settle(taken, inprogress, failed, halted: bool) -> tuple[list, list]:
    """(requests to acknowledge, requests to put back) among the `taken` ones.

    A request is finished when the engine no longer has it `inprogress`. A finished request whose
    items raised in a pipeline (`failed`) goes back to the queue; once the crawl is `halted` for a
    storage failure nothing is acknowledged (its articles may be in the spool, not the database)."""
    if halted:
        return [], []
    done = [request for request in taken if request not in inprogress]
    return [r for r in done if r not in failed], [r for r in done if r in failed]


def fleet_prefix(queue_key: str) -> str:
    """`newscrawl:<spider>:<crawl>` from the queue key `newscrawl:<spider>:<crawl>:requests`."""
    return queue_key.removesuffix(":requests")


class RedisAddon:
    """Listed in ADDONS; does nothing unless NEWSCRAWL_REDIS_URL is set."""

    def update_settings(self, settings):
        url = settings.get("NEWSCRAWL_REDIS_URL")
        if not url:
            return
        crawl = settings.get("NEWSCRAWL_CRAWL_ID")
        settings.set("SCHEDULER", "newscrawl.fleet.FleetScheduler", "addon")
        settings.set("SCHEDULER_QUEUE_CLASS", "newscrawl.fleet.FleetQueue", "addon")
        settings.set("DUPEFILTER_CLASS", "scrapy_redis.dupefilter.RFPDupeFilter", "addon")
        settings.set("SCHEDULER_PERSIST", True, "addon")
        settings.set("REDIS_URL", url, "addon")
        settings.set("SCHEDULER_QUEUE_KEY", f"newscrawl:%(spider)s:{crawl}:requests", "addon")
        settings.set("SCHEDULER_DUPEFILTER_KEY", f"newscrawl:%(spider)s:{crawl}:dupefilter", "addon")
        settings["EXTENSIONS"][FleetIdle] = 600
        # A worker that joins after the others drained the queue rightly fetches nothing; the fleet's
        # health is the sum of its workers' runs (the crawls table). An operator's -s still wins.
        if settings.getpriority("SPIDERMON_MIN_SUCCESSFUL_REQUESTS") <= SETTINGS_PRIORITIES["project"]:
            settings.set("SPIDERMON_MIN_SUCCESSFUL_REQUESTS", 0, "project")


class FleetQueue(PriorityQueue):
    """scrapy-redis's priority queue (a sorted set, its serializer) with per-worker in-flight entries.

    Keys, besides the queue: `<prefix>:workers` (a set of worker ids), `<prefix>:alive:<worker>` (the
    heartbeat, with a TTL), `<prefix>:inflight:<worker>` (a hash: token → score and request) and
    `<prefix>:item_failures` (fingerprint → how often its items failed)."""

    def __init__(self, server, spider, key, serializer=None):
        super().__init__(server, spider, key, serializer)
        self.prefix = fleet_prefix(self.key)
        host, pid = socket.gethostname(), os.getpid()
        self.worker = f"{host}-{pid}-{secrets.token_hex(3)}"  # a restarted process is a new worker
        self.label = f"{host} pid {pid}"
        self.workers_key = f"{self.prefix}:workers"
        self.alive_key = f"{self.prefix}:alive:{self.worker}"
        self.inflight_key = f"{self.prefix}:inflight:{self.worker}"
        self.failures_key = f"{self.prefix}:item_failures"
        #: request → its token in the in-flight hash, for the requests this process popped
        self.taken: dict[Request, str] = {}
        self.stats = None
        self._tokens = itertools.count()
        self._push_new = server.register_script(PUSH_NEW)
        self._pop = server.register_script(POP)
        self._requeue_dead = server.register_script(REQUEUE_DEAD)
        self._leave = server.register_script(LEAVE)
        self._release = server.register_script(RELEASE)
        self._busy = server.register_script(BUSY)

    def push_new(self, request: Request, fingerprint: str, dupefilter_key: str) -> bool:
        """Push unless the dupefilter has seen `fingerprint` ('' = always push); False when filtered."""
        return bool(self._push_new(keys=[dupefilter_key, self.key],
                                   args=[fingerprint, -request.priority, self._encode_request(request)]))

    def pop(self, timeout=0):
        while True:
            token = str(next(self._tokens))
            data = self._pop(keys=[self.key, self.inflight_key, self.workers_key], args=[token, self.worker])
            if data is None:
                return None
            try:
                request = self._decode_request(data)
            except Exception as exc:  # e.g. a callback that no longer exists: it can never run
                self.server.hdel(self.inflight_key, token)
                if self.stats is not None:
                    self.stats.inc_value("newscrawl/fleet/unreadable")
                logger.error("dropped a queued request that cannot be read back: %s: %s", type(exc).__name__, exc)
                continue
            self.taken[request] = token
            return request

    def ack(self, requests) -> int:
        """The work of `requests` is done: remove their in-flight entries."""
        tokens = [self.taken.pop(request) for request in requests]
        if tokens:
            self.server.hdel(self.inflight_key, *tokens)
        return len(tokens)

    def release(self, request: Request, fingerprint: str, retries: int) -> int:
        """Put a taken request back on the queue for any worker; see RELEASE for the result."""
        return self._release(keys=[self.inflight_key, self.key, self.failures_key],
                             args=[self.taken.pop(request), fingerprint, retries])

    def beat(self, ttl: float) -> bool:
        """Refresh this worker's heartbeat; True when it had expired (or this is the first beat)."""
        pipe = self.server.pipeline()  # MULTI/EXEC: one step
        pipe.exists(self.alive_key)
        pipe.set(self.alive_key, self.label, px=max(1, int(ttl * 1000)))
        pipe.sadd(self.workers_key, self.worker)
        existed, _, _ = pipe.execute()
        return not existed

    def requeue_dead(self) -> tuple[int, int]:
        """Move the in-flight requests of workers whose heartbeat expired back to the queue:
        (workers, requests)."""
        dead, moved = self._requeue_dead(keys=[self.workers_key, self.key], args=[self.prefix])
        return int(dead), int(moved)

    def busy_elsewhere(self) -> int:
        """Requests in flight on the other workers, alive or dead."""
        return int(self._busy(keys=[self.workers_key], args=[self.prefix, self.worker]))

    def leave(self) -> int:
        """A clean exit: anything still in flight goes back to the queue, the heartbeat is deleted."""
        self.taken.clear()
        return int(self._leave(keys=[self.workers_key, self.key, self.inflight_key, self.alive_key],
                               args=[self.worker]))


class FleetScheduler(Scheduler):
    """scrapy-redis's scheduler on a FleetQueue: acknowledges finished requests, keeps the heartbeat
    and re-queues the work of dead workers (see the module docstring).

    "Finished" is read from the engine's own set of requests in progress (`engine._slot.inprogress`):
    a request leaves it only after its callback's output was consumed and every item of it went
    through the pipelines and the item signals (the feed line). No public signal marks that moment
    (retries and redirects replace a request inside the downloader middlewares), so this private
    attribute is checked when the spider opens, and Scrapy is pinned in requirements.txt."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.crawler = None
        self.ttl: float | None = None  # NEWSCRAWL_REDIS_HEARTBEAT, set by from_crawler
        self.inprogress: set[Request] = set()
        self.failed: set[Request] = set()  # taken requests whose items raised in a pipeline
        self.loop = None
        self.acked_at = 0.0  # monotonic time of the last acknowledgement
        self.tick_failing = False

    @classmethod
    def from_crawler(cls, crawler):
        scheduler = super().from_crawler(crawler)
        scheduler.crawler = crawler
        scheduler.ttl = crawler.settings.getfloat("NEWSCRAWL_REDIS_HEARTBEAT")
        if scheduler.ttl <= 0:
            raise ValueError(f"NEWSCRAWL_REDIS_HEARTBEAT must be positive, not {scheduler.ttl}")
        crawler.signals.connect(scheduler.item_error, signal=signals.item_error)
        return scheduler

    def open(self, spider):
        super().open(spider)
        if not isinstance(self.queue, FleetQueue):
            raise ValueError(f"FleetScheduler needs SCHEDULER_QUEUE_CLASS = newscrawl.fleet.FleetQueue, "
                             f"not {self.queue_cls}")
        inprogress = getattr(getattr(self.crawler.engine, "_slot", None), "inprogress", None)
        if not isinstance(inprogress, set):
            raise RuntimeError("this Scrapy version has no engine._slot.inprogress; the fleet's "
                               "acknowledgements (newscrawl.fleet) must be adapted to it")
        self.inprogress = inprogress
        self.queue.stats = self.stats
        self.queue.beat(self.ttl)
        logger.info("fleet worker %s (heartbeat %g s)", self.queue.worker, self.ttl)
        self.requeue_dead()
        self.loop = create_looping_call(self.tick)
        self.loop.start(min(1.0, self.ttl / 3), now=False)

    def next_request(self):
        # acknowledge as the engine asks for more (at most every 0.1 s), not only every second: less to
        # fetch again after a crash
        now = time.monotonic()
        if now - self.acked_at >= 0.1:
            self.acked_at = now
            self.acknowledge()
        return super().next_request()

    def enqueue_request(self, request):
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        if not self.queue.push_new(request, fingerprint, self.df.key):
            self.df.log(request, self.spider)
            return False
        if self.stats:
            self.stats.inc_value("scheduler/enqueued/redis", spider=self.spider)
        return True

    def item_error(self, item, response, spider, failure):
        request = getattr(response, "request", None) if isinstance(response, Response) else None
        if request is None:
            return
        if request not in self.queue.taken:  # a middleware may have built the response with a copy
            request = next((r for r in self.queue.taken if r.url == request.url), None)
        if request is not None:
            self.failed.add(request)

    def acknowledge(self) -> None:
        """Acknowledge the finished requests; put those whose items failed back for the fleet."""
        done, failed = settle(self.queue.taken, self.inprogress, self.failed, bool(halt_for(self.crawler)))
        self.failed.difference_update(failed)
        self.queue.ack(done)
        for request in failed:
            count = self.queue.release(request, self.df.request_fingerprint(request), ITEM_ERROR_RETRIES)
            if count < 0:
                self.stats.inc_value("newscrawl/fleet/item_errors_given_up")
                logger.error("gave up on %s: its items failed in the pipelines %d times", request.url, -count)
            elif count:
                self.stats.inc_value("newscrawl/fleet/item_errors_requeued")
                logger.warning("re-queued %s for the fleet: its items failed in the pipelines", request.url)

    def requeue_dead(self) -> None:
        dead, moved = self.queue.requeue_dead()
        if dead:
            self.stats.inc_value("newscrawl/fleet/dead_workers", dead)
            self.stats.inc_value("newscrawl/fleet/requeued", moved)
            logger.warning("re-queued %d requests in flight on %d fleet workers whose heartbeat expired",
                           moved, dead)

    def tick(self) -> None:
        try:
            self.acknowledge()
            if self.queue.beat(self.ttl):
                self.stats.inc_value("newscrawl/fleet/presumed_dead")
                logger.warning("this worker's heartbeat expired (blocked for over %g s): the fleet re-queued "
                               "its requests, which may be fetched twice", self.ttl)
            self.requeue_dead()
            self.wake()
        except Exception as exc:  # noqa: BLE001  (one line per outage; a stopped loop would let the fleet
            # take this live worker's requests: fetched twice, not lost, but for nothing)
            if not self.tick_failing:
                logger.error("fleet heartbeat failed (retried every second): %s: %s", type(exc).__name__, exc)
            self.tick_failing = True
            return
        if self.tick_failing:
            logger.info("fleet heartbeat works again")
        self.tick_failing = False

    def wake(self) -> None:
        """Have an idle engine look at the queue now: other workers fill it, and Scrapy's engine only
        polls an idle scheduler every 5 s, so an idle worker kept missing the work a busy one drains."""
        slot = self.crawler.engine._slot
        if slot is not None and slot.closing is None and len(self.queue):
            slot.nextcall.schedule()

    def fleet_busy(self) -> int:
        """Requests other workers hold: while they may still add requests (or die and leave theirs
        to be re-queued), an idle worker must not close."""
        return self.queue.busy_elsewhere()

    def close(self, reason):
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        try:
            self.acknowledge()
            left = self.queue.leave()
        except RedisError as exc:
            logger.error("fleet worker %s could not sign off, Redis unreachable (its requests are re-queued "
                         "by the fleet after %g s): %s", self.queue.worker, self.ttl, exc)
        else:
            if left:
                self.stats.inc_value("newscrawl/fleet/requeued_at_close", left)
                halt = halt_for(self.crawler)
                logger.warning("re-queued %d requests for the fleet: %s", left,
                               f"this worker stopped ({halt.reason}) before their articles were stored"
                               if halt else "still in flight at close")
        super().close(reason)


class FleetIdle:
    """Keep an idle worker alive while other workers hold requests (they may add more, or die and have
    theirs re-queued), and then NEWSCRAWL_REDIS_IDLE_CLOSE seconds more: another worker may still be
    parsing a listing page that will fill the shared queue again."""

    def __init__(self, crawler, wait: float):
        self.crawler = crawler
        self.wait = wait
        self.idle_since: float | None = None
        self.waiting_for_others = False
        crawler.signals.connect(self.spider_idle, signal=signals.spider_idle)
        crawler.signals.connect(self.request_scheduled, signal=signals.request_scheduled)
        crawler.signals.connect(self.response_received, signal=signals.response_received)

    @classmethod
    def from_crawler(cls, crawler):
        if not crawler.settings.get("NEWSCRAWL_REDIS_URL"):
            raise NotConfigured
        return cls(crawler, crawler.settings.getfloat("NEWSCRAWL_REDIS_IDLE_CLOSE"))

    def request_scheduled(self, request, spider):
        self.idle_since = None

    def response_received(self, response, request, spider):
        self.idle_since = None

    def spider_idle(self, spider):
        now = time.monotonic()
        scheduler = self.crawler.engine.scheduler
        others = scheduler.fleet_busy() if isinstance(scheduler, FleetScheduler) else 0
        if others and not self.waiting_for_others:
            logger.info("idle, waiting for %d requests in flight on other fleet workers", others)
        self.waiting_for_others = bool(others)
        if others or self.idle_since is None:
            self.idle_since = now
        if now - self.idle_since < self.wait:
            raise DontCloseSpider
