"""The item's JSON Schema (item.schema.json), one source for validating items and for README's data
dictionary, so the documentation cannot drift from what the tests enforce.

`python -m newscrawl.schema --markdown` prints the data dictionary table; `--validate FILE.jsonl`
checks a feed against the schema.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("item.schema.json")
TABLE_HEADER = "| field | type | meaning | example |\n|---|---|---|---|"


@cache
def _load() -> str:
    """Through the package loader, not the path: under Scrapyd the package is inside a zipped egg."""
    import pkgutil

    return pkgutil.get_data(__name__, "item.schema.json").decode("utf-8")


def load() -> dict:
    """A fresh copy of the schema (callers may change it)."""
    return json.loads(_load())


def validator():
    """A draft 2020-12 validator that also checks `format` (date-time, iri), not only annotates it."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load(), format_checker=Draft202012Validator.FORMAT_CHECKER)


def errors(item: dict) -> list[str]:
    """Every reason `item` breaks the schema, one line each as "field: message" (empty: valid)."""
    found = sorted(validator().iter_errors(item), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(item)'}: {e.message}" for e in found]


def _noun(prop: dict) -> str:
    if prop.get("pattern") == "^[0-9]+$":
        return "string of ASCII digits"
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
