"""What a report says about a cell, as a user reads it: images side by side (fetched
from each run's recorded outputs, bounded), and cells named as JupyterLab shows them
(1-based places, the execution count), in reports of this nbrepro and older ones."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from pathlib import Path
from typing import Any

import nbformat
import pytest
import tornado
from helpers import api_check
from test_compare import A, B, Cell, FakeRun, in_memory, report_of, stream

from nbrepro.capture.history import ExecutedCell, build_replay
from nbrepro.errors import NotebookExecutionError
from nbrepro.reproduce.compare.images import MAX_CELLS, cell_images, images_of
from nbrepro.reproduce.compare.report import render_text
from nbrepro.reproduce.execute import error_at
from nbrepro.store.runs import CapturedRun

pytest_plugins = ["pytest_jupyter.jupyter_server"]


def png(width: int, height: int, pixel: tuple[int, int, int]) -> bytes:
    """A real PNG of one colour (RGB, 8 bits), as zlib and struct make it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body))
            + kind
            + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(pixel) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def image_output(data: bytes, mime: str = "image/png") -> dict[str, Any]:
    encoded = base64.encodebytes(data).decode()  # wrapped at 76 characters, as Jupyter may
    return {
        "output_type": "display_data",
        "data": {mime: encoded, "text/plain": "<Figure size 640x480 with 1 Axes>"},
        "metadata": {},
    }


def plot_runs(red: bytes, blue: bytes) -> tuple[FakeRun, FakeRun]:
    original = FakeRun(
        A,
        [
            Cell("import x"),
            Cell("plot()", [stream("drawn\n"), image_output(red)]),
            Cell("print(1)", [stream("1\n")]),
        ],
    )
    rerun = FakeRun(
        B,
        [
            Cell("import x", origin=0),
            Cell("plot()", [stream("drawn\n"), image_output(blue)], origin=1),
            Cell("print(1)", [stream("1\n")], origin=2),
        ],
        reproduces=A,
    )
    return original, rerun


def test_differing_images_are_read_back_from_each_runs_outputs() -> None:
    red, blue = png(4, 3, (255, 0, 0)), png(4, 3, (0, 0, 255))
    original, rerun = plot_runs(red, blue)
    report = report_of(original, rerun)
    [cell] = report["sections"]["outputs"]["cells"]
    assert cell["images_differ"] and cell["cell"] == 1
    # The report keeps no image: the cell is named, the bytes stay in each run.
    assert base64.b64encode(red).decode() not in json.dumps(report)

    answer = api_check(cell_images(original, rerun, [cell["cell"]]), "CellImages")
    [pair] = answer["cells"]
    assert pair["label"] == cell["label"] == "In [2] (cell 2)"
    [left], [right] = pair["original"], pair["rerun"]
    assert left["mime"] == "image/png" and base64.b64decode(left["data"]) == red
    assert base64.b64decode(right["data"]) == blue
    assert answer["left_out"] == 0

    # Over the byte cap: a cell's images are listed without their data, both sides.
    capped = api_check(cell_images(original, rerun, [1], max_bytes=10), "CellImages")
    assert capped["left_out"] == 2
    assert [i["data"] for i in capped["cells"][0]["original"] + capped["cells"][0]["rerun"]] == [
        None,
        None,
    ]
    with pytest.raises(ValueError, match="at most"):
        cell_images(original, rerun, list(range(MAX_CELLS + 1)))


def test_images_of_prefers_pixels_and_keeps_svg_text() -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg" width="2" height="2"></svg>'
    outputs = [
        {"output_type": "stream", "name": "stdout", "text": "x"},
        {"output_type": "display_data", "data": {"image/svg+xml": [svg[:10], svg[10:]]}},
        {"output_type": "display_data", "data": {"image/svg+xml": svg, "image/png": "iVBO\nRw=="}},
        {"output_type": "execute_result", "data": {"text/plain": "1"}},
    ]
    assert images_of(outputs) == [("image/svg+xml", svg), ("image/png", "iVBORw==")]


def test_an_svg_that_differs_is_listed_as_an_image() -> None:
    svg = {"output_type": "display_data", "data": {"image/svg+xml": "<svg>a</svg>"}}
    other = {"output_type": "display_data", "data": {"image/svg+xml": "<svg>b</svg>"}}
    original = FakeRun(A, [Cell("plot()", [svg])])
    rerun = FakeRun(B, [Cell("plot()", [other], origin=0)], reproduces=A)
    [cell] = report_of(original, rerun)["sections"]["outputs"]["cells"]
    pair = cell_images(original, rerun, [cell["cell"]])["cells"][0]
    assert (pair["original"][0]["data"], pair["rerun"][0]["data"]) == (
        "<svg>a</svg>",
        "<svg>b</svg>",
    )


class DocRun(CapturedRun):
    """A headless run of a notebook with markdown cells: places in the notebook are not
    places among the executions."""

    def __init__(self, run_id: str, doc: nbformat.NotebookNode, **run: Any) -> None:
        executed = [
            ExecutedCell(c.execution_count, c.source, doc_index=i, error=None)
            for i, c in enumerate(doc.cells)
            if c.cell_type == "code"
        ]
        super().__init__(**in_memory(run_id, executed, run))
        self._doc = doc
        self._replay = build_replay(executed, doc)

    def artifact_text(self, key: str) -> str:
        assert key == "document"
        return nbformat.writes(self._doc)


def notebook(*cells: tuple[str, str, list[dict[str, Any]]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    count = 0
    for kind, source, outputs in cells:
        if kind == "markdown":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
            continue
        count += 1
        cell = nbformat.v4.new_code_cell(source, execution_count=count)
        cell.outputs = [nbformat.from_dict(o) for o in outputs]
        nb.cells.append(cell)
    return nb


def test_cells_are_named_by_their_place_in_the_notebook_from_1() -> None:
    # JupyterLab's third cell is the second code cell: "cell 3", never "cell 1" or "2".
    a = notebook(
        ("markdown", "# Title", []),
        ("code", "x = 1", []),
        ("code", "print(x)", [stream("1\n")]),
    )
    b = notebook(
        ("markdown", "# Title", []),
        ("code", "x = 2", []),
        ("code", "print(x)", [stream("2\n")]),
    )
    report = report_of(DocRun(A, a), DocRun(B, b))
    [cell] = report["sections"]["outputs"]["cells"]
    assert cell["cell"] == 1 and cell["label"] == "In [2] (cell 3)"
    [change] = report["sections"]["code"]["changes"]
    assert change["index_a"] == 0  # a key: the replay's first cell
    assert (change["label_a"], change["label_b"]) == ("In [1] (cell 2)", "In [1] (cell 2)")
    assert change["diff"].startswith("--- original In [1] (cell 2)\n+++ rerun In [1] (cell 2)")
    text = render_text(report)
    assert "    In [1] (cell 2) modified" in text and "    In [2] (cell 3):" in text


def test_a_rerun_names_its_cells_as_the_original_notebook_does() -> None:
    # The rerun executed the replay (executed cells only, counted from 5 here): its
    # second cell replays the original's cell 3, In [2], and is named so.
    doc = notebook(("markdown", "# T", []), ("code", "a = 1", []), ("code", "b = 2", []))
    original = DocRun(A, doc)
    replay = original.replay()
    executed = nbformat.from_dict(json.loads(nbformat.writes(replay)))
    for k, cell in enumerate(executed.cells):
        cell.execution_count = k + 5
    rerun = DocRun(B, executed, reproduces=A)
    assert rerun.cell_labels() == {0: "In [1] (cell 2)", 1: "In [2] (cell 3)"}
    # The executor's error names the same cell, with the rerun's own count after it.
    err = error_at(executed.cells[1], 1, {"ename": "E", "evalue": "v"})
    assert err.where == "In [2] (cell 3), the rerun's In [6]"
    # Not a replayed cell: named by its own place.
    assert NotebookExecutionError(2, 3, "", "E", "v").where == "In [3] (cell 3)"


def test_a_report_of_an_older_nbrepro_still_loads_and_renders() -> None:
    # Code changes without labels (before they had them): valid, and rendered by place.
    report = report_of(DocRun(A, notebook(("code", "x = 1", []))), DocRun(B, notebook()))
    older = json.loads(json.dumps(report))
    older["sections"]["code"] = {
        "same": False,
        "summary": "1 cell modified",
        "changes": [
            {
                "kind": "modified",
                "index_a": 2,
                "index_b": 2,
                "source_a": "x = 1",
                "source_b": "x = 2",
                "diff": "--- a/cell 2\n+++ b/cell 2\n@@ -1 +1 @@\n-x = 1\n+x = 2",
            }
        ],
    }
    api_check(older, "Report")
    assert "    replayed cell 3 modified" in render_text(older)


# Through the server: two `nbrepro run`s of a notebook that draws random pixels.
PLOT = (
    "import base64, os, struct, zlib\n"
    "from IPython.display import Image, display\n"
    "def chunk(k, b):\n"
    "    return struct.pack('>I', len(b)) + k + b + struct.pack('>I', zlib.crc32(k + b))\n"
    "row = b'\\x00' + os.urandom(3 * 8)\n"
    "head = struct.pack('>IIBBBBB', 8, 8, 8, 2, 0, 0, 0)\n"
    "data = b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', head) + chunk(b'IDAT', zlib.compress(row * 8))"
    " + chunk(b'IEND', b'')\n"
    "display(Image(data=data))"
)


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path: Path):
    return {
        "ServerApp": {"jpserver_extensions": {"nbrepro": True}},
        "NbreproServer": {"jobs_dir": str(tmp_path / "jobs")},
    }


async def fetch(jp_fetch, **params: str) -> tuple[int, Any]:
    try:
        resp = await jp_fetch("nbrepro", "compare", "images", method="GET", params=params)
    except tornado.httpclient.HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, api_check(json.loads(exc.response.body), "ErrorBody")
    return resp.code, json.loads(resp.body)


async def test_the_server_serves_a_reports_images(
    jp_fetch, jp_root_dir: Path, nbrepro_home: Path
) -> None:
    from helpers import write_notebook

    from nbrepro import paths
    from nbrepro.reproduce.headless import run_notebook
    from nbrepro.reproduce.rerun import diff

    nb = write_notebook(jp_root_dir / "plot.ipynb", [("p", PLOT)])
    uri = paths.default_tracking_uri()
    a = run_notebook(nb, tracking_uri=uri).run_id
    b = run_notebook(nb, tracking_uri=uri).run_id
    report = diff(a, b, uri)
    [cell] = report["sections"]["outputs"]["cells"]
    assert cell["images_differ"] and cell["label"] == "In [1] (cell 1)"

    code, body = await fetch(jp_fetch, a=a, b=b, cells=str(cell["cell"]))
    assert code == 200, body
    [pair] = api_check(body, "CellImages")["cells"]
    left, right = pair["original"][0], pair["rerun"][0]
    assert base64.b64decode(left["data"]).startswith(b"\x89PNG")
    assert left["data"] != right["data"]

    for params, message in [
        ({"a": a, "b": b, "cells": "x"}, "comma-separated"),
        ({"a": a, "b": b}, "comma-separated"),
        ({"a": a, "b": b, "cells": "0,1,2,3,4,5"}, "at most 5"),
        ({"a": "nope", "b": b, "cells": "0"}, "not an MLflow run id"),
    ]:
        code, err = await fetch(jp_fetch, **params)
        assert code == 400 and message in err["message"], (params, err)


async def test_images_refuse_an_unauthenticated_call(jp_fetch, jp_http_port, jp_base_url) -> None:
    client = tornado.httpclient.AsyncHTTPClient()
    url = (
        f"http://localhost:{jp_http_port}{jp_base_url}nbrepro/compare/images"
        f"?a={'a' * 32}&b={'b' * 32}&cells=0"
    )
    resp = await client.fetch(url, raise_error=False)
    assert resp.code == 403 and json.loads(resp.body)["code"] == "forbidden"


def test_a_real_rerun_names_its_failing_cell_as_the_users_notebook_does(
    tmp_path: Path, nbrepro_home: Path
) -> None:
    # A markdown cell first: JupyterLab's cell 3 is the replay's second cell. The rerun
    # fails there (the file it reads is gone), and the report names cell 3.
    from nbrepro import paths
    from nbrepro.reproduce.headless import run_notebook
    from nbrepro.reproduce.rerun import RerunOptions, rerun

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Reads a file"),
        nbformat.v4.new_code_cell("import pathlib"),
        nbformat.v4.new_code_cell("print(pathlib.Path('data.txt').read_text())"),
    ]
    path = tmp_path / "reads.ipynb"
    nbformat.write(nb, str(path))
    (tmp_path / "data.txt").write_text("rows\n")
    uri = paths.default_tracking_uri()
    original = run_notebook(path, tracking_uri=uri).run_id
    (tmp_path / "data.txt").unlink()
    report = rerun(original, uri, RerunOptions()).report
    assert report["verdict"] == "failed"
    assert report["failure"]["cell"] == "In [2] (cell 3)", report["failure"]
    assert report["sections"]["outputs"]["failures"]["rerun"]["label"] == "In [2] (cell 3)"
    assert "failed: In [2] (cell 3) raised FileNotFoundError" in render_text(report)
