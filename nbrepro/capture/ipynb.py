"""Notebook documents in the kernel, without importing nbformat.

A capture reads the saved notebook and builds the replay in the user's kernel, before
the cell returns. ``import nbformat`` costs more than a second there: its validator
imports jsonschema, whose format checkers compile 39 Lark grammars
(``rfc3987_syntax``) at import. A capture needs none of that: it reads the cells'
sources and the metadata, and writes JSON.

So this module reads a version-4 notebook the way nbformat's v4 reader does (the JSON
parsed, split lines joined, transient metadata dropped, dicts given attribute access)
and hands any other version to nbformat itself, which converts it. A test holds it to
nbformat's reader on notebooks from nbformat's, nbconvert's and papermill's own test
suites. Everything outside the capture path (reruns, the server) keeps using nbformat;
the HTML rendering in nbrepro's worker reads nbrepro's own notebooks here too, since
nbconvert validates what it renders anyway.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["NotebookNode", "from_dict", "new_notebook", "reads"]


class NotebookNode(dict[str, Any]):
    """A dict whose keys are also attributes, as nbformat's ``NotebookNode``."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __delattr__(self, key: str) -> None:
        try:
            del self[key]
        except KeyError:
            raise AttributeError(key) from None


def from_dict(value: Any) -> Any:
    """``value`` with every dict in it made a :class:`NotebookNode` (as nbformat's)."""
    if isinstance(value, dict):
        return NotebookNode({k: from_dict(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return [from_dict(v) for v in value]
    return value


def new_notebook() -> NotebookNode:
    """An empty version-4.5 notebook (nbformat's ``v4.new_notebook``)."""
    return NotebookNode(nbformat=4, nbformat_minor=5, metadata=NotebookNode(), cells=[])


def reads(text: str) -> Any:
    """Read a notebook's JSON as nbformat's ``reads(text, as_version=4)`` does.

    Returns:
        The notebook: for a version-4 file, the notebook, its metadata and its cells
        are :class:`NotebookNode`s (what is inside them plain dicts); for an older
        file, nbformat's own node (converted by nbformat).

    Raises:
        ValueError: the text is not JSON, or not a notebook whose cells can be read
            (``json.JSONDecodeError`` is a ``ValueError``).
    """
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("the file holds no notebook (its JSON is not an object)")
    major = data.get("nbformat")
    if major != 4 or isinstance(major, bool):
        import nbformat  # conversion from older formats: nbformat's job

        return nbformat.reads(text, as_version=4)
    cells = data.get("cells")
    if not isinstance(cells, list) or not all(_is_cell(c) for c in cells):
        raise ValueError("its cells are not a list of cells, each with a type and a source")
    metadata = data.get("metadata")
    if not isinstance(metadata, dict):
        raise ValueError("it has no metadata object")
    # Nodes for the notebook, its metadata and its cells (what a capture reads by
    # name); what is inside them stays plain dicts, as json made them: a long
    # notebook's outputs are many dicts, and converting them costs the cell time.
    nb = NotebookNode(data)
    nb["metadata"] = NotebookNode(metadata)
    nb["cells"] = [_cell_node(c) for c in cells]
    _rejoin_lines(nb)
    _strip_transient(nb)
    return nb


def _cell_node(cell: dict[str, Any]) -> NotebookNode:
    node = NotebookNode(cell)
    if isinstance(node.get("metadata"), dict):
        node["metadata"] = NotebookNode(node["metadata"])
    return node


def _is_cell(cell: Any) -> bool:
    if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
        return False
    source = cell.get("source")
    return isinstance(source, str) or (
        isinstance(source, list) and all(isinstance(s, str) for s in source)
    )


def _is_json_mime(mime: str) -> bool:
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def _rejoin_mimebundle(data: Any) -> None:
    if not isinstance(data, dict):
        return
    for key, value in list(data.items()):
        if (
            not _is_json_mime(key)
            and isinstance(value, list)
            and all(isinstance(line, str) for line in value)
        ):
            data[key] = "".join(value)


def _rejoin_lines(nb: NotebookNode) -> None:
    """Join text saved as lists of lines (nbformat's ``v4.rwbase.rejoin_lines``)."""
    for cell in nb.cells:
        source = cell.get("source")
        if isinstance(source, list):
            cell["source"] = "".join(source)
        attachments = cell.get("attachments")
        if isinstance(attachments, dict):
            for attachment in attachments.values():
                _rejoin_mimebundle(attachment)
        outputs = cell.get("outputs") if cell.get("cell_type") == "code" else None
        for output in outputs if isinstance(outputs, list) else []:
            if not isinstance(output, dict):
                continue
            kind = output.get("output_type", "")
            if kind in {"execute_result", "display_data"}:
                _rejoin_mimebundle(output.get("data"))
            elif kind and isinstance(output.get("text", ""), list):
                output["text"] = "".join(output["text"])


def _strip_transient(nb: NotebookNode) -> None:
    """Drop what Jupyter keeps only in memory (nbformat's ``strip_transient``)."""
    for key in ("orig_nbformat", "orig_nbformat_minor", "signature"):
        nb.metadata.pop(key, None)
    for cell in nb.cells:
        metadata = cell.get("metadata")
        if isinstance(metadata, dict):
            metadata.pop("trusted", None)
