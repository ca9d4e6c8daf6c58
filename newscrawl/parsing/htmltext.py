"""Turn an article-body element into clean paragraphs.

Why our own: generic extractors (trafilatura, readability) drop ZWNJs and guess at boundaries; on a
known template we already hold the body element, so all that is left is skipping the known junk and
splitting on block boundaries. lxml does the parsing; this is a short tree walk over the page's own
tree (no copy: the dropped elements are found with one compiled XPath and skipped, their tail text kept
in place, which the profile showed is several times cheaper than copying and pruning a tree).
"""

from __future__ import annotations

import logging
import re
from array import array
from collections.abc import Iterable
from functools import lru_cache
from html import unescape
from typing import NamedTuple

from lxml import etree
from parsel import Selector
from parsel.csstranslator import HTMLTranslator
from parsel.selector import create_root_node

from newscrawl.parsing.pageindex import attribute_chain, class_names

logger = logging.getLogger(__name__)

BLOCK_TAGS = frozenset(
    "p div section article blockquote figure figcaption h1 h2 h3 h4 h5 h6 ul ol li table tr pre header "
    "footer aside dl dt dd hr".split()
)
#: never text, whatever the site
ALWAYS_DROP = "script, style, noscript, iframe, form, button, svg, object, embed, template, select, input"
PARAGRAPH_BREAK = "\x00"
#: what lxml parses but refuses to set as text (Word pastes stray control bytes into articles)
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(text: str) -> str:
    """`text` without the characters lxml cannot hold, for joining a removed element's tail to the text
    before it."""
    return _NOT_XML.sub("", text)


_SIMPLE = re.compile(r"\.?[A-Za-z_][\w-]*")


@lru_cache(maxsize=128)
def _dropper(drop: str | None) -> etree.XPath | tuple[frozenset, frozenset]:
    """What to drop: ALWAYS_DROP plus `drop` (CSS, as parsel translates it for HTML). When every part is
    a bare tag or a bare class (all site declarations), the tag and class names, which a short walk over
    the element checks several times faster than an XPath union; otherwise the compiled XPath."""
    parts = [p.strip() for p in (ALWAYS_DROP + (", " + drop if drop else "")).split(",")]
    if all(_SIMPLE.fullmatch(p) for p in parts):
        return (frozenset(p.lower() for p in parts if not p.startswith(".")),
                frozenset(p[1:] for p in parts if p.startswith(".")))
    return etree.XPath(HTMLTranslator().css_to_xpath(", ".join(parts)))


def _dropped(root, drop: str | None) -> set:
    if not len(root):  # no child elements: nothing to drop
        return set()
    rule = _dropper(drop)
    if not isinstance(rule, tuple):
        return {node for node in rule(root) if node is not root}
    tags, classes = rule
    found = set()
    for node in root.iter(etree.Element):
        if node is not root and (node.tag in tags or (
                classes and (value := node.get("class")) and not classes.isdisjoint(class_names(value)))):
            found.add(node)
    return found


def _walk(root, dropped: set, out: list[str], blocks: bool) -> None:
    """Append the text of `root` (not its tail) to `out`, skipping `dropped` elements but keeping their
    tails: a run of skipped siblings' tails joins the text before it, as one text node (like removing
    them from the tree would). `blocks` marks block boundaries with PARAGRAPH_BREAK and <br> with "\\n".

    A loop over an explicit stack, not recursion: pages nest elements thousands deep (issue 13), past
    Python's recursion limit; the loop is also a little faster than a call per element."""
    stack: list = []  # per open ancestor: (its remaining children, whether it is a block, the child entered)
    node = root
    while True:
        tag = node.tag.lower() if isinstance(node.tag, str) else ""
        block = blocks and tag in BLOCK_TAGS
        if block:
            out.append(PARAGRAPH_BREAK)
        if blocks and tag == "br":
            out.append("\n")
            slot = ""
        else:
            slot = (node.text or "") if tag else ""  # comments and processing instructions have no text
        children = iter(node)
        while True:
            child = next(children, None)
            if child is None:  # `node` is done: its text is out, back to its parent
                if slot:
                    out.append(slot)
                if block:
                    out.append(PARAGRAPH_BREAK)
                if not stack:
                    return
                children, block, node = stack.pop()
                slot = node.tail or ""
                continue
            if child in dropped:
                tail = xml_text(child.tail or "")
                if tail:
                    slot = xml_text(slot) + tail
                continue
            if slot:
                out.append(slot)
            stack.append((children, block, child))
            node = child
            break


def paragraphs(sel: Selector, drop: str | None = None) -> list[str]:
    """Raw paragraph texts of an element: block elements and double <br> separate paragraphs."""
    out: list[str] = []
    _walk(sel.root, _dropped(sel.root, drop), out, blocks=True)
    text = "".join(out).replace("\n\n", PARAGRAPH_BREAK)
    return [p for p in (part.strip() for part in text.split(PARAGRAPH_BREAK)) if p]


def text_of(sels: Iterable[Selector], drop: str | None = None) -> str:
    """Text of the first element that has any, without the `drop` elements (labels, other calendars)."""
    for sel in sels:
        if isinstance(sel.root, str):  # an attribute or text() result
            text = sel.root.strip()
        else:
            out: list[str] = []
            _walk(sel.root, _dropped(sel.root, drop), out, blocks=False)
            text = " ".join(out).strip()
        if text:
            return text
    return ""


# -- pages nested deeper than libxml2 holds ---------------------------------------------------------------------
#: libxml2 (2.14, with XML_PARSE_HUGE, which parsel asks for) stops parsing at 2,048 open elements and drops
#: the rest of the page; without it, at 256. Chromium stops nesting at 512 (Blink's
#: kMaximumHTMLParserDOMTreeDepth): deeper elements go beside their parent, the text into the element at 511.
#: Below KEEP_DEPTH, `flatten` leaves out wrappers (elements around one element and nothing else)...
KEEP_DEPTH = 512
#: ...and below HARD_DEPTH every element, keeping the text
HARD_DEPTH = 1536
#: what libxml2 treats as void (never open): its list, not HTML5's (it nests <wbr>, <source>, <embed>)
_VOID = frozenset("area base basefont br col frame hr img input isindex link meta param".split())
#: elements whose content is text up to their end tag (libxml2 parses <noscript>'s as markup)
_RAW = frozenset("script style xmp iframe noembed noframes textarea title".split())
#: an open element of these is closed by a start tag of the same name (libxml2's auto-close, the part
#: that matters for depth); an open <p> is also closed by any block's start tag
_SELF_CLOSING = frozenset("p li option a td th tr dt dd".split())
_TOKEN = re.compile(r"""<(?:!--.*?(?:-->|\Z)|[!?][^>]*>?|(/?)([A-Za-z][^\t\n\f\r />]*)((?:=\s*"[^"]*"|=\s*'[^']*'|[^>])*)>)""",
                    re.S)


def parse_page(body: bytes, encoding: str, base_url: str | None = None,
               parser_cls: type = etree.HTMLParser) -> etree._Element:
    """The page's tree as parsel builds it (`create_root_node`; `parser_cls` lxml.html.HTMLParser for
    lxml.html elements); a page nested deeper than libxml2 can hold is parsed again from `flatten`ed markup
    instead of being cut where the parser gave up (issue 13)."""
    root, halted = _parse(base_url, parser_cls, body=body, encoding=encoding)
    if not halted:
        return root
    text = body.decode(encoding, "replace")
    for keep, hard in ((KEEP_DEPTH, HARD_DEPTH), (0, 0)):  # (0, 0): text and void elements only, never fails
        root, halted = _parse(base_url, parser_cls, text=flatten(text, keep, hard))
        if not halted:
            break
    logger.warning("%s: markup nested deeper than libxml2's limit; parsed with elements below depth %d "
                   "flattened", base_url, keep)
    return root


def _parse(base_url: str | None, parser_cls: type, text: str = "", body: bytes = b"", encoding: str = "utf-8"):
    """(root, whether libxml2 stopped at its depth limit): the parser's error log says so."""
    made: list = []

    def parser(**options):
        made.append(parser_cls(**options))
        return made[-1]

    root = create_root_node(text, parser, base_url=base_url, body=body, encoding=encoding)
    last = made[-1].error_log.last_error if made else None  # libxml2 halts: its depth error is the last
    return root, last is not None and "excessive depth" in last.message.lower()


class Tag(NamedTuple):
    """An element as `nest` reports it: its name, start tag, and where its content ends."""

    name: str
    start: re.Match  # the start tag
    end: int = -1  # where the element closes (the end of its end tag, or where it was closed implicitly)
    end_tag: re.Match | None = None  # its own end tag, when it has one


def nest(text: str):
    """The elements of an HTML text as libxml2 nests them, closely enough for `flatten` and
    `listing_scan`: yields (event, index, Tag, parent index) for "open" and "close" of an element, "leaf"
    for a void or raw-text element (index -1) and "text" for text (index -1, Tag None). Void and raw-text
    elements never open, <p> and the like close their own kind, an end tag closes up to its element unless
    one of higher end priority is open inside it (libxml2's rule); an end tag with nothing to close is
    ignored, as libxml2 ignores it.

    Why our own: no parser at hand stays within memory on the pages this is for (libxml2 stops at 2,048
    levels, and its tree of a 10 MB listing takes 150 MB); a regular expression over the tags does."""
    stack: list[tuple[int, Tag, int]] = []  # open elements: (index, Tag, parent index); nothing else is kept
    where: dict[str, list[int]] = {}  # name → positions of its open elements in `stack`
    count = 0

    def close(at: int, end: int, end_tag: re.Match | None = None):
        while len(stack) > at:
            i, tag, parent = stack.pop()
            where[tag.name].pop()
            yield "close", i, tag._replace(end=end, end_tag=end_tag if len(stack) == at else None), parent

    pos = 0
    while (m := _TOKEN.search(text, pos)) is not None:
        if stack and text[pos:m.start()].strip():
            yield "text", -1, None, stack[-1][0]
        pos = m.end()
        closing, name = m.group(1), (m.group(2) or "").lower()
        if not name:  # comment, doctype, processing instruction
            continue
        if closing:
            found = where.get(name)
            if found and not _shielded(stack, found[-1], name):
                yield from close(found[-1], pos, m)
            continue
        if name in _RAW:
            end = re.compile(rf"</{name}[\t\n\f\r />]", re.I).search(text, pos)
            pos = text.find(">", end.end() - 1) + 1 if end else len(text)
            yield "leaf", -1, Tag(name, m, pos), stack[-1][0] if stack else -1
            continue
        if name in _VOID or m.group(3).rstrip().endswith("/"):  # libxml2 closes <div/> at once
            yield "leaf", -1, Tag(name, m, pos), stack[-1][0] if stack else -1
            continue
        while stack and ((top := stack[-1][1].name) == name and name in _SELF_CLOSING
                         or top == "p" and name in BLOCK_TAGS or {top, name} == {"dt", "dd"}):
            yield from close(len(stack) - 1, m.start())
        parent = stack[-1][0] if stack else -1
        where.setdefault(name, []).append(len(stack))
        stack.append((count, Tag(name, m), parent))
        yield "open", count, stack[-1][1], parent
        count += 1
    if stack and text[pos:].strip():
        yield "text", -1, None, stack[-1][0]
    yield from close(0, len(text))


#: libxml2's htmlEndPriority: an end tag does not close an element of higher priority on its way (100 else)
_END_PRIORITY = {"div": 150, "td": 160, "th": 160, "tr": 170, "thead": 180, "tbody": 180, "tfoot": 180,
                 "table": 190, "head": 200, "body": 200, "html": 220}


def _shielded(stack: list, at: int, name: str) -> bool:
    """Whether libxml2 ignores the end tag `name` of the open element at `at`: an element of higher end
    priority is open inside it (`</a>` does not close a <div> opened in the <a>)."""
    priority = _END_PRIORITY.get(name, 100)
    return any(_END_PRIORITY.get(stack[i][1].name, 100) > priority for i in range(len(stack) - 1, at, -1))


def flatten(text: str, keep: int = KEEP_DEPTH, hard: int = HARD_DEPTH) -> str:
    """`text` with the start and end tags of elements nested too deep for libxml2 left out, their content
    kept in place: from depth `keep` on, wrappers (elements holding one element, no text, no image); from
    `hard` on, every element. So a page wrapped in 100,000 <div>s keeps its article's structure, and text
    nested that deep stays text. A left-out block element leaves an <hr> (one for a run of them), so
    paragraphs stay apart. Unchanged when nothing is that deep.

    Why our own: no parser at hand keeps a page this deep (libxml2 stops, and lxml and parsel use it;
    html5lib is not installed and recurses). A miscount of the nesting (see `nest`) only moves where
    flattening starts; `parse_page` falls back to (0, 0)."""
    # pass 1: which elements are filled (text, a void or raw-text element, or more than one element)
    parents: list[int] = []
    filled: list[bool] = []
    inside: list[int] = []
    starts: list[re.Match] = []
    end_tags: dict[int, re.Match] = {}
    for event, i, tag, parent in nest(text):
        if event == "open":
            parents.append(parent)
            filled.append(False)
            inside.append(0)
            starts.append(tag.start)
            if parent >= 0:
                inside[parent] += 1
                filled[parent] = filled[parent] or inside[parent] > 1
        elif event == "close":
            if tag.end_tag is not None:
                end_tags[i] = tag.end_tag
        elif parent >= 0:  # text, a void or raw-text element
            filled[parent] = True
    # pass 2: which to keep, from the top down (a parent comes before its children)
    depth = [0] * len(starts)  # kept elements around each element's content
    cuts: list[re.Match] = []
    for i, m in enumerate(starts):
        around = depth[parents[i]] if parents[i] >= 0 else 0
        if around < keep or (around < hard and filled[i]):
            depth[i] = around + 1
        else:
            depth[i] = around
            cuts.append(m)
            if i in end_tags:
                cuts.append(end_tags[i])
    if not cuts:
        return text
    cuts.sort(key=re.Match.start)
    out: list[str] = []
    done, blank = 0, False  # `text` is copied up to `done`; only space copied since the last <hr> we put
    for m in cuts:
        between = text[done:m.start()]
        out.append(between)
        blank = blank and not between.strip()
        if (m.group(2) or "").lower() in BLOCK_TAGS and not blank:
            out.append("<hr>")
            blank = True
        done = m.end()
    out.append(text[done:])
    return "".join(out)


_ATTRIBUTE = re.compile(r"""([^\t\n\f\r "'>/=]+)(?:[\t\n\f\r ]*=[\t\n\f\r ]*(?:"([^"]*)"|'([^']*)'|([^\t\n\f\r >]+)))?""")


def attributes(source: str, encoding: str | None = None) -> dict[str, str]:
    """A start tag's attributes (the text after its name) as libxml2 reads them: names in lower case, the
    first of a repeated name, entities decoded. With `encoding`, `source` is bytes read as latin-1 (one
    character a byte), and values are decoded from that encoding."""
    found: dict[str, str] = {}
    for m in _ATTRIBUTE.finditer(source):
        name = m.group(1).lower()
        if name not in found:
            value = next((v for v in m.group(2, 3, 4) if v is not None), "")
            if encoding and not value.isascii():
                value = value.encode("latin-1").decode(encoding, "replace")
            found[name] = unescape(value) if "&" in value else value
    return found


def listing_scan(text: str, query: str, keep: int = 10,
                 encoding: str | None = None) -> tuple[list[str], str] | None:
    """(the values a CSS group of `compound compound::attr(name)` parts selects in `text`, in page order; `text`
    without the list items holding them but for the first `keep`), or None when a part is of another kind.
    With `encoding`, `text` is the page's bytes read as latin-1 (half the memory of Persian text as str;
    any ASCII-compatible encoding), and the values are decoded from `encoding`.

    For listing pages too big to parse (newscrawl.spidermiddlewares.listings): a tree takes about 13 times the page's size. A
    list item is the largest element around one selected element, inside an element around several; what
    is not an item (pagination, menus) stays, so the rest of a callback can read the page as it was."""
    chains = [attribute_chain(part.strip()) for part in query.split(",") if part.strip()]
    if not chains or None in chains:
        return None
    values: list[str] = []
    state: dict[int, tuple[int, ...]] = {-1: (0,) * len(chains)}  # leading compounds matched down to here
    count: dict[int, int] = {}  # open element → selected elements inside it
    singles: dict[int, array] = {}  # open element → (start, end) of its children holding one each, flat
    items = array("q")  # the same for list items; arrays, as 100,000 tuples would take 12 MB
    for event, i, tag, parent in nest(text):
        if event in ("open", "leaf"):
            above, attrs, mine, hit = state[parent], None, [], False
            for (chain, name), matched in zip(chains, above, strict=True):
                if attrs is None:
                    attrs = attributes(tag.start.group(3), encoding)
                here = chain[min(matched, len(chain) - 1)].matches(tag.name, attrs.get("class"), attrs.get("id"))
                if matched >= len(chain) - 1 and here and name in attrs and not hit:
                    values.append(attrs[name])
                    hit = True
                mine.append(matched + 1 if here and matched < len(chain) - 1 else matched)
            if event == "open":
                state[i], count[i] = tuple(mine), int(hit)
            elif hit and parent >= 0:  # a void element: held by its parent, an item if alone
                singles.setdefault(parent, array("q")).extend((tag.start.start(), tag.end))
                count[parent] += 1
        elif event == "close":
            del state[i]
            held = count.pop(i)
            children = singles.pop(i, None)
            if held == 1 and parent >= 0:  # around its one child holding one: it is the larger item
                singles.setdefault(parent, array("q")).extend((tag.start.start(), tag.end))
            elif held > 1 and children:
                items.extend(children)
            if parent >= 0:
                count[parent] += held
    starts, ends = items[::2], items[1::2]
    order = range(len(starts))
    if any(starts[k] > starts[k + 1] for k in range(len(starts) - 1)):  # items of several lists
        order = sorted(order, key=starts.__getitem__)
    out, done = [], 0
    for k in order[keep:]:
        out.append(text[done:starts[k]])
        done = ends[k]
    out.append(text[done:])
    return values, "".join(out)


_DATE_LABEL = re.compile(r"^\s*[^0-9۰-۹٠-٩:]{1,30}:\s*")


def strip_date_label(text: str) -> str:
    """«تاریخ انتشار: ۲۱ تیر ۱۳۹۸ - ۱۷:۲۱» → the date as shown, without the label before its colon."""
    return _DATE_LABEL.sub("", text or "", count=1)
