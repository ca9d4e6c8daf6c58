"""Turn an article-body element into clean paragraphs.

Why our own: generic extractors (trafilatura, readability) drop ZWNJs and guess at boundaries; on a
known template we already hold the body element, so all that is left is removing the known junk and
splitting on block boundaries. lxml does the parsing; this is a short tree walk.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable

from parsel import Selector

BLOCK_TAGS = frozenset(
    "p div section article blockquote figure figcaption h1 h2 h3 h4 h5 h6 ul ol li table tr pre header "
    "footer aside dl dt dd hr".split()
)
#: never text, whatever the site
ALWAYS_DROP = "script, style, noscript, iframe, form, button, svg, object, embed, template, select, input"
PARAGRAPH_BREAK = "\x00"
#: what lxml parses but refuses to set back as text (Word pastes stray control bytes into articles)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _remove(node) -> None:
    """Remove a node but keep its tail text in place."""
    parent = node.getparent()
    if parent is None:
        return
    tail = _NOT_XML.sub("", node.tail or "")
    if tail:
        prev = node.getprevious()
        if prev is not None:
            prev.tail = _NOT_XML.sub("", prev.tail or "") + tail
        else:
            parent.text = _NOT_XML.sub("", parent.text or "") + tail
    parent.remove(node)


def pruned(sel: Selector, drop: str | None = None) -> Selector:
    """A copy of `sel` without the elements matched by `drop` (CSS) and the always-dropped ones."""
    root = copy.deepcopy(sel.root)
    root.tail = None  # the copy's tail is outside the element
    tmp = Selector(root=root)
    css = ALWAYS_DROP + (", " + drop if drop else "")
    for node in tmp.css(css):
        if node.root is not root:
            _remove(node.root)
    return tmp


def _walk(node, out: list[str]) -> None:
    tag = node.tag if isinstance(node.tag, str) else ""
    block = tag.lower() in BLOCK_TAGS
    if block:
        out.append(PARAGRAPH_BREAK)
    if tag.lower() == "br":
        out.append("\n")
    elif tag and node.text:  # comments and processing instructions have no str tag
        out.append(node.text)
    for child in node:
        _walk(child, out)
    if block:
        out.append(PARAGRAPH_BREAK)
    if node.tail:
        out.append(node.tail)


def paragraphs(sel: Selector, drop: str | None = None) -> list[str]:
    """Raw paragraph texts of an element: block elements and double <br> separate paragraphs."""
    root = pruned(sel, drop).root
    out: list[str] = []
    _walk(root, out)
    text = "".join(out).replace("\n\n", PARAGRAPH_BREAK)
    return [p for p in (part.strip() for part in text.split(PARAGRAPH_BREAK)) if p]


def text_of(sels: Iterable[Selector], drop: str | None = None) -> str:
    """Text of the first element that has any, without the `drop` elements (labels, other calendars)."""
    for sel in sels:
        if isinstance(sel.root, str):  # an attribute or text() result
            text = sel.root.strip()
        else:
            text = " ".join(pruned(sel, drop).xpath(".//text()").getall()).strip()
        if text:
            return text
    return ""
