"""The HTML rendering of a notebook (nbconvert, lab template), made cell by cell.

nbrepro's worker renders the notebook after every ``%%repro`` capture, and a session's
captures hold mostly cells an earlier one rendered. So the page is kept in pieces: its
skeleton (what comes before the first cell and after the last, one per notebook
metadata) and each cell's HTML, keyed by the cell and the notebook metadata. A render
makes only the cells it has no HTML of, all in one nbconvert call with a separator cell
before and after each (and an end cell after the last separator), and cuts that page at
the separators' HTML.

The page must be byte for byte what nbconvert makes of the whole notebook, and
nbconvert's last step is not local to a cell: ``HTMLExporter`` parses the whole page
with BeautifulSoup and writes it back. A cell whose HTML leaves a tag open takes the
cells after it into that tag; one that leaves a quote, a comment or a script open has
the parser read on into the next cell; text that meets text across two cells becomes
one string, and a string of whitespace alone is written back as one character. So a
page is put together from pieces only when the cut checks out (see
:meth:`HtmlRenderer._render_cells` and :func:`_joins_exactly`); otherwise, and whenever
anything else goes wrong, the notebook is rendered whole, as nbconvert renders it, and
nothing of that render is kept.

Half of a cell's rendering is that soup pass. Once a probe shows the pass run here gives
nbconvert's pages, the batch page is cut before it: a new cell's HTML of a strict form is
written back as the soup would write it (:func:`_fast_soup`), the soup parses the others.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
import re
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from secrets import token_hex
from typing import Any

from nbrepro.capture import ipynb
from nbrepro.redact import redact_text

# Cell fragments a worker keeps between captures, in bytes of memory.
FRAGMENT_BUDGET = 64 * 2**20
# Skeletons (about 560 kB each: the page's inlined CSS, as the template and the soup write
# it), one per notebook metadata.
SKELETON_BUDGET = 16 * 2**20
# The cleaning (bleach) and code highlighting (pygments) nbconvert's filters do, kept
# per text; a text longer than the item limit is done again rather than kept.
MEMO_BUDGET = 16 * 2**20
MEMO_ITEM_LIMIT = 2**20

_BS4_SPACES = " \n\t\f\r"  # what BeautifulSoup counts as whitespace (ASCII_SPACES)
# What an entry of a cache costs besides its value: its key (two digests) and bookkeeping.
_ENTRY_BYTES = 200
# Outputs nbconvert's template renders with a fresh uuid4 each time: never kept, or two
# equal cells would share an element id.
_UUID_MIMES = ("application/javascript", "application/vnd.jupyter.widget-view+json")
# The HTML output of the cell that ends a batch. Whatever a cell before it left
# unfinished (an attribute's quotes, a comment, a declaration, a script or another element
# whose text runs to its end tag) ends in it at the latest, rather than running to the end
# of the page and being taken as text, so it takes the separators after that cell with it:
# the parser read past the cell, as it would read into the next cell on the page of the
# whole notebook, and the cut fails. On a page parsed as it should be, the end tags close
# nothing and are dropped.
_END_HTML = (
    "\"'-->]]>?></script></style></textarea></title></xmp></iframe></noembed>"
    "</noframes><i>{token}</i>"
)


class ByteLRU:
    """A mapping of at most ``budget`` bytes, the least recently used dropped first."""

    def __init__(self, budget: int, item_limit: int | None = None) -> None:
        self.budget = budget
        self.item_limit = budget if item_limit is None else min(item_limit, budget)
        self.nbytes = 0
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Hashable) -> Any:
        """The value kept for ``key`` (now the most recently used), else None."""
        found = self._items.get(key)
        if found is None:
            return None
        self._items.move_to_end(key)
        return found[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        """Keep ``value`` as ``size`` bytes, unless it is above the item limit."""
        if size > self.item_limit:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.nbytes -= old[1]
        self._items[key] = (value, size)
        self.nbytes += size
        while self.nbytes > self.budget:
            _, (_, dropped) = self._items.popitem(last=False)
            self.nbytes -= dropped


def _size(*texts: str | bytes) -> int:
    return sum(sys.getsizeof(t) for t in texts)


_cleaner_lock = threading.Lock()


@lru_cache(maxsize=1)
def _nbconvert_bleach_kwargs() -> dict[str, Any] | None:
    """The arguments nbconvert's ``clean_html`` passes to ``bleach.clean``; None when it
    does not call ``bleach.clean`` (or a Cleaner made with them cleans otherwise).

    ``bleach.clean`` builds a new Cleaner (and its html5lib parser and serializer) on
    every call: a third of its time on a cell's highlighted source. The arguments are
    read from one call of nbconvert's own filter rather than copied, so they stay
    nbconvert's in every version: its ``bleach`` is seen through a stand-in for that call
    (which cleans as bleach does, for any other thread that cleans meanwhile).
    """
    import importlib

    bleach: Any = importlib.import_module("bleach")  # untyped
    strings: Any = importlib.import_module("nbconvert.filters.strings")
    seen: list[dict[str, Any]] = []

    class _Seen:
        def __getattr__(self, name: str) -> Any:
            return getattr(bleach, name)

        def clean(self, text: str, **kwargs: Any) -> str:
            seen.append(kwargs)
            return str(bleach.clean(text, **kwargs))

    probe = "<b class='x'>probe</b><script>x</script>"
    with _cleaner_lock:
        current = getattr(strings, "bleach", None)
        if current is not bleach:
            return None
        strings.bleach = _Seen()
        try:
            expected = strings.clean_html(probe)
        except Exception:
            return None
        finally:
            strings.bleach = bleach
    # Another thread's clean_html meanwhile is seen too: the same arguments.
    if not seen or any(kwargs != seen[0] for kwargs in seen):
        return None
    try:
        if importlib.import_module("bleach").Cleaner(**seen[0]).clean(probe) != expected:
            return None
    except Exception:
        return None
    return seen[0]


_cleaners = threading.local()


def _nbconvert_cleaner() -> Callable[[str], str] | None:
    """This thread's Cleaner made as nbconvert's ``clean_html`` makes one (a Cleaner
    is not safe to share between threads); None: clean with ``clean_html`` itself."""
    kwargs = _nbconvert_bleach_kwargs()
    if kwargs is None:
        return None
    clean: Callable[[str], str] | None = getattr(_cleaners, "clean", None)
    if clean is None:
        import importlib

        clean = _cleaners.clean = importlib.import_module("bleach").Cleaner(**kwargs).clean
    return clean


# One character of highlighted text that bleach's parser and serializer give back as it
# is: not "<", ">" or "&" (but the escapes pygments writes), "\r", other control
# characters, noncharacters, lone surrogates or characters beyond the BMP (html5lib
# replaces or normalizes some of those, and these are left to it).
_SAFE_CHAR = r"(?:[\t\n\x20-\x25\x27-\x3b\x3d\x3f-\x7e\xa0-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd]|&(?:amp|lt|gt);)"
# Code as nbconvert's highlight_code writes it (pygments' HtmlFormatter): spans with a
# class, and text, in a pre in a div. Each repetition consumes a whole span or one
# character, so a text that is not of this form fails fast.
_HIGHLIGHTED = re.compile(
    r'<div class="[A-Za-z0-9_ -]*"><pre><span></span>'
    rf'(?:<span class="[A-Za-z0-9_ -]*">{_SAFE_CHAR}*</span>|{_SAFE_CHAR})*'
    r"</pre></div>\n?"
)
_HIGHLIGHTED_PROBE = (
    '<div class=" highlight hl-ipython3"><pre><span></span><span class="n">x</span> '
    '<span class="o">=</span> <span class="s2">"a&lt;b&gt;&amp;c\'é\xa0"</span><span class="w">'
    '</span>\t<span class="c1"># ~</span>\n\n</pre></div>\n'
)


@lru_cache(maxsize=1)
def _bleach_keeps_highlighted() -> bool:
    """Whether this bleach, cleaning as nbconvert does, gives highlighted code of the
    form of :data:`_HIGHLIGHTED` back unchanged (checked once, on a probe with every
    part of that form)."""
    if not _HIGHLIGHTED.fullmatch(_HIGHLIGHTED_PROBE):
        return False
    try:
        return _CleanHtml._bleach(_HIGHLIGHTED_PROBE) == _HIGHLIGHTED_PROBE
    except Exception:
        return False


class _CleanHtml:
    """nbconvert's ``clean_html`` filter, with one bleach Cleaner, remembering what it
    cleaned.

    The lab template runs every cell's highlighted source through bleach; the result
    depends on the text only. Highlighted code made only of what bleach keeps as it is
    (:data:`_HIGHLIGHTED`: spans of a class and plain text) is not parsed: bleach's
    html5lib parser, in pure Python, is a third of the time nbconvert takes for a cell.
    """

    def __init__(self, memo: ByteLRU) -> None:
        self._memo = memo

    @staticmethod
    def _bleach(element: Any) -> str:
        cleaner = _nbconvert_cleaner()
        if cleaner is None or not isinstance(element, str):
            from nbconvert.filters import clean_html

            return str(clean_html(element))
        return cleaner(element)

    @classmethod
    def _clean(cls, element: Any) -> str:
        if (
            isinstance(element, str)
            and element.startswith("<div class=")
            and _HIGHLIGHTED.fullmatch(element)
            and _bleach_keeps_highlighted()
        ):
            return element
        return cls._bleach(element)

    def __call__(self, element: Any) -> str:
        if not isinstance(element, (str, bytes)) or len(element) > self._memo.item_limit:
            return self._clean(element)
        found = self._memo.get(element)
        if found is None:
            found = self._clean(element)
            self._memo.put(element, found, _size(element, found))
        return str(found)


class _HighlightCode:
    """nbconvert's ``highlight_code`` filter, remembering what it highlighted.

    What nbconvert's highlighting depends on: the source, the language (the filter's
    argument, else the notebook's lexer, set in :attr:`lexer` before each render) and,
    for an IPython lexer, the cell's ``magics_language``; not the rest of the cell's
    metadata, which changes with every run of the cell.
    """

    def __init__(self, parent: Any, memo: ByteLRU) -> None:
        from nbconvert.filters.highlight import Highlight2HTML

        self.lexer: Any = None
        self._highlight = Highlight2HTML(parent=parent)
        self._memo = memo
        # One pygments HtmlFormatter per language, made as nbconvert makes one for each
        # call (building its stylesheet, a tenth of a cell's rendering); None: each call
        # is nbconvert's own (its helper is not there, or it highlights otherwise).
        self._formatters: dict[str, Any] | None = {}
        self._pygments_highlight: Any = None

    def _highlighted(self, source: str, language: str, metadata: Any) -> str:
        """What ``Highlight2HTML(source, language, metadata)`` returns, with a formatter
        made once per language."""
        formatter = None if self._formatters is None else self._formatters.get(language)
        if formatter is None and self._formatters is not None:
            formatter = self._formatter(language)
        if formatter is None:
            return str(self._highlight(source, language, metadata))
        return str(self._pygments_highlight(source or " ", formatter, language, metadata))

    def _formatter(self, language: str) -> Any:
        """The formatter nbconvert makes for ``language``, kept once it highlights a probe
        as nbconvert's own call does; None (and none kept from now on) otherwise."""
        try:
            from html import escape

            from nbconvert.filters.highlight import _pygments_highlight
            from pygments.formatters import HtmlFormatter
        except ImportError:
            self._formatters = None
            return None
        formatter = HtmlFormatter(
            cssclass=escape(f" highlight hl-{language}"), **self._highlight.extra_formatter_options
        )
        probe = "%time x = f'<{a!r}>' & 1  # é\n"
        if str(_pygments_highlight(probe, formatter, language, None)) != str(
            self._highlight(probe, language, None)
        ):
            self._formatters = None
            return None
        self._pygments_highlight = _pygments_highlight
        assert self._formatters is not None
        self._formatters[language] = formatter
        return formatter

    def __call__(self, source: str, language: Any = None, metadata: Any = None) -> str:
        language = language or self.lexer or "ipython3"
        magics = None
        if isinstance(language, str) and language.startswith("ipython") and metadata:
            # As nbconvert reads it: the language of a cell magic, when there is one.
            magics = metadata.get("magics_language")
            if "magics_language" in metadata and not isinstance(magics, str):
                return str(self._highlight(source, language, metadata))
        if not (isinstance(source, str) and isinstance(language, str)) or (
            len(source) > self._memo.item_limit
        ):
            return str(self._highlight(source, language, metadata))
        key = (source, language, magics)
        found = self._memo.get(key)
        if found is None:
            found = self._highlighted(source, language, metadata)
            self._memo.put(key, found, _size(source, found))
        return str(found)


# nbconvert's last step, BeautifulSoup's parse and write-back of the page, done without
# the soup for a cell's HTML of a strict form (the template's code cells, text outputs,
# plain Markdown). What the soup does to such HTML: entities in text become characters
# and "&", "<", ">" are escaped again; text of whitespace alone (outside a <pre>) becomes
# one newline or space; attributes are written sorted, in double quotes, a class's words
# joined by one space; <br> becomes <br/>; and nbconvert adds tabindex="0" to the input
# wrappers and output areas under .jp-Notebook (every cell is). Anything else (another tag
# or attribute, an entity or a character the soup may read otherwise, a tag not closed in
# the cell) leaves the cell to the soup. Checked once per renderer against the soup on a
# probe with every part of this form (:meth:`HtmlRenderer._split_checked`).
_FAST_TAGS = frozenset(
    [
        "div",
        "span",
        "pre",
        "p",
        "a",
        "em",
        "strong",
        "code",
        "b",
        "i",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "blockquote",
        "sup",
        "sub",
        "del",
    ]
)
_FAST_VOID = frozenset({"br", "hr"})
_FAST_ATTRS = frozenset({"class", "id", "href", "data-mime-type", "data-type", "title"})
_FAST_TOKEN = re.compile(
    # A tag: its name, its attributes (printable ASCII values, "&" only as "&amp;").
    r'<(/?)([a-z][a-z0-9]*)((?:[ \n]+[a-z][a-z-]*="(?:[\x20\x21\x23-\x25\x27-\x3b\x3d\x3f-\x7e]|&amp;)*")*)[ \n]*(/?)>'
    # Text: no control character but tab and newline, no C1 control, no lone surrogate.
    r"|([^<&\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]+)"
    r"|&(amp|lt|gt|quot|nbsp);"
    r"|&#([0-9]{1,5});"
)
_FAST_ATTR = re.compile(r'[ \n]+([a-z][a-z-]*)="([^"]*)"')
_FAST_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "nbsp": "\xa0"}
_FOCUSABLE = ("jp-Cell-inputWrapper", "jp-OutputArea-output")
_FOCUSABLE_FOLDED = {c.lower() for c in _FOCUSABLE}


@lru_cache(maxsize=1)
def _void_end_tag() -> re.Pattern[str]:
    """An end tag of an element the soup takes as void (``</br>``), as html.parser
    finds one."""
    try:
        from bs4.builder import HTMLTreeBuilder

        tags = HTMLTreeBuilder.DEFAULT_EMPTY_ELEMENT_TAGS
        if not tags:
            raise LookupError("no void elements")
        names = "|".join(sorted(tags))
    except Exception:  # bs4's list is not where it was: any end tag then
        names = "[a-zA-Z][-.a-zA-Z0-9:_]*"
    return re.compile(rf"</\s*(?:{names})(?![-.a-zA-Z0-9:_])", re.I)


def _holds_void_end_tag(value: Any) -> bool:
    """Whether any text in a cell (its source, its outputs, as decoded from the file, as
    the template writes them) has an end tag of a void element."""
    if isinstance(value, str):
        return "</" in value and _void_end_tag().search(value) is not None
    if isinstance(value, Mapping):
        return any(_holds_void_end_tag(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_void_end_tag(v) for v in value)
    if value is None or isinstance(value, (bool, int, float)):
        return False
    return _holds_void_end_tag(str(value))  # not JSON: written as its text


def _escape_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fast_soup(html: str) -> str | None:
    """What nbconvert's soup pass writes back for a cell's HTML of the strict form
    above; None when the HTML is not of that form."""
    out: list[str] = []
    text: list[str] = []
    stack: list[str] = []
    pos, end = 0, len(html)

    def flush() -> None:
        if text:
            joined = "".join(text)
            text.clear()
            if "pre" not in stack and not joined.strip(_BS4_SPACES):
                joined = "\n" if "\n" in joined else " "
            out.append(_escape_text(joined))

    while pos < end:
        m = _FAST_TOKEN.match(html, pos)
        if m is None:
            return None
        pos = m.end()
        closing, name, attrs, slash, plain, named, number = m.groups()
        if plain is not None:
            text.append(plain)
            continue
        if named is not None:
            text.append(_FAST_NAMED[named])
            continue
        if number is not None:
            code = int(number)
            if not (0x20 <= code <= 0x7E or 0xA0 <= code <= 0xD7FF):
                return None
            text.append(chr(code))
            continue
        flush()
        void = name in _FAST_VOID
        if not void and name not in _FAST_TAGS:
            return None
        if closing:
            if void or attrs or slash or not stack or stack.pop() != name:
                return None
            out.append(f"</{name}>")
            continue
        if slash and not void:
            return None
        found: dict[str, str] = {}
        for key, value in _FAST_ATTR.findall(attrs):
            if key not in _FAST_ATTRS or key in found:
                return None
            found[key] = value.replace("&amp;", "&")
        if "class" in found:
            words = found["class"].split()
            found["class"] = " ".join(words)
            if name == "div" and any(w in _FOCUSABLE for w in words):
                found["tabindex"] = "0"
            elif any(w.lower() in _FOCUSABLE_FOLDED for w in words):
                return None  # a class the soup's selector may match case-insensitively
        written = "".join(f' {k}="{_escape_text(v)}"' for k, v in sorted(found.items()))
        out.append(f"<{name}{written}{'/' if void else ''}>")
        if not void:
            stack.append(name)
    flush()
    return None if stack else "".join(out)


def _soup_pass(html: str, log: Any) -> str:
    """nbconvert's ``HTMLExporter.from_notebook_node`` after its template (7.x): the
    page parsed with BeautifulSoup, an alt text given to images without one, input and
    output areas made focusable, and written back. Used only once a probe shows it
    gives nbconvert's own pages (:meth:`HtmlRenderer._split_checked`)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, features="html.parser")
    missing_alt = 0
    for elem in soup.select("img:not([alt])"):
        elem.attrs["alt"] = "No description has been provided for this image"
        missing_alt += 1
    if missing_alt:
        log.warning("Alternative text is missing on %s image(s).", missing_alt)
    for elem in soup.select(".jp-Notebook div.jp-Cell-inputWrapper"):
        elem.attrs["tabindex"] = "0"
    for elem in soup.select(".jp-Notebook div.jp-OutputArea-output"):
        elem.attrs["tabindex"] = "0"
    return str(soup)


class _NoAltWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Alternative text is missing")


class _TemplateDone(Exception):
    """Carries the page as nbconvert's template made it, before the soup pass."""

    def __init__(self, html: str) -> None:
        super().__init__("the template's page")
        self.html = html


@lru_cache(maxsize=1)
def _exporter_class() -> Any:
    """nbconvert's ``HTMLExporter``, able to stop after its template.

    ``HTMLExporter.from_notebook_node`` sets up its filters and resources, has its base
    class render the template, then runs the soup pass. Put between the two, a class
    hands the template's page out (as an exception, so that nbconvert's own code does
    all the rest) when :meth:`page_before_soup` asks for it, and is invisible otherwise.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter

    class _Template(TemplateExporter):
        _nbrepro_template_only = False

        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
            html, resources = super().from_notebook_node(nb, resources, **kw)
            if self._nbrepro_template_only:
                raise _TemplateDone(html)
            return html, resources

    class _NbreproHTMLExporter(HTMLExporter, _Template):
        def page_before_soup(self, nb: Any) -> str:
            """The page as the template makes it (nbconvert's soup pass not run)."""
            self._nbrepro_template_only = True
            try:
                self.from_notebook_node(nb)
            except _TemplateDone as done:
                return done.html
            finally:
                self._nbrepro_template_only = False
            raise RuntimeError("nbconvert did not render its template through its base class")

    return _NbreproHTMLExporter


_PROBE_CELLS: list[dict[str, Any]] = [
    {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {},
        "source": "x = {'a': \"<b> & c\"}  # é\u00a0\n\nprint(x)\t",
        "outputs": [
            {
                "output_type": "stream",
                "name": "stdout",
                "text": "a & <b> 'q' \"dq\"\n  \n\u00a0é\n",
            },
            {"output_type": "stream", "name": "stderr", "text": "warning\n"},
        ],
    },
    {
        "cell_type": "code",
        "execution_count": 2,
        "metadata": {},
        "source": "1/0",
        "outputs": [
            {
                "output_type": "error",
                "ename": "ZeroDivisionError",
                "evalue": "division by zero",
                "traceback": ["\x1b[0;31m----\x1b[0m", "\x1b[1;32m<x>\x1b[0m: & 'done'"],
            }
        ],
    },
    {
        "cell_type": "code",
        "execution_count": 3,
        "metadata": {},
        "source": "x",
        "outputs": [
            {
                "output_type": "execute_result",
                "execution_count": 3,
                "metadata": {},
                "data": {"text/plain": "{'a': '<b> & c'}"},
            }
        ],
    },
    {
        "cell_type": "markdown",
        "metadata": {},
        "source": "# A title & more\n\nSome *text*, **bold**, `a < b` and [a link](http://x.org/?a=1&b=2)"
        "  \nnext line 'q' \"dq\" &amp;amp; &#39; &nbsp;x\n\n- one\n- two\n\n> quoted\n\n---\n",
    },
    {"cell_type": "code", "execution_count": None, "metadata": {}, "source": "", "outputs": []},
    {
        "cell_type": "code",
        "execution_count": 4,
        "metadata": {},
        "source": "plot()",
        "outputs": [
            {
                "output_type": "display_data",
                "metadata": {},
                "data": {
                    "image/png": "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
                    "+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
                    "text/plain": "<Figure>",
                },
            }
        ],
    },
]


@dataclass
class RenderStats:
    """What the last render did: cells taken from the cache, cells rendered, and why
    the whole notebook was rendered instead (None: it was not)."""

    reused: int = 0
    rendered: int = 0
    whole: str | None = None
    # Of the cells rendered, those written back without nbconvert's soup pass.
    unsouped: int = 0


@dataclass(frozen=True)
class _Skeleton:
    head: str
    tail: str
    # What the template made of them (before nbconvert's soup pass); None: not known.
    template: tuple[str, str] | None = None


class _NotCut(Exception):
    """The batch page does not have the structure it must have (the reason)."""


# A serialized tag, comment or declaration of BeautifulSoup's output: there, a ``<``
# starts one of these (text escapes it, and attribute values escape ``<`` and ``>``).
_TOKEN = re.compile(
    r"<!--.*?-->"
    r"|<(script|style)(?=[\s/>])[^>]*>.*?</\1>"
    r"|<!\[CDATA\[.*?\]\]>"
    r"|<!(?!--)[^>]*>|<\?[^>]*>"
    r"|</([a-zA-Z][^\s/>]*)>"
    r"|<([a-zA-Z][^\s/>]*)[^>]*>",
    re.S,
)


def _is_element_run(html: str) -> bool:
    """Whether serialized HTML is a run of complete elements and text, each tag closed
    in it (a cell that left a tag open took what follows it into that tag)."""
    stack: list[str] = []
    pos = html.find("<")
    while pos >= 0:
        m = _TOKEN.match(html, pos)
        if m is None:
            return False
        closing, opening = m.group(2), m.group(3)
        if closing is not None:
            if not stack or stack.pop() != closing:
                return False
        elif opening is not None and not m.group(0).endswith("/>"):
            stack.append(opening)
        pos = html.find("<", m.end())
    return not stack


def _edges(html: str) -> tuple[str, str] | None:
    """The text before the first tag and after the last one (None: all text)."""
    first, last = html.find("<"), html.rfind(">")
    if first < 0 or last < 0:
        return None
    return html[:first], html[last + 1 :]


def _joins_exactly(pieces: Sequence[str]) -> bool:
    """Whether the soup of the whole page writes these pieces back as they are.

    It joins the text on both sides of a boundary into one string, and writes a string
    of whitespace alone as one space or newline; each piece was written back with tags
    on both sides. So they are the page unless text meets text at a boundary and the
    text on one side is whitespace alone.
    """
    trailing = ""
    for piece in pieces:
        if not piece:
            continue
        edges = _edges(piece)
        leading, after = (piece, piece) if edges is None else edges
        if (
            trailing
            and leading
            and not (trailing.strip(_BS4_SPACES) and leading.strip(_BS4_SPACES))
        ):
            return False
        trailing = after
    return True


def _canonical(value: Any) -> str | None:
    try:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError):  # not JSON: no key, so never taken from the cache
        return None


def _digest(*parts: str) -> bytes:
    h = hashlib.blake2b(digest_size=20)
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.digest()


def _with_ids(cells: Sequence[Any], has_ids: bool) -> tuple[list[Any], set[int]]:
    """The cells with the ids nbconvert would give them, and which cells got one.

    nbconvert gives a 4.5 notebook's cell without an id, or with the id of a cell above
    it, a new random id (``nbformat.validator.normalize``). Done here on the whole
    notebook, as on the page, rather than on the few cells rendered.
    """
    out = list(cells)
    if not has_ids:
        return out, set()
    from nbformat.corpus.words import generate_corpus_id

    seen: set[str | None] = set()
    made: set[int] = set()
    for i, cell in enumerate(out):
        if not isinstance(cell, Mapping):
            continue
        cid = _canonical(cell.get("id"))  # not always a string in an invalid notebook
        if "id" not in cell or cid in seen:
            out[i] = {**cell, "id": generate_corpus_id()}
            made.add(i)
            cid = _canonical(out[i]["id"])
        seen.add(cid)
    return out, made


def _draws_uuids(cell: Any) -> bool:
    outputs = cell.get("outputs") if isinstance(cell, Mapping) else None
    for output in outputs if isinstance(outputs, list) else ():
        data = output.get("data") if isinstance(output, Mapping) else None
        if isinstance(data, Mapping) and any(m in data for m in _UUID_MIMES):
            return True
    return False


class HtmlRenderer:
    """Renders notebooks to HTML as nbconvert's ``HTMLExporter`` (lab template) does,
    keeping each cell's HTML for the next render of a notebook holding that cell.

    One per process (:func:`render_html`); safe to call from several threads, one render
    at a time.

    Args:
        fragment_budget: Bytes of cell fragments kept (default :data:`FRAGMENT_BUDGET`).
        memo_budget: Bytes kept by each of the cleaning and highlighting memos.
        memo_item_limit: Texts above this size are not kept by those memos.
    """

    def __init__(
        self,
        fragment_budget: int | None = None,
        memo_budget: int | None = None,
        memo_item_limit: int | None = None,
    ) -> None:
        memo_budget = MEMO_BUDGET if memo_budget is None else memo_budget
        limit = MEMO_ITEM_LIMIT if memo_item_limit is None else memo_item_limit
        self.fragments = ByteLRU(FRAGMENT_BUDGET if fragment_budget is None else fragment_budget)
        self.skeletons = ByteLRU(SKELETON_BUDGET)
        # Redacted pieces, by their text and the secrets (True: nothing to redact).
        self.redacted = ByteLRU(FRAGMENT_BUDGET if fragment_budget is None else fragment_budget)
        self._clean_memo = ByteLRU(memo_budget, limit)
        self._highlight_memo = ByteLRU(memo_budget, limit)
        self.last = RenderStats()
        # Held by a render, and around a page kept and given back (reentrant).
        self.lock = threading.RLock()
        # The last page prerender_file made: (its text and secrets' key, the page, cells).
        self.kept_page: tuple[bytes, bytes, int] | None = None
        self._token = token_hex(8)
        self._exporter: Any = None
        # Whether the soup pass is run here, and skipped for cells of a strict form.
        self._split: bool | None = None
        self._ends: dict[bool, str] = {}
        self._highlight: _HighlightCode | None = None

    def render(self, nb: Mapping[str, Any], secrets: Sequence[str] | None = None) -> bytes:
        """The notebook's HTML page, as UTF-8; with ``secrets``, redacted by
        :func:`~nbrepro.redact.redact_text` as the whole page would be."""
        with self.lock:
            pieces, names = self._render(nb)
            if secrets is None:
                return "".join(pieces).encode("utf-8")
            return self._redact(pieces, names, secrets).encode("utf-8")

    def _redact(
        self, pieces: list[str], names: list[Hashable | None], secrets: Sequence[str]
    ) -> str:
        """The page redacted piece by piece, each piece's redaction kept (by what names
        its text, else the text's digest, and the secrets).

        Redaction replaces secrets and the credentials of ``scheme://`` URIs; neither
        crosses from one piece into the next when every boundary has a tag's ``>`` or
        ``<`` on one side and no secret holds either (a URI never does). Otherwise, and
        for a page rendered whole (one piece), the page is redacted whole.
        """
        kept = [(p, name) for p, name in zip(pieces, names, strict=True) if p]
        local = len(kept) > 1 and not any("<" in s or ">" in s for s in secrets if s)
        for (before, _), (after, _) in itertools.pairwise(kept):
            local = local and (before[-1] == ">" or after[0] == "<")
        if not local:
            return redact_text("".join(pieces), secrets)
        among = _digest(*sorted(s for s in secrets if s))
        out: list[str] = []
        for piece, name in kept:
            # A cached cell's HTML is named by its cache key: not hashed again.
            key = (among, ("text", _digest(piece)) if name is None else name)
            found: str | bool | None = self.redacted.get(key)
            if found is None:
                clean = redact_text(piece, secrets)
                found = True if clean == piece else clean
                # True (nothing to redact) costs its entry only.
                self.redacted.put(key, found, _ENTRY_BYTES + (0 if found is True else _size(clean)))
            out.append(found if isinstance(found, str) else piece)
        return "".join(out)

    def _node(self, nb: Mapping[str, Any]) -> Any:
        """The exporter made (once), its lexer set for ``nb``, and ``nb`` as a node."""
        import nbformat

        if self._exporter is None:
            # Validated once after the preprocessors rather than after each: same pages.
            exporter = _exporter_class()(template_name="lab", optimistic_validation=True)
            highlight = _HighlightCode(exporter, self._highlight_memo)
            # Set once: a change of filters rebuilds the exporter's Jinja environment.
            exporter.filters = {
                "clean_html": _CleanHtml(self._clean_memo),
                "highlight_code": highlight,
            }
            # Kept once whole (a failure above leaves the next render to try again).
            self._exporter, self._highlight = exporter, highlight
        assert self._highlight is not None
        # As HTMLExporter picks the notebook's lexer.
        info = (nb.get("metadata") or {}).get("language_info") or {}
        self._highlight.lexer = info.get("pygments_lexer", info.get("name"))
        return nbformat.from_dict(nb)

    def _export(self, nb: Mapping[str, Any]) -> str:
        """nbconvert's page, as ``HTMLExporter.from_notebook_node`` makes it."""
        node = self._node(nb)
        body, _ = self._exporter.from_notebook_node(node)
        return str(body)

    def _template(self, nb: Mapping[str, Any]) -> str:
        """The page before nbconvert's soup pass."""
        node = self._node(nb)
        return str(self._exporter.page_before_soup(node))

    def _split_checked(self) -> bool:
        """Whether the soup pass may be run here (:func:`_soup_pass`) rather than in
        nbconvert, and skipped for cells of the strict form :func:`_fast_soup` writes
        back: checked once, on a probe of every part of that form (and an image, for
        the soup's part in nbconvert's pass), against nbconvert's own page."""
        if self._split is None:
            self._split = False
            # The probe's image has no alt text: nbconvert's warning about it is not the
            # user's.
            quiet = _NoAltWarning()
            try:
                self._node({})
                self._exporter.log.addFilter(quiet)
                for has_ids in (True, False):
                    cells = [
                        {**c, "id": f"probe{i}"} if has_ids else dict(c)
                        for i, c in enumerate(_PROBE_CELLS)
                    ]
                    nb = {
                        "nbformat": 4,
                        "nbformat_minor": 5 if has_ids else 4,
                        "metadata": {"language_info": {"name": "python"}},
                        "cells": cells,
                    }
                    if _soup_pass(self._template(nb), self._exporter.log) != self._export(nb):
                        return False
                    page = self._template(self._batch(nb, cells, has_ids))
                    parts = page.split(self._separator())
                    written = _soup_pass(page, self._exporter.log).split(self._separator())
                    fast = [_fast_soup(p) for p in parts[1:-1]]
                    # Every cell but the image's is of the strict form.
                    if [f is None for f in fast] != [
                        i == len(cells) - 1 for i in range(len(cells))
                    ]:
                        return False
                    if any(
                        f is not None and f != w for f, w in zip(fast, written[1:-1], strict=True)
                    ):
                        return False
                self._split = True
            except Exception:  # nbconvert's or the soup's internals differ: theirs it is
                self._split = False
            finally:
                if self._exporter is not None:  # a filter never added is not there
                    self._exporter.log.removeFilter(quiet)
        return self._split

    def _render(self, nb: Mapping[str, Any]) -> tuple[list[str], list[Hashable | None]]:
        """The page in pieces (one: rendered whole), and for each piece a key that
        names its text (None: none does)."""
        self.last = stats = RenderStats()
        version = (nb.get("nbformat", 1), nb.get("nbformat_minor", 0))
        has_ids = all(isinstance(v, int) for v in version) and version >= (4, 5)
        cells, fresh = _with_ids(nb.get("cells") or [], has_ids)
        meta = _canonical([nb.get("nbformat"), nb.get("nbformat_minor"), nb.get("metadata")])
        if meta is None:
            return self._whole(nb, "metadata is not JSON")
        if any(_holds_void_end_tag(cell) for cell in cells):
            # The soup drops an end tag of a void element (</br>) when an element of that
            # name came before it anywhere on the page (else it splits the text there):
            # a cell's HTML would depend on the cells before it.
            return self._whole(nb, "an end tag of a void element")
        texts = [_canonical(cell) for cell in cells]
        keys: list[bytes | None] = []
        for i, (cell, text) in enumerate(zip(cells, texts, strict=True)):
            if i in fresh or _draws_uuids(cell):
                text = None
            keys.append(None if text is None else _digest(meta, text))
        frags: list[str | None] = [None if k is None else self.fragments.get(k) for k in keys]
        skeleton: _Skeleton | None = self.skeletons.get(meta)
        todo = [i for i, f in enumerate(frags) if f is None]
        stats.reused, stats.rendered = len(cells) - len(todo), len(todo)
        if todo or skeleton is None:
            try:
                skeleton, made = self._render_cells(nb, meta, [cells[i] for i in todo], has_ids)
            except _NotCut as exc:
                return self._whole(nb, str(exc))
            for i, frag in zip(todo, made, strict=True):
                frags[i] = frag
            self.skeletons.put(
                meta, skeleton, _size(skeleton.head, skeleton.tail, *(skeleton.template or ()))
            )
        pieces = [skeleton.head, *(f or "" for f in frags), skeleton.tail]
        if not _joins_exactly(pieces):
            return self._whole(nb, "text of two cells meets")
        for i in todo:
            if keys[i] is not None:
                self.fragments.put(keys[i], frags[i], _size(frags[i] or ""))
        # A fragment is its cell's rendering under this metadata: its key names it.
        names: list[Hashable | None] = [("head", meta)]
        names += [None if k is None else ("cell", k) for k in keys]
        return pieces, [*names, ("tail", meta)]

    def _whole(self, nb: Mapping[str, Any], why: str) -> tuple[list[str], list[Hashable | None]]:
        """The notebook rendered whole, as nbconvert renders it (``why``: in the stats)."""
        self.last.whole, self.last.unsouped = why, 0
        return [self._export(nb)], [None]

    def _separator(self) -> str:
        # Bleach (nbconvert cleans a raw cell) and the soup write it back as it is.
        return f"<b>nbrepro{self._token}</b>"

    def _separator_cell(self, i: int, has_ids: bool) -> dict[str, Any]:
        cell: dict[str, Any] = {"cell_type": "raw", "metadata": {}, "source": self._separator()}
        if has_ids:  # a raw cell's HTML shows no id: all separators' HTML is the same
            cell["id"] = f"nbrepro{self._token}s{i}"
        return cell

    def _end_cell(self, has_ids: bool) -> dict[str, Any]:
        cell: dict[str, Any] = {
            "cell_type": "code",
            "execution_count": None,
            "metadata": {"transient": {"remove_source": True}},
            "outputs": [
                {
                    "output_type": "display_data",
                    "data": {"text/html": _END_HTML.format(token=f"nbrepro{self._token}")},
                    "metadata": {},
                }
            ],
            "source": "",
        }
        if has_ids:
            cell["id"] = f"nbrepro{self._token}end"
        return cell

    def _end(self, has_ids: bool) -> str:
        """The end cell's HTML: what a page with it alone has more than a page without
        it (found once per process, for notebooks with cell ids and without)."""
        found = self._ends.get(has_ids)
        if found is None:
            base: dict[str, Any] = {"nbformat": 4, "nbformat_minor": 5 if has_ids else 4}
            base["metadata"] = {}
            try:
                without = self._export({**base, "cells": []})
                page = self._export({**base, "cells": [self._end_cell(has_ids)]})
            except Exception as exc:  # not expected; the notebook is then rendered whole
                raise _NotCut(f"the end cell failed to render: {exc!r}") from exc
            size = len(page) - len(without)
            # Where it went in is ambiguous by what it shares with its neighbours: a
            # cell's HTML starts with its <div>.
            starts = [p for p in _insertion_points(without, page) if page.startswith("<div", p)]
            if len(starts) != 1:
                raise _NotCut("the end cell's HTML was not found")
            found = self._ends[has_ids] = page[starts[0] : starts[0] + size]
        return found

    def _batch(self, nb: Mapping[str, Any], cells: list[Any], has_ids: bool) -> dict[str, Any]:
        """``nb`` with ``cells`` between separators, and the end cell."""
        batch = [self._separator_cell(0, has_ids)]
        for i, cell in enumerate(cells, 1):
            batch += [cell, self._separator_cell(i, has_ids)]
        batch.append(self._end_cell(has_ids))
        return {**nb, "cells": batch}

    def _render_cells(
        self, nb: Mapping[str, Any], meta: str, cells: list[Any], has_ids: bool
    ) -> tuple[_Skeleton, list[str]]:
        """Render ``cells`` in one page and cut it at the separators around them.

        The page must be ``head + separator + cell 1 + separator + ... + cell n +
        separator + end + tail``: the head and tail those of the notebook's other pages;
        the separators and the end cell's HTML intact (else a cell before them left
        something unfinished); each cell's HTML a run of complete elements (else it is in
        a tag another cell left open, or leaves one open itself, or a separator was found
        in a comment or a script it left open); no separator anywhere else.

        Once a probe shows that nbconvert's soup pass may be run here
        (:meth:`_split_checked`), the page's template is cut at the separators first:
        a cell of the strict form :func:`_fast_soup` writes back skips the soup when the
        head and tail are those of the skeleton kept for this metadata; the soup parses
        the template's head and tail with the other cells, as nbconvert would.

        Raises:
            _NotCut: the page is not that.
        """
        end = self._end(has_ids)
        doc = self._batch(nb, cells, has_ids)
        known = self.skeletons.get(meta)
        sep = self._separator()
        try:
            if not self._split_checked():
                return self._cut(self._export(doc), len(cells), end, known, None)
            parts = self._template(doc).split(sep)
            if len(parts) != len(cells) + 2:
                raise _NotCut("a separator is out of place in the template's page")
            template = (parts[0], parts[-1])
            made: list[str | None] = [None] * len(cells)
            if known is not None and known.template == template:
                made = [_fast_soup(p) for p in parts[1:-1]]
                self.last.unsouped = sum(m is not None for m in made)
            slow = [i for i, m in enumerate(made) if m is None]
            skeleton = known
            if slow or skeleton is None:
                page = sep.join([parts[0], *(parts[1 + i] for i in slow), parts[-1]])
                soup = _soup_pass(page, self._exporter.log)
                skeleton, written = self._cut(soup, len(slow), end, known, template)
                for i, frag in zip(slow, written, strict=True):
                    made[i] = frag
        except _NotCut:
            raise
        except Exception as exc:  # rendered whole, nbconvert's error is the one raised
            raise _NotCut(f"the cells failed to render: {exc!r}") from exc
        frags = [m for m in made if m is not None]
        if skeleton is None or len(frags) != len(cells) or any(self._token in f for f in frags):
            raise _NotCut("a separator is out of place")
        return skeleton, frags

    def _cut(
        self,
        page: str,
        count: int,
        end: str,
        known: _Skeleton | None,
        template: tuple[str, str] | None,
    ) -> tuple[_Skeleton, list[str]]:
        """The skeleton and the ``count`` cells' HTML of a batch page (see
        :meth:`_render_cells`).

        Raises:
            _NotCut: the page is not that.
        """
        head, *made, after = page.split(self._separator())
        if len(made) != count:
            raise _NotCut(f"{len(made) + 1} separators on the page, not {count + 1}")
        if not after.startswith(end):
            raise _NotCut("the end cell is not on the page")
        skeleton = _Skeleton(head, after[len(end) :], template)
        if any(self._token in text for text in (skeleton.head, skeleton.tail, *made)):
            raise _NotCut("a separator is out of place")
        if not all(_is_element_run(frag) for frag in made):
            raise _NotCut("a cell's HTML leaves a tag open or closes one it did not open")
        if known is not None and (known.head, known.tail) != (skeleton.head, skeleton.tail):
            raise _NotCut("the page's head or tail changed")
        return skeleton, made


def _insertion_points(without: str, page: str) -> range:
    """Where ``len(page) - len(without)`` characters put into ``without`` make ``page``."""

    def common(a: str, b: str, from_end: bool) -> int:
        # The longest common head (or tail), by halving: slices compare in C.
        lo, hi = 0, min(len(a), len(b))
        while lo < hi:
            mid = (lo + hi + 1) // 2
            same = a[len(a) - mid :] == b[len(b) - mid :] if from_end else a[:mid] == b[:mid]
            lo, hi = (mid, hi) if same else (lo, mid - 1)
        return lo

    if len(page) < len(without):
        return range(0)
    return range(len(without) - common(without, page, True), common(without, page, False) + 1)


@lru_cache(maxsize=1)
def _renderer() -> HtmlRenderer:
    # One per process: building an exporter recompiles its Jinja templates (~70 ms),
    # and the fragments are kept for the process's next renders.
    return HtmlRenderer()


def warm_renderer() -> threading.Thread:
    """Make this process's renderer ready in a background thread: nbconvert imported,
    its exporter and templates built, the shortcuts checked (a second or two of CPU the
    first render would spend). For a process that renders once it has waited on
    something else (``nbrepro rerun`` waits on the kernel). Best effort.

    nbconvert finds its templates by the Jupyter paths of the moment it is imported and
    its exporter made: the caller keeps them (``JUPYTER_PATH``) as the render will see
    them until this is done, and imports what its own thread uses meanwhile first (two
    threads importing the same modules may each see the other's half made).
    """

    def warm() -> None:
        with contextlib.suppress(Exception):
            renderer = _renderer()
            with renderer.lock:
                renderer._split_checked()
                renderer._end(True)

    thread = threading.Thread(target=warm, name="nbrepro-html-warm", daemon=True)
    thread.start()
    return thread


def render_html(nb: Mapping[str, Any]) -> bytes:
    """An HTML rendering of a notebook (nbconvert, lab template) for the MLflow UI."""
    return _renderer().render(nb)


def render_redacted_html(source: bytes, secrets: list[str]) -> bytes:
    """Render a notebook (ipynb bytes) to HTML and redact it like every other artifact.

    The notebook is nbrepro's own (the saved document or the replay, already redacted):
    read without nbformat's validation, which nbconvert does on what it renders. The
    page :func:`prerender_file` made of the same text under the same secrets is that
    page: it is given back rather than made again.
    """
    text = source.decode("utf-8")
    renderer = _renderer()
    with renderer.lock:
        kept = renderer.kept_page
        if kept is not None and kept[0] == _page_key(text, secrets):
            renderer.last = RenderStats(reused=kept[2])
            return kept[1]
        return renderer.render(ipynb.reads(text), secrets)


def _page_key(text: str, secrets: Sequence[str]) -> bytes:
    return _digest(text, *sorted(s for s in secrets if s))


def last_stats() -> RenderStats:
    """What this process's last render did (asked of nbrepro's worker, where captures
    are rendered)."""
    return _renderer().last


def prerender_file(path: str, secrets: list[str]) -> RenderStats | None:
    """Render a saved notebook as a capture of it would, to keep its pieces.

    A capture renders the notebook as saved, redacted, once the cell has returned; this
    renders it while the cell runs, so that render finds the cells' HTML made, or the
    whole page when the capture's copy is this text under these secrets (the last page
    made here is kept for that). What a capture logs is always a render of its own copy
    (a notebook saved meanwhile, or redacted otherwise, just finds fewer pieces kept).
    Best effort: None when the file cannot be read or rendered.
    """
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", errors="replace")
        # As the capture redacts the document it logs (assemble._redact_file).
        redacted = redact_text(text, secrets)
        renderer = _renderer()
        with renderer.lock:
            page = renderer.render(ipynb.reads(redacted), secrets)
            stats = renderer.last
            renderer.kept_page = (
                _page_key(redacted, secrets),
                page,
                stats.reused + stats.rendered,
            )
            return stats
    except Exception:  # the capture's own render reports what is wrong
        return None
