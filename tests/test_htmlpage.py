"""The HTML rendering made cell by cell (capture/htmlpage.py) against nbconvert's rendering of
the whole notebook: the notebooks of tests/test_ipynb.py, rendered first, again and
changed; cells whose HTML is malformed; the byte budgets; the redaction."""

from __future__ import annotations

import copy
import functools
import json
import pickle
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import nbformat
import pytest
from helpers import notebook_corpus
from nbconvert import HTMLExporter

from nbrepro.capture import assemble
from nbrepro.capture import htmlpage as html

v4 = nbformat.v4
NOTEBOOKS = notebook_corpus()
# nbconvert draws a uuid4 for each JavaScript and widget output, and nbformat a random
# id for each 4.5 cell saved without one: two renders differ there, whoever makes them.
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_CELL_ID = re.compile(r'id="cell-id=[^"]*"')


@functools.cache
def _exporter() -> Any:
    return HTMLExporter(template_name="lab")


def _plain(nb: Any) -> str:
    """nbconvert's rendering of the whole notebook, nothing of nbrepro's in the way."""
    body, _ = _exporter().from_notebook_node(copy.deepcopy(nb))
    return str(body)


def _same(page: str | bytes, expected: str, *, cell_ids: bool = True) -> bool:
    text = page.decode("utf-8") if isinstance(page, bytes) else page
    if not cell_ids:
        text, expected = _CELL_ID.sub("", text), _CELL_ID.sub("", expected)
    if "getElementById(" in expected:  # the uuids' element, as the template uses it
        text, expected = _UUID.sub("U", text), _UUID.sub("U", expected)
    return text == expected


def _notebook(cells: list[Any], minor: int = 5) -> Any:
    nb = v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})
    nb.nbformat_minor = minor
    if minor < 5:
        for cell in nb.cells:
            cell.pop("id", None)
    return nb


def _html_output(markup: str, n: int = 1) -> Any:
    out = v4.new_output("display_data", data={"text/html": markup})
    return v4.new_code_cell(f"show({n})", execution_count=n, outputs=[out])


def test_the_corpus_is_there() -> None:
    assert len(NOTEBOOKS) > 60


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_renders_as_nbconvert_renders_the_whole_notebook(path: Path) -> None:
    text = path.read_text("utf-8")
    nb = nbformat.reads(text, as_version=4)
    try:
        expected = _plain(nb)
    except Exception as exc:  # the corpus has notebooks nbconvert itself refuses
        pytest.skip(f"nbconvert cannot render it: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    renderer = html._renderer()  # the process's, as the worker's; render_redacted_html's too

    assert _same(renderer.render(nb), expected), renderer.last
    assert renderer.last.whole is None, renderer.last
    assert _same(renderer.render(nb), expected)  # every cell from the cache
    assert renderer.last.rendered == sum(html._draws_uuids(c) for c in nb.cells)

    # As the worker reads it: nbrepro's reader, no validation (nor the ids nbformat's
    # validation makes up for 4.5 cells saved without one).
    raw = json.loads(text)
    made_up = raw.get("nbformat") == 4 and any("id" not in c for c in raw.get("cells", []))
    page = html.render_redacted_html(path.read_bytes(), [])
    assert _same(page, expected, cell_ids=not made_up)

    changed = copy.deepcopy(nb)
    if changed.cells:
        changed.cells[0].source += "\n# changed"
    added = [
        v4.new_markdown_cell("## Added\n\nA *new* cell."),
        v4.new_code_cell(
            "print('added')",
            execution_count=99,
            outputs=[v4.new_output("stream", name="stdout", text="added\n")],
        ),
    ]
    if (changed.nbformat, changed.nbformat_minor) < (4, 5):
        for cell in added:
            cell.pop("id", None)
    changed.cells += added
    assert _same(renderer.render(changed), _plain(changed)), renderer.last
    assert renderer.last.whole is None and renderer.last.rendered <= 3, renderer.last


# Cells whose HTML a neighbour on the page of the whole notebook would change.
MALFORMED = {
    "unclosed div": "<div>unclosed",
    "stray end tag": "</div></main>stray",
    "unclosed script": "<script>var a = 1;",
    "unclosed comment": "<!-- never closed",
    "unclosed quote": '<div class="q>oops',
    "new main": "</main><div><main>",
}


@pytest.mark.parametrize("markup", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_output_is_rendered_whole(markup: str) -> None:
    renderer = html.HtmlRenderer()
    before, after = v4.new_markdown_cell("# Before"), _html_output("<b>after</b>", 2)
    nb = _notebook([before, _html_output(markup), after])

    assert renderer.render(nb).decode() == _plain(nb)
    assert renderer.last.whole is not None
    assert len(renderer.fragments) == 0  # nothing of a page cut wrong is kept
    # Its neighbours alone, then with it again: each page as nbconvert makes it.
    alone = _notebook([before, after])
    assert renderer.render(alone).decode() == _plain(alone)
    assert renderer.render(nb).decode() == _plain(nb)


def test_cells_in_any_order_and_company_render_as_the_whole_notebook() -> None:
    """Cells well and badly formed, with text at their edges, drawn at random from one
    pool, so that a cell's HTML kept from one notebook is used in another."""
    rng = random.Random(13)
    markups = [*MALFORMED.values(), "<p>fine</p>", "<img src='x.png'>", "<table><td>1", "&amp;"]
    pool: list[Any] = [_html_output(m, i) for i, m in enumerate(markups)]
    pool += [v4.new_raw_cell(s) for s in ("", " ", "raw text", "<b>raw</b>", "\n\n")]
    pool += [v4.new_markdown_cell(s) for s in ("# Title", "<div>md open", "plain")]
    pool += [v4.new_code_cell(f"x = {i}", execution_count=i) for i in range(5)]
    renderer = html.HtmlRenderer()
    whole = 0
    for _ in range(40):
        nb = _notebook(copy.deepcopy(rng.sample(pool, rng.randint(0, 6))), rng.choice([4, 5]))
        assert renderer.render(nb).decode() == _plain(nb), [c.source for c in nb.cells]
        whole += renderer.last.whole is not None
    assert 0 < whole < 40  # both ways were taken


def test_javascript_outputs_keep_their_own_element_ids() -> None:
    js = v4.new_output("display_data", data={"application/javascript": "element.text('x')"})
    cell = v4.new_code_cell("js()", execution_count=1, outputs=[js])
    nb = _notebook([cell, copy.deepcopy(cell)], minor=4)  # two equal cells
    renderer = html.HtmlRenderer()

    for _ in range(2):
        page = renderer.render(nb).decode()
        assert _same(page, _plain(nb))
        ids = re.findall(r'<div class="jp-RenderedJavaScript[^>]*id="([^"]+)"', page)
        assert len(ids) == 2 and ids[0] != ids[1]


def test_missing_and_repeated_cell_ids_get_ids_of_their_own() -> None:
    a, b, c = (v4.new_code_cell(f"x = {i}", execution_count=i) for i in range(3))
    b.id = a.id
    del c["id"]
    source = json.dumps(_notebook([a, b, c])).encode()

    page = html.render_redacted_html(source, []).decode()
    ids = _CELL_ID.findall(page)
    assert len(set(ids)) == 3 and f'id="cell-id={a.id}"' in ids
    assert _same(page, _plain(nbformat.reads(source.decode(), as_version=4)), cell_ids=False)


def test_the_byte_budget_evicts_the_least_recently_used() -> None:
    budget = 20_000
    renderer = html.HtmlRenderer(fragment_budget=budget)
    cells = [v4.new_code_cell(f"y = {i} * 2", execution_count=i) for i in range(40)]
    nb = _notebook(cells)

    assert renderer.render(nb).decode() == _plain(nb)
    assert 0 < len(renderer.fragments) < 40
    assert renderer.fragments.nbytes <= budget
    assert renderer.render(nb).decode() == _plain(nb)  # the evicted ones made again
    assert renderer.last.rendered > 0 and renderer.last.whole is None


def test_the_lru_keeps_within_its_budget_and_skips_big_items() -> None:
    lru = html.ByteLRU(budget=100, item_limit=60)
    lru.put("a", "A", 40)
    lru.put("b", "B", 40)
    assert lru.get("a") == "A"  # now the most recent
    lru.put("c", "C", 40)
    assert (lru.get("a"), lru.get("b"), lru.get("c")) == ("A", None, "C")
    assert lru.nbytes == 80
    lru.put("big", "X", 61)
    assert lru.get("big") is None and lru.nbytes == 80


def test_memos_keep_no_text_above_their_item_limit() -> None:
    renderer = html.HtmlRenderer(memo_item_limit=1_000)
    long_source = "x = 1\n" * 200
    nb = _notebook([v4.new_code_cell(long_source, execution_count=1)])

    assert renderer.render(nb).decode() == _plain(nb)
    # (The probe checking the shortcut past the soup is highlighted and kept too.)
    assert not any(key[0] == long_source for key in renderer._highlight_memo._items)
    assert renderer._clean_memo.nbytes <= 1_000 * len(renderer._clean_memo)


def test_secrets_are_redacted_from_the_page() -> None:
    secret = "s3cr3t-T0ken-value"
    out = v4.new_output(
        "stream", name="stdout", text=f"token={secret}\nhttps://me:pw@db.example/x\n"
    )
    cells = [v4.new_code_cell("print(token)", execution_count=1, outputs=[out])]
    source = nbformat.writes(_notebook(cells)).encode()

    for _ in range(2):  # the second from cached HTML: redacted all the same
        page = html.render_redacted_html(source, [secret])
        assert secret.encode() not in page and b"me:pw@" not in page
        assert b"[REDACTED]" in page
    # As the worker gets it: the capture's picklable producer, through assemble.
    producer = functools.partial(assemble.render_redacted_html, source, [secret])
    assert pickle.loads(pickle.dumps(producer))() == page


def _with_secrets(secret: str) -> Any:
    md = v4.new_markdown_cell(f"The key is `{secret}`; see https://me:{secret}@db.example/x")
    code = v4.new_code_cell(
        f"key = {secret!r}",
        execution_count=1,
        outputs=[v4.new_output("stream", name="stdout", text=f"{secret}\n")],
    )
    html_out = _html_output(f"<p>{secret}</p><a href='s3://u:{secret}@b/k'>link</a>", 2)
    plain = v4.new_code_cell("x = 1", execution_count=3)
    return _notebook([md, code, html_out, plain])


@pytest.mark.parametrize(
    "secrets",
    [["s3cr3t-T0ken-value"], ["s3cr3t-T0ken-value", "other-secret-1"], ["pa<ss>w0rd-long"], []],
    ids=["one", "two", "with-tag-characters", "none"],
)
def test_the_page_redacted_in_pieces_is_the_page_redacted_whole(secrets: list[str]) -> None:
    """Each piece's redaction is kept, per set of secrets; the page is the same as the
    whole page redacted, from a fresh render, from the cache and with other secrets."""
    renderer = html.HtmlRenderer()
    nb = _with_secrets(secrets[0] if secrets else "no-secret-here")
    whole = html.redact_text(renderer.render(nb).decode(), secrets)
    assert renderer.render(nb, secrets).decode() == whole
    assert renderer.render(nb, secrets).decode() == whole  # redacted pieces kept
    for secret in secrets:
        assert secret not in whole
    if not any("<" in s for s in secrets):  # else the markdown cell's link is cut short
        assert "//me:" not in whole and "//u:" not in whole  # URI credentials
    others = ["other-secret-2", "key = "]
    assert renderer.render(nb, others).decode() == html.redact_text(
        renderer.render(nb).decode(), others
    )
    if secrets and "<" not in secrets[0]:
        # Piece by piece: the second render of the same page redacts nothing again.
        assert len(renderer.redacted) > 0
        calls: list[int] = []
        real = html.redact_text

        def counted(text: str, s: Any) -> str:
            calls.append(len(text))
            return real(text, s)

        html.redact_text = counted  # type: ignore[assignment]
        try:
            assert renderer.render(nb, secrets).decode() == whole
        finally:
            html.redact_text = real  # type: ignore[assignment]
        assert calls == []


def test_redaction_in_pieces_matches_the_whole_page_on_random_pieces() -> None:
    """The boundary rule against whole-page redaction, on pieces cut anywhere a page
    could be cut (tags, text, whitespace, empty pieces, URIs and secrets at the edges)."""
    rng = random.Random(7)
    secret = "tok-3xAmple-99"
    atoms = [
        "<div>",
        "</div>",
        "<p class='x'>",
        "</p>",
        " ",
        "\n",
        "",
        "text",
        secret,
        f"s3://u:{secret}@b/k",
        "https://me:pw@host/x",
        "<a href='https://a:b@h/'>",
        json.dumps(secret),
        "&quot;" + secret,
        "tok-3x",
        "Ample-99",
        "://",
        "x@y",
    ]
    renderer = html.HtmlRenderer()
    for _ in range(3000):
        pieces = ["".join(rng.choice(atoms) for _ in range(rng.randint(0, 4))) for _ in range(4)]
        secrets = rng.choice([[secret], [secret, "other-long-one"], ["a<b-long-secret"], []])
        names = [None] * len(pieces)
        assert renderer._redact(pieces, names, secrets) == html.redact_text(
            "".join(pieces), secrets
        )


def test_a_prerendered_notebook_leaves_the_capture_nothing_to_render(tmp_path: Path) -> None:
    secret = "pr3rendered-S3cret-value"
    nb = _with_secrets(secret)
    nb.cells += [v4.new_code_cell(f"step({i})", execution_count=4 + i) for i in range(5)]
    path = tmp_path / "saved.ipynb"
    path.write_text(nbformat.writes(nb), "utf-8")
    renderer = html._renderer()

    stats = html.prerender_file(str(path), [secret])
    assert stats is not None and stats.rendered == len(nb.cells) and stats.whole is None
    # The HTML kept is that of the redacted notebook: nothing of the secret is kept.
    assert not any(secret in str(v) for v, _ in renderer.fragments._items.values())
    # As the capture renders it after the cell: its own redacted copy of the file.
    source = html.redact_text(path.read_text("utf-8"), [secret]).encode()
    page = html.render_redacted_html(source, [secret]).decode()
    assert renderer.last.rendered == 0 and renderer.last.reused == len(nb.cells)
    expected = _plain(nbformat.reads(source.decode(), as_version=4))
    assert page == html.redact_text(expected, [secret])
    assert html.prerender_file(str(tmp_path / "missing.ipynb"), []) is None


def test_the_page_prerendered_is_the_capture_s_when_its_copy_is_the_same(
    tmp_path: Path,
) -> None:
    """The capture of the file the worker prerendered, under the same secrets, gets the
    page made then; any other copy (edited since, other secrets) is rendered itself."""
    secret = "k3pt-page-S3cret-value"
    nb = _with_secrets(secret)
    path = tmp_path / "saved.ipynb"
    path.write_text(nbformat.writes(nb), "utf-8")
    renderer = html._renderer()
    assert html.prerender_file(str(path), [secret, "another-long-secret"]) is not None
    source = html.redact_text(path.read_text("utf-8"), [secret, "another-long-secret"])
    kept = renderer.kept_page
    assert kept is not None
    expected = html.redact_text(_plain(nbformat.reads(source, as_version=4)), [secret])
    # The same text, the secrets in another order: the page kept, as a render makes it.
    page = html.render_redacted_html(source.encode(), ["another-long-secret", secret])
    assert page is kept[1] and page.decode() == expected
    assert renderer.last.rendered == 0 and renderer.last.reused == len(nb.cells)
    # Other secrets, or the text changed since: rendered, not the page kept.
    assert html.render_redacted_html(source.encode(), [secret]) is not kept[1]
    edited = source.replace("x = 1", "x = 2", 1)
    assert edited != source
    page = html.render_redacted_html(edited.encode(), [secret, "another-long-secret"])
    assert page is not kept[1]
    assert page.decode() == html.redact_text(_plain(nbformat.reads(edited, as_version=4)), [secret])


def test_cells_are_cleaned_by_one_cleaner_made_as_nbconvert_makes_it() -> None:
    import bleach
    from nbconvert.filters import strings

    clean = html._nbconvert_cleaner()
    assert clean is not None, "nbconvert's bleach arguments were not found: cleaned per call"
    assert strings.bleach is bleach  # put back
    for text in [
        '<div class="highlight"><pre><span class="k">def</span> f(): pass</pre></div>',
        "<table><tr><td style='color: red'>1</td></tr></table><script>alert(1)</script>",
        "<a href='javascript:alert(1)' id='x'>x</a><img src=x onerror=alert(1)>",
        "plain & text < with > brackets",
    ]:
        assert clean(text) == strings.clean_html(text)


def _corpus_sources() -> list[str]:
    sources = []
    for path in NOTEBOOKS:
        try:
            nb = json.loads(path.read_text("utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        for cell in nb.get("cells") or nb.get("worksheets", [{}])[0].get("cells", []):
            source = cell.get("source", cell.get("input", ""))
            sources.append("".join(source) if isinstance(source, list) else str(source))
    return sources


def _tricky_sources(n: int) -> list[str]:
    rng = random.Random(11)
    pieces = ["x = 1", "\n", "\t", " ", "'", '"', "<", ">", "&", "&amp;", "é", "\xa0", "#"]
    pieces += ["\r", "\r\n", "\x00", "\x0b", "\x0c", "\x1f", "\x7f", "\x85", "\ufdd0", "\ufffe"]
    pieces += ["\ud800", "😀", "\U0001fffe", "%%time", "!ls", "def f():", "<span>", "\\"]
    pieces += ["print(f'{x!r}')", '"""doc"""', "\n\n", "  ", "\ufeff", "</pre>", "<!--"]
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 30))) for _ in range(n)]


def test_highlighted_code_bleach_would_keep_as_it_is_skips_bleach() -> None:
    """The shortcut past bleach (:data:`html._HIGHLIGHTED`) takes only what bleach gives
    back unchanged: checked on the corpus's code, highlighted by three lexers, and on
    random text with each character bleach changes."""
    from nbconvert.filters.highlight import Highlight2HTML

    assert html._bleach_keeps_highlighted()
    corpus, tricky = _corpus_sources(), _tricky_sources(600)
    taken = 0
    for lexer in ("ipython3", "python", "r"):
        highlight = Highlight2HTML(pygments_lexer=lexer)
        for i, source in enumerate(corpus + tricky):
            code = str(highlight(source, lexer))
            if html._HIGHLIGHTED.fullmatch(code):
                taken += i < len(corpus)
                assert html._CleanHtml._bleach(code) == code, (lexer, source)
            assert html._CleanHtml._clean(code) == html._CleanHtml._bleach(code)
    # The corpus's code takes it (else nothing is gained).
    assert taken > 0.9 * 3 * len(corpus)


def test_the_shortcut_past_bleach_is_off_when_bleach_changes_highlighted_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    html._bleach_keeps_highlighted.cache_clear()
    monkeypatch.setattr(html._CleanHtml, "_bleach", staticmethod(lambda e: str(e).upper()))
    try:
        assert not html._bleach_keeps_highlighted()
        code = '<div class="highlight"><pre><span></span><span class="n">x</span>\n</pre></div>\n'
        assert html._CleanHtml._clean(code) == code.upper()
    finally:
        html._bleach_keeps_highlighted.cache_clear()


def test_highlighting_differing_from_nbconvert_s_own_call_is_left_to_it() -> None:
    """One formatter per language is used only once it highlights as nbconvert's own
    call does (checked on a probe for each language)."""
    renderer = html.HtmlRenderer()
    renderer._export({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []})
    highlight = renderer._highlight
    assert highlight is not None
    assert highlight("x = 1", "python") == str(highlight._highlight("x = 1", "python"))
    assert highlight._formatters is not None and "python" in highlight._formatters

    class Own:
        extra_formatter_options: ClassVar[dict[str, Any]] = {}

        def __call__(self, source: str, language: str, metadata: Any) -> str:
            return f"<own>{source}</own>"

    highlight._highlight = Own()
    assert highlight("y = 2", "r") == "<own>y = 2</own>"
    assert highlight._formatters is None


def test_the_corpus_renders_as_nbconvert_with_the_soup_skipped_where_it_may_be() -> None:
    """Each corpus notebook rendered whole by a renderer that knows its page's skeleton:
    the cells of the strict form skip nbconvert's soup pass (:func:`html._fast_soup`),
    the others go through it, and the page is nbconvert's."""
    renderer = html.HtmlRenderer()
    unsouped = rendered = 0
    for path in NOTEBOOKS:
        nb = nbformat.reads(path.read_text("utf-8"), as_version=4)
        try:
            expected = _plain(nb)
        except Exception:  # as in the test above: nbconvert refuses it
            continue
        renderer.render({**copy.deepcopy(nb), "cells": []})  # the skeleton, as known
        page = renderer.render(nb)
        assert _same(page, expected), (path, renderer.last)
        if renderer.last.whole is None:
            unsouped += renderer.last.unsouped
            rendered += renderer.last.rendered
    # Most of the corpus's cells skip the soup (else nothing is gained).
    assert unsouped > 0.6 * rendered, (unsouped, rendered)


_SOUP_PIECES = [
    '<div class="jp-Cell-inputWrapper">',
    '<div class=" a  b\nc ">',
    '<div id="cell-id=x" class="jp-Cell jp-CodeCell">',
    '<div class="jp-RenderedText jp-OutputArea-output" data-mime-type="text/plain">',
    '<div class="JP-OUTPUTAREA-OUTPUT">',
    '<span class="jp-Cell-inputWrapper">',
    '<span class="n">',
    "<pre>",
    "<p>",
    '<a href="http://x.org/?a=1&amp;b=2" title="t">',
    '<h1 id="T-&amp;-x">',
    "<em>",
    "<code>",
    "<ul>",
    "<li>",
    "<blockquote>",
    "<div >",
    "<div\nclass='x'>",
    "<div hidden>",
    '<div class="x" class="y">',
    '<div tabindex="1">',
    '<img src="x.png">',
    "<table>",
    "<Div>",
]
_SOUP_VOIDS = ["<br>", "<br/>", "<br />", "<hr>", "</br>", "<div/>"]
_SOUP_TEXT = ["x", " ", "\n", "  \n ", "\t", "é", "\xa0", ">", "'", '"', "\r", "\x0c", "\x85"]
_SOUP_TEXT += ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#182;", "&nbsp;", "&amp;amp;"]
_SOUP_TEXT += ["&#128;", "&#0;", "&#x27;", "&bogus;", "& ", "&apos;", "&#55296;", "&#65533;"]


def _random_fragments(n: int) -> list[str]:
    """Cell HTML drawn at random: tags of the strict form and near it, text with the
    entities and characters the soup reads, mostly closed in the fragment."""
    rng = random.Random(5)
    out = []
    for _ in range(n):
        parts: list[str] = []
        stack: list[str] = []
        for _ in range(rng.randint(0, 14)):
            roll = rng.random()
            if roll < 0.3:
                tag = rng.choice(_SOUP_PIECES)
                parts.append(tag)
                stack.append(re.match(r"<(\w+)", tag).group(1).lower())  # type: ignore[union-attr]
            elif roll < 0.5 and stack:
                parts.append(f"</{stack.pop()}>")
            elif roll < 0.55:
                parts.append(rng.choice([*_SOUP_VOIDS, "</span>"]))
            else:
                parts.append(rng.choice(_SOUP_TEXT))
        if rng.random() < 0.9:
            parts += [f"</{t}>" for t in reversed(stack)]
        out.append("".join(parts))
    return out


def _soup_mismatches(
    fragments: list[str], mutate: Callable[[], None] | None = None
) -> tuple[int, int]:
    """How many fragments :func:`html._fast_soup` writes back, and how many of those
    differ from nbconvert's soup pass on a page holding them where a cell's HTML is
    (``mutate``: called once the probe has passed)."""
    renderer = html.HtmlRenderer()
    assert renderer._split_checked()
    if mutate is not None:
        mutate()
    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}
    head, after = renderer._template(renderer._batch(nb, [], True)).split(renderer._separator())
    sep = renderer._separator()
    taken = wrong = 0
    for frag in fragments:
        fast = html._fast_soup(frag)
        if fast is None:
            continue
        taken += 1
        soup = html._soup_pass(sep.join([head, frag, after]), renderer._exporter.log)
        parts = soup.split(sep)
        wrong += len(parts) != 3 or parts[1] != fast
    return taken, wrong


def test_the_shortcut_past_the_soup_writes_back_what_the_soup_does() -> None:
    fragments = _random_fragments(3000)
    taken, wrong = _soup_mismatches(fragments)
    assert wrong == 0
    assert taken > 0.15 * len(fragments)  # the form is exercised, not only refused


@pytest.mark.parametrize(
    "mutant",
    [
        "text escaped without '>'",
        "whitespace kept",
        "attributes unsorted",
        "no tabindex",
        "any entity",
    ],
)
def test_a_wrong_shortcut_past_the_soup_is_caught(
    mutant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comparison above fails a shortcut that differs from the soup in any one way,
    and so does the probe a renderer checks before it takes the shortcut."""

    def mutate() -> None:
        if mutant == "text escaped without '>'":
            escape = lambda t: t.replace("&", "&amp;").replace("<", "&lt;")  # noqa: E731
            monkeypatch.setattr(html, "_escape_text", escape)
        elif mutant == "whitespace kept":
            monkeypatch.setattr(html, "_BS4_SPACES", "")
        elif mutant == "attributes unsorted":
            monkeypatch.setattr(html, "sorted", lambda items: list(items), raising=False)
        elif mutant == "no tabindex":
            monkeypatch.setattr(html, "_FOCUSABLE", ())
            monkeypatch.setattr(html, "_FOCUSABLE_FOLDED", set())
        else:
            monkeypatch.setattr(html, "_FAST_NAMED", {**html._FAST_NAMED, "nbsp": " "})

    _, wrong = _soup_mismatches(_random_fragments(1500), mutate)
    assert wrong > 0
    assert not html.HtmlRenderer()._split_checked()


def test_the_soup_pass_is_nbconvert_s_when_the_probe_says_it_differs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A soup pass (here) that differs from nbconvert's on the probe is not used: every
    page is nbconvert's own."""
    real = html._soup_pass
    monkeypatch.setattr(html, "_soup_pass", lambda page, log: real(page, log).replace("\n<", "<"))
    renderer = html.HtmlRenderer()
    cells = [v4.new_code_cell(f"x = {i}", execution_count=i) for i in range(3)]
    nb = _notebook(cells)
    assert renderer.render(nb).decode() == _plain(nb)
    assert not renderer._split_checked()
    nb.cells.append(v4.new_code_cell("y = 1", execution_count=9))
    assert renderer.render(nb).decode() == _plain(nb)
    assert renderer.last.rendered == 1 and renderer.last.unsouped == 0


@pytest.mark.parametrize(
    ("kind", "end_tag"),
    [
        ("markdown", "</br>"),
        ("markdown", "</BR >"),
        ("markdown", "</ hr>"),
        ("markdown", "</img>"),
        # Raw HTML keeps what Markdown escapes; in the file, JSON writes "\n" for it.
        ("html", "</\nbr>"),
        ("html", "</\tbr >"),
    ],
)
def test_an_end_tag_of_a_void_element_has_the_notebook_rendered_whole(
    kind: str, end_tag: str
) -> None:
    """The soup drops ``</br>`` once a ``<br>`` came before it anywhere on the page, and
    otherwise splits the text there: a cell's HTML then depends on the cells before it,
    so such a notebook is rendered whole (found by review: the shortcut past the soup,
    and the cache before it, gave ``<span>  </span>`` where nbconvert gives one space)."""
    markup = f"x <span> {end_tag} </span> y"
    first = v4.new_markdown_cell("a<br>b<hr><img src='x.png' alt='x'>")
    second = v4.new_markdown_cell(markup) if kind == "markdown" else _html_output(markup, 2)
    renderer = html.HtmlRenderer()
    renderer.render(_notebook([]))  # the skeleton known: the shortcut may be taken
    nb = _notebook([first, second])
    assert renderer.render(nb).decode() == _plain(nb)
    assert renderer.last.whole == "an end tag of a void element"
    # Through the cache: the second cell added to a page whose first cell is kept.
    renderer = html.HtmlRenderer()
    alone = _notebook([first])
    assert renderer.render(alone).decode() == _plain(alone)
    assert renderer.render(nb).decode() == _plain(nb)
    # Without the end tag, the pieces are joined again.
    fine = _notebook([first, v4.new_markdown_cell("x <span> <br> </span> y")])
    assert renderer.render(fine).decode() == _plain(fine)
    assert renderer.last.whole is None


def test_the_renderer_is_made_ready_in_the_background() -> None:
    """``nbrepro rerun`` has its renderer made while it waits on the kernel."""
    html._renderer.cache_clear()
    try:
        html.warm_renderer().join(120)
        renderer = html._renderer()
        assert renderer._split is True and True in renderer._ends
        nb = _notebook([v4.new_code_cell("x = 1", execution_count=1)])
        assert renderer.render(nb).decode() == _plain(nb)
    finally:
        html._renderer.cache_clear()
