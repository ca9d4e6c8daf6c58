"""testkit.devservers.closing_stats: reading Scrapy's closing stats dump from a crawl's log."""

from testkit.devservers import closing_stats

LOG = """2026-11-25 12:31:55 [scrapy.core.engine] INFO: Closing spider (finished)
2026-11-25 12:31:55 [scrapy.statscollectors] INFO: Dumping Scrapy stats:
{'downloader/response_count': 26,
 'elapsed_time_seconds': 1.25,
 'finish_reason': 'finished',
 'finish_time': datetime.datetime(2026, 11, 25, 12, 31, 55, tzinfo=datetime.timezone.utc),
 'newscrawl/resumed_after_crash': True,
 'retry/reason_count/500 Internal Server Error': 1,
 'start_time': datetime.datetime(2026, 11, 25, 12, 31, 54, tzinfo=datetime.timezone.utc),
 'zzz/last': 3}
2026-11-25 12:31:55 [scrapy.core.engine] INFO: Spider closed (finished)
"""


def test_values_keep_their_types_and_the_last_entry_is_read():
    stats = closing_stats(LOG)
    assert stats["downloader/response_count"] == 26
    assert stats["elapsed_time_seconds"] == 1.25
    assert stats["finish_reason"] == "finished"
    assert stats["newscrawl/resumed_after_crash"] is True
    assert stats["retry/reason_count/500 Internal Server Error"] == 1
    assert stats["zzz/last"] == 3  # followed by the closing brace
    assert stats["start_time"].startswith("datetime.datetime(2026, 11, 25")  # kept as text
    assert len(stats) == 8


def test_no_dump_is_no_stats():
    assert closing_stats("2026-11-25 [scrapy] INFO: Spider opened\n") == {}
