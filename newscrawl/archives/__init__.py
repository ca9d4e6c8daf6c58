"""Reading articles from web archives: WARC files (newscrawl.archives.warc), Common Crawl and the Wayback
Machine. A page read from an archive travels through the crawl like a live one, with its provenance in the
request/response meta key `newscrawl_archive` (see docs/archives.md).

This module imports nothing: newscrawl.items reads SOURCES from it (the `fetched_from` values)."""

#: the request/response meta key that carries an archived page's provenance: {"fetched_from",
#: "archive_ref", "captured_at"}; absent on a live crawl's requests
META_KEY = "newscrawl_archive"
#: the values of the item's `fetched_from` field
SOURCES = ("live", "warc", "commoncrawl", "wayback")
