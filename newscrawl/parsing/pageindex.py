"""Answer a site's simple CSS selectors from one pass over the page instead of one XPath pass each.

Why our own code: the profile of issue 7 showed extraction's largest cost to be libxml2 testing the class
predicate of parsel's CSS translation on every element of the page, once per selector (about 0.2 µs an
element, a dozen selectors an article). One pass that files the elements by class attribute costs about
two of those passes; then each selector is a dictionary lookup. Nothing else does this on an
lxml tree: lxml's `find_class` and cssselect evaluate the same XPath, and selectolax builds a tree of its
own that our paragraph walker and item loaders cannot use.

Only what site declarations use is answered here: compound selectors (`tag`, `.class`, `#id`, combined)
joined by descendant spaces, optionally ending in `::text` or `::attr(name)`. For anything else
`select` returns None and the caller runs parsel; a test checks that both give the same results.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from typing import NamedTuple

from lxml import etree
from parsel import Selector, SelectorList
from parsel.csstranslator import HTMLTranslator

_IDENT = r"-?[_a-zA-Z][\w-]*"
_COMPOUND = rf"(?:(?:{_IDENT}|\*)(?:[.#]{_IDENT})*|(?:[.#]{_IDENT})+)"
_PART = re.compile(rf"\s*({_COMPOUND})((?:\s+{_COMPOUND})*)(::text|::attr\({_IDENT}\))?\s*")
_PIECE = re.compile(rf"([.#]?)({_IDENT}|\*)")
#: XPath's normalize-space (which parsel's class test uses) splits on these four only, not on all of
#: Python's whitespace
_XPATH_SPACE = re.compile("[ \t\r\n]+")


@lru_cache(maxsize=8192)
def class_names(value: str) -> tuple[str, ...]:
    """A class attribute's names, split as XPath's normalize-space splits (on space, tab, CR and LF).
    Cached: a site's pages repeat the same few hundred class attributes."""
    if value.isascii() and value.isprintable():  # the common case: only spaces separate
        names = value.split()
    else:
        names = [name for name in _XPATH_SPACE.split(value) if name]
    return tuple(dict.fromkeys(names))  # «a a» is one class: the element must be filed once


class Plan(NamedTuple):
    """A selector part, ready to run: what the first compound requires, and the rest as XPath."""

    tag: str | None
    classes: tuple[str, ...]
    ids: tuple[str, ...]
    rest: etree.XPath | None  # from each first-compound match: later compounds and the pseudo-element


def _compound(text: str) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """A compound selector («div.a.b#c») as its tag (None for any), classes and ids."""
    tag, classes, ids = None, [], []
    for kind, name in _PIECE.findall(text):
        if kind == ".":
            classes.append(name)
        elif kind == "#":
            ids.append(name)
        elif name != "*":
            tag = name.lower()  # HTML tag names are matched in lower case, as parsel does
    return tag, tuple(classes), tuple(ids)


@lru_cache(maxsize=1024)
def plan(part: str) -> Plan | None:
    """The plan for a CSS selector part (no commas), None when it is outside the subset answered here."""
    m = _PART.fullmatch(part)
    if not m:
        return None
    first, later, pseudo = m.group(1), m.group(2).strip(), m.group(3) or ""
    tag, classes, ids = _compound(first)
    if tag is None and not classes and not ids:
        return None  # "*": every element, nothing to look up
    translator = HTMLTranslator()
    if later:
        rest = translator.css_to_xpath(later + pseudo, prefix="descendant::")
    elif pseudo:  # of the matched element itself
        rest = "text()" if pseudo == "::text" else "@" + pseudo[len("::attr("):-1]
    else:
        rest = None
    return Plan(tag, classes, ids,
                etree.XPath(rest, smart_strings=False) if rest else None)


class Compound(NamedTuple):
    """One compound selector: tag (None for any), classes and ids it requires."""

    tag: str | None
    classes: tuple[str, ...]
    ids: tuple[str, ...]

    def matches(self, tag: str, class_value: str | None, id_value: str | None) -> bool:
        if self.tag is not None and tag != self.tag:
            return False
        if self.classes and not all(c in class_names(class_value or "") for c in self.classes):
            return False
        return all(id_value == i for i in self.ids)


@lru_cache(maxsize=256)
def attribute_chain(part: str) -> tuple[tuple[Compound, ...], str] | None:
    """A part `compound compound ...::attr(name)` (descendant spaces only) as its compounds and the
    attribute's name, for reading a page without its tree (html.listing_scan); None for anything else."""
    m = _PART.fullmatch(part)
    if not m or not (m.group(3) or "").startswith("::attr("):
        return None
    chain = []
    for compound in [m.group(1), *m.group(2).split()]:
        chain.append(Compound(*_compound(compound)))
    return tuple(chain), m.group(3)[len("::attr("):-1].lower()


class PageIndex:
    """The elements of one page filed by class attribute (and, when first asked, by id).

    The pass files each element under its whole class attribute (one dictionary step an element; a page
    repeats a few hundred distinct values); a class name's elements are those of the values holding it,
    put back in page order in the rare case of several values."""

    def __init__(self, page: Selector):
        self.page = page
        self._by_value: dict[str, list] | None = None
        self._values: dict[str, list[str]] = {}  # class name → the class values holding it
        self._classes: dict[str, list] = {}  # class name → its elements, as asked for
        self._ids: dict[str, list] | None = None
        self._order: dict | None = None
        self._scope: tuple | None = None

    def _file(self) -> None:
        by_value: dict[str, list] = {}
        for el in self.page.root.iter(etree.Element):
            value = el.get("class")
            if value is not None:
                elements = by_value.get(value)
                if elements is None:
                    by_value[value] = [el]
                else:
                    elements.append(el)
        values = defaultdict(list)
        for value in by_value:
            for name in class_names(value):
                values[name].append(value)
        self._by_value, self._values = by_value, dict(values)

    def elements(self, name: str) -> list:
        """The page's elements with class `name`, in page order."""
        if self._by_value is None:
            self._file()
        found = self._classes.get(name)
        if found is None:
            values = self._values.get(name, [])
            if len(values) <= 1:
                found = self._by_value[values[0]] if values else []
            else:  # several class values hold the name: their elements merged back into page order
                if self._order is None:
                    self._order = {el: i for i, el in enumerate(self.page.root.iter(etree.Element))}
                found = sorted((el for v in values for el in self._by_value[v]), key=self._order.__getitem__)
            self._classes[name] = found
        return found

    def _subtree(self, root) -> set:
        """The elements of `root`'s subtree, itself included; kept for the last root asked about (a
        spider asks most of its selectors within one article container)."""
        if self._scope is None or self._scope[0] is not root:
            self._scope = (root, set(root.iter(etree.Element)))
        return self._scope[1]

    @property
    def ids(self) -> dict[str, list]:
        if self._ids is None:
            ids: dict[str, list] = defaultdict(list)
            for el in self.page.root.iter(etree.Element):
                value = el.get("id")
                if value is not None:
                    ids[value].append(el)
            self._ids = dict(ids)
        return self._ids

    def has(self, kind: str, name: str) -> bool:
        """Whether any element of the page has class (kind ".") or id (kind "#") `name`."""
        if kind == "#":
            return name in self.ids
        if self._by_value is None:
            self._file()
        return name in self._values

    def select(self, scope: Selector, part: str) -> SelectorList | None:
        """`scope.css(part)`, or None when the part is outside this subset or `scope` is not this page."""
        p = plan(part)
        root = scope.root
        if p is None or scope.type != "html" or not isinstance(root, etree._Element):
            return None
        top = self.page.root
        if root is not top and root.getroottree().getroot() is not top:
            return None
        if p.classes:
            candidates = self.elements(p.classes[0])
        elif p.ids:
            candidates = self.ids.get(p.ids[0], [])
        else:  # a tag alone: lxml's own filtered walk, in document order, the scope itself first
            candidates = list(root.iter(p.tag))
            root = top  # already within the scope
        found = [el for el in candidates if _matches(el, p)]
        if root is not top and found:
            inside = self._subtree(root)
            found = [el for el in found if el in inside]
        if p.rest is not None:
            if len(found) > 1 and _nested(found):
                return None  # XPath would merge the overlapping results; let it
            found = [r for el in found for r in p.rest(el)]
        return scope.selectorlist_cls(type(scope)(root=r, _expr=part, type="html") for r in found)


def _matches(el, p: Plan) -> bool:
    if p.tag is not None and el.tag != p.tag:
        return False
    if len(p.classes) > 1 or (p.classes and p.ids) or len(p.ids) > 1:
        names = class_names(el.get("class") or "")
        if not all(c in names for c in p.classes) or not all(el.get("id") == i for i in p.ids):
            return False
    return True


def _nested(elements: list) -> bool:
    """Whether one of `elements` is inside another."""
    members = set(elements)
    return any(a in members for el in elements for a in el.iterancestors())
