"""Cell-level code diffs of real nbformat notebooks through real nbdime."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from nbrepro.reproduce.compare.codediff import code_diff

SOURCES = [
    "import numpy as np\nimport pandas as pd",
    "df = pd.read_csv('data.csv')\ndf.describe()",
    "model = fit_model(df, alpha=0.5)\nprint(model.score)",
    "rmse = evaluate(model, df)\nprint(f'rmse={rmse:.4f}')",
]


def make_nb(sources: list[str]) -> nbformat.NotebookNode:
    nb = new_notebook(cells=[new_markdown_cell("# Training run")])
    nb.cells.extend(new_code_cell(src) for src in sources)
    return nb


def test_identical_notebooks_are_same() -> None:
    result = code_diff(make_nb(SOURCES), make_nb(SOURCES))
    assert result == {"same": True, "changes": [], "summary": "identical"}


def test_edited_cell_is_modified_with_diff() -> None:
    edited = list(SOURCES)
    edited[2] = "model = fit_model(df, alpha=0.7)\nprint(model.score)"
    result = code_diff(make_nb(SOURCES), make_nb(edited))

    assert not result["same"]
    assert result["summary"] == "1 cell modified"
    [change] = result["changes"]
    assert change["kind"] == "modified"
    # Index 0 is the markdown cell, so code cell 2 sits at notebook index 3.
    assert (change["index_a"], change["index_b"]) == (3, 3)
    assert change["source_a"] == SOURCES[2]
    assert change["source_b"] == edited[2]
    assert "-model = fit_model(df, alpha=0.5)" in change["diff"]
    assert "+model = fit_model(df, alpha=0.7)" in change["diff"]


def test_insert_and_remove_track_indices() -> None:
    inserted = "df = df.dropna()\ndf = df[df['value'] > 0]\nprint(len(df))"
    # b: insert a cell after the read, drop the training cell, edit the last one.
    new_sources = [
        SOURCES[0],
        SOURCES[1],
        inserted,
        "rmse = evaluate(model, df)\nprint(f'rmse={rmse:.6f}')",
    ]
    a = make_nb([*SOURCES, "plot_residuals(model, df, bins=40, title='residuals')"])
    b = make_nb([*new_sources, "plot_residuals(model, df, bins=40, title='residuals')"])
    result = code_diff(a, b)

    by_kind = {c["kind"]: c for c in result["changes"]}
    assert sorted(by_kind) == ["added", "modified", "removed"]
    assert (by_kind["added"]["index_a"], by_kind["added"]["index_b"]) == (None, 3)
    assert by_kind["added"]["source_b"] == inserted
    assert (by_kind["removed"]["index_a"], by_kind["removed"]["index_b"]) == (3, None)
    assert by_kind["removed"]["source_a"] == SOURCES[2]
    # The removed cell and the added one cancel out: the edited cell keeps its index.
    assert (by_kind["modified"]["index_a"], by_kind["modified"]["index_b"]) == (4, 4)
    assert "+print(f'rmse={rmse:.6f}')" in by_kind["modified"]["diff"]
    assert result["summary"] == "1 cell modified, 1 added, 1 removed"


def test_two_inserts_before_an_edit_shift_index_b() -> None:
    extra = [
        "from sklearn.preprocessing import StandardScaler\nscaler = StandardScaler()",
        "features = scaler.fit_transform(df[['x', 'y', 'z']])\nprint(features.shape)",
    ]
    edited = [SOURCES[0], *extra, SOURCES[1], SOURCES[2], SOURCES[3].replace(".4f", ".2f")]
    result = code_diff(make_nb(SOURCES), make_nb(edited))

    added = [c for c in result["changes"] if c["kind"] == "added"]
    assert [c["index_b"] for c in added] == [2, 3]
    [modified] = [c for c in result["changes"] if c["kind"] == "modified"]
    assert (modified["index_a"], modified["index_b"]) == (4, 6)
    assert result["summary"] == "1 cell modified, 2 added"


def test_outputs_metadata_and_execution_counts_are_ignored() -> None:
    a = make_nb(SOURCES)
    b = make_nb(SOURCES)
    for n, cell in enumerate(b.cells):
        cell.metadata["tags"] = ["parameters"]
        cell.metadata["collapsed"] = True
        if cell.cell_type == "code":
            cell.execution_count = n + 10
            cell.outputs = [new_output("stream", name="stdout", text=f"run {n}\n")]
    b.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    assert code_diff(a, b)["same"] is True


def test_list_sources_and_raw_cells() -> None:
    a = make_nb(SOURCES)
    b = make_nb(SOURCES)
    # Sources read from disk may be lists of lines; a raw cell is not code.
    b.cells[1].source = SOURCES[0].splitlines(keepends=True)
    b.cells.insert(2, nbformat.v4.new_raw_cell("raw text"))
    result = code_diff(a, b)
    assert result["same"] is True
