"""What a bad spider argument is, and the yes/no reading every spider shares: a module of its own so the
archive readers (newscrawl.archives.remote), which the spiders import, can raise it without an import cycle."""

from __future__ import annotations

from typing import Any


class ArgumentError(ValueError):
    """A bad spider argument; the crawl command prints it as one line and exits 2."""


def truthy(value: Any, name: str) -> bool:
    """`1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`/empty; anything else is an ArgumentError."""
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise ArgumentError(f"{name}: expected 1 or 0, got {value!r}")
