"""The kernel's own notebook reader (capture/ipynb.py) against nbformat's, on notebooks from
papermill's and nbdime's test suites (shipped in their wheels), nbclient's (copied into
tests/notebooks) and hand-made edge cases."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from helpers import notebook_corpus

from nbrepro.capture import ipynb

NOTEBOOKS = notebook_corpus()


def _as_nbformat_reads(text: str) -> nbformat.NotebookNode:
    """nbformat's reading, less the cell ids its validator makes up (at random) for
    4.5 cells saved without one: a made-up id matches no cell the kernel ran, so the
    kernel's reader leaves them out."""
    expected = nbformat.reads(text, as_version=4)
    raw = json.loads(text)
    if raw.get("nbformat") == 4:
        for cell, saved in zip(expected.cells, raw["cells"], strict=True):
            if "id" not in saved:
                cell.pop("id", None)
    return expected


def test_the_corpus_is_there() -> None:
    assert len(NOTEBOOKS) > 60


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_reads_as_nbformat_reads(path: Path) -> None:
    text = path.read_text("utf-8")
    expected = _as_nbformat_reads(text)
    got = ipynb.reads(text)
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    # What a capture reads, by attribute as nbformat's nodes allow.
    assert [c.source for c in got.cells] == [c.source for c in expected.cells]
    assert got.metadata == expected.metadata


def test_an_older_format_is_converted_by_nbformat() -> None:
    v3 = nbformat.v3
    old = v3.new_notebook(
        worksheets=[v3.new_worksheet(cells=[v3.new_code_cell(input="x = 1\nx", prompt_number=1)])]
    )
    text = nbformat.writes(old, version=3)
    got = ipynb.reads(text)
    assert got.nbformat == 4 and [c.source for c in got.cells] == ["x = 1\nx"]


def test_lines_joined_as_nbformat_joins_them() -> None:
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"orig_nbformat": 3, "signature": "sha256:x"},
        "cells": [
            {
                "cell_type": "code",
                "id": "a",
                "source": ["x = 1\n", "x"],
                "metadata": {"trusted": True, "tags": ["t"]},
                "execution_count": 1,
                "outputs": [
                    {"output_type": "stream", "name": "stdout", "text": ["a\n", "b"]},
                    {
                        "output_type": "execute_result",
                        "execution_count": 1,
                        "metadata": {},
                        "data": {
                            "text/plain": ["1\n", "2"],
                            "application/json": ["kept", "as a list"],
                            "application/vnd.custom+json": ["also", "kept"],
                        },
                    },
                ],
            },
            {
                "cell_type": "markdown",
                "id": "b",
                "source": ["# t\n", "x"],
                "metadata": {},
                "attachments": {"a.png": {"text/plain": ["p", "q"]}},
            },
        ],
    }
    text = json.dumps(nb)
    got = ipynb.reads(text)
    assert json.dumps(got, sort_keys=True) == json.dumps(
        nbformat.reads(text, as_version=4), sort_keys=True
    )
    assert got.cells[0].source == "x = 1\nx"
    assert got.cells[0].outputs[1]["data"]["application/json"] == ["kept", "as a list"]
    assert "trusted" not in got.cells[0].metadata and "signature" not in got.metadata


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "Expecting value"),
        ("[1, 2]", "not an object"),
        ('{"nbformat": 4, "metadata": {}, "cells": {}}', "cells are not a list"),
        ('{"nbformat": 4, "metadata": {}, "cells": [{"source": "x"}]}', "cells are not a list"),
        ('{"nbformat": 4, "metadata": {}, "cells": [{"cell_type": "code"}]}', "a source"),
        ('{"nbformat": 4, "metadata": {}, "cells": [{"cell_type": "code", "source": [1]}]}', ""),
        ('{"nbformat": 4, "cells": []}', "no metadata"),
    ],
)
def test_what_cannot_be_read_is_a_value_error(text: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        ipynb.reads(text)


def test_nodes_give_attribute_access_like_nbformats() -> None:
    nb = ipynb.reads(json.dumps(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x")])))
    assert nb.cells[0].source == "x" and nb.cells[0].metadata == {} and nb.metadata == {}
    node = ipynb.from_dict({"a": {"b": [{"c": 1}]}})
    assert node.a.b[0].c == 1
    node.d = 2
    assert node["d"] == 2
    del node.d
    with pytest.raises(AttributeError):
        _ = node.d
    assert ipynb.new_notebook() == nbformat.v4.new_notebook()
