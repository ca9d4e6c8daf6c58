"""The item's JSON Schema, built from the field list in newscrawl.items: one source for validating items
and for README's data dictionary, so the documentation cannot drift from what the tests enforce.

`python -m newscrawl.schema` prints the schema, `--markdown` the data dictionary table; `--validate
FILE.jsonl` checks a feed against the schema.
"""

from __future__ import annotations

import copy
import json
from functools import cache

from newscrawl.items import FIELDS, ArticleItem

TABLE_HEADER = "| field | type | meaning | example |\n|---|---|---|---|"
DESCRIPTION = ("One news article, the same for every site. Every field is always present; a missing scalar is "
               "null and a missing list is []. Text is UTF-8 Persian and keeps its ZWNJ (U+200C).")


def _property(meta) -> dict:
    """One field's JSON Schema: its kind's type, `rules` on each value, null allowed or a list of values."""
    value = {"type": "string", **meta["rules"]}
    if meta["list"]:
        value = {"type": "array", "items": value}
    elif meta["nullable"]:
        value["type"] = ["string", "null"]
    return {**value, "description": meta["description"], "examples": [meta["example"]]}


@cache
def _build() -> dict:
    """Built from newscrawl.items in code, not read from a file: one home for the field list, and nothing
    to load from inside the zipped egg Scrapyd runs."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:newscrawl:schema:item",
        "title": "newscrawl article",
        "description": DESCRIPTION,
        "type": "object",
        "required": list(FIELDS),
        "additionalProperties": False,
        "properties": {name: _property(ArticleItem.fields[name]) for name in FIELDS},
    }


def load() -> dict:
    """A fresh copy of the schema (callers may change it)."""
    return copy.deepcopy(_build())


def validator():
    """A draft 2020-12 validator that also checks `format` (date-time, iri), not only annotates it."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(item: dict) -> list[str]:
    """Every reason `item` breaks the schema, one line each as "field: message" (empty: valid)."""
    found = sorted(validator().iter_errors(item), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(item)'}: {e.message}" for e in found]


def _noun(prop: dict) -> str:
    if prop.get("pattern") == "^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$":
        return "string of ASCII letters, digits, - and _"
    nouns = {"date-time": "date-time string", "iri": "URL string", "uri": "URL string"}
    return nouns.get(prop.get("format"), "string")


def type_text(prop: dict) -> str:
    """A reader's type: "string or null", "list of strings", "date-time string"."""
    types = prop["type"] if isinstance(prop["type"], list) else [prop["type"]]
    main = next(t for t in types if t != "null")
    text = f"list of {_noun(prop['items'])}s" if main == "array" else _noun(prop) if main == "string" else main
    return text + (" or null" if "null" in types else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def markdown_table(schema: dict | None = None) -> str:
    """README's data dictionary: one row per field in item order (field, type, meaning, example)."""
    schema = schema or load()
    rows = [TABLE_HEADER]
    for name, prop in schema["properties"].items():
        example = json.dumps(prop["examples"][0], ensure_ascii=False)
        rows.append(f"| `{name}` | {type_text(prop)} | {_cell(prop['description'])} | `{_cell(example)}` |")
    return "\n".join(rows)
