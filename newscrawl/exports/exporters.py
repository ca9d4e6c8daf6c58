"""The CSV dialect in one place, for `scrapy export` and a crawl's CSV feeds (`-O items.csv`, FEED_EXPORTERS).

UTF-8 with a BOM (Excel and LibreOffice then read Persian without an import dialog), a header row, list
fields as JSON arrays in their cells (`["ورزشی", "فوتبال"]`, so a comma inside a tag survives), `provenance` as
a JSON object (`{"title": "site"}`), null as
an empty cell; Python's csv defaults otherwise (comma, `"` quoting, CRLF). Scrapy's own CsvItemExporter
joins lists with commas and writes no BOM, so a crawl's CSV and an export's would differ.
"""

from __future__ import annotations

import json

from scrapy.exporters import CsvItemExporter

from newscrawl.items import LIST_FIELDS

#: the encoding of every CSV we write; TextIOWrapper writes the BOM once, at the start of a new file
CSV_ENCODING = "utf-8-sig"


def csv_cell(name: str, value):
    """One cell: a list field as a JSON array, a map (provenance) as a JSON object, None as an empty cell,
    anything else as it is."""
    if value is None:
        return ""
    if name in LIST_FIELDS:
        return json.dumps(list(value), ensure_ascii=False)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def csv_row(row: dict, fields) -> list:
    return [csv_cell(name, row.get(name)) for name in fields]


class NewsCsvItemExporter(CsvItemExporter):
    """Scrapy's CSV exporter in our dialect (registered for `csv` in FEED_EXPORTERS)."""

    def __init__(self, file, **kwargs):
        kwargs["encoding"] = CSV_ENCODING  # FEED_EXPORT_ENCODING is utf-8; the BOM is part of the dialect
        super().__init__(file, **kwargs)

    def serialize_field(self, field, name, value):
        if "serializer" in field:
            return super().serialize_field(field, name, value)
        return csv_cell(name, value)
