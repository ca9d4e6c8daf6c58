"""The selector engine of site selector maps: `sel()`.

Selectors are data (a family's `selectors`, a site's `selector_overrides`): CSS by default, XPath when
the string starts with "/" or "(" (or "./"). A CSS group («.body, #newsMainBody, .khabar-matn») lists a
site's template variants, most likely first. Used by the article pages (newscrawl.pages), the listing
scan and the render middleware, so it lives with the other parsing rules, not in a spider.
"""

from __future__ import annotations

import functools
import re

from parsel import Selector, SelectorList

from newscrawl.parsing.pageindex import PageIndex


def sel(root: Selector | SelectorList, query: str, index: PageIndex | None = None,
        first: bool = False) -> SelectorList:
    """Run a site selector: XPath if it starts with '/' or '(' (or './'), else CSS.

    Each part of a CSS group run by parsel costs a pass over the page, the largest cost of extraction, so
    with the page's `index`: parts naming a class or id the page lacks are skipped unseen, and parts in the
    index's subset are answered from it (see pageindex). With `first`, the parts are tried in order and
    the first that matches wins (for one-element fields); without, every part counts, in page order."""
    if not query:
        return SelectorList([])
    if query.startswith(("/", "(", "./")):
        return root.xpath(query)
    parts = _css_parts(query)
    scope = getattr(root, "selector", root)  # a response: its parsed page
    if index is None or not isinstance(scope, Selector):
        return _css_group(root, parts, first)

    def present(part: str) -> bool:
        return all(index.has(kind, name) for kind, name in _names(part))

    matched = []
    for i, part in enumerate(parts):
        if not present(part):
            continue
        found = index.select(scope, part)
        if found is None:  # outside the index's subset: parsel answers from here on
            rest = parts[i:] if first else parts
            return _css_group(root, [p for p in rest if present(p)], first)
        if found and first:
            return found
        if found:
            matched.append(found)
    if len(matched) > 1:  # several parts matched: XPath's union keeps page order
        return _css_group(root, [p for p in parts if present(p)], False)
    return matched[0] if matched else SelectorList([])


def _css_group(root, parts: list[str], first: bool) -> SelectorList:
    if not first:
        group = ", ".join(parts)
        return root.css(group) if group else SelectorList([])
    for part in parts:
        found = root.css(part)
        if found:
            return found
    return SelectorList([])


@functools.lru_cache(maxsize=1024)
def _names(part: str) -> tuple[tuple[str, str], ...]:
    """The classes (".", name) and ids ("#", name) a CSS selector requires: all must be on the page."""
    bare = re.sub(r"\[[^\]]*\]|::?[\w-]+(\([^)]*\))?", "", part)
    return tuple((kind, name) for kind, name in re.findall(r"([.#])([\w-]+)", bare))


@functools.lru_cache(maxsize=1024)
def _css_parts(query: str) -> tuple[str, ...]:
    """A CSS selector group split at its top-level commas (none occur inside [..] or (..) here)."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(query):
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(query[start:i].strip())
            start = i + 1
    parts.append(query[start:].strip())
    return tuple(p for p in parts if p)
