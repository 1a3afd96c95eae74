"""A notebook file given on the command line, read and checked before anything runs.

nbformat reads what it can and reports malformed input with whatever its code trips on
(``AttributeError`` for a JSON list, ``TypeError`` for cells that are not a list, a
``ValidationError`` for a file with no ``nbformat``). Here each problem becomes one
:class:`NotebookUnusable` whose message says, in one line, what is wrong and where.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import nbformat
from nbformat.warnings import MissingIDFieldWarning

from nbrepro.errors import NbreproError

# A validation message quotes the invalid part: a whole cell, at worst.
MAX_MESSAGE = 200


class NotebookUnusable(NbreproError):
    """The notebook cannot be run as asked (missing, unreadable, not a notebook, no
    kernel): exit code 2."""


def read_notebook(path: Path, shown: str | None = None) -> nbformat.NotebookNode:
    """The notebook at ``path`` (as version 4), checked to be one.

    Errors in the notebook's own metadata (a ``kernelspec`` without its ``name``) are
    left to the kernel check and to nbformat's warning, as Jupyter and papermill leave
    them; everything nbrepro and papermill read (the file, its JSON, its format version,
    its cells) must be valid.

    Args:
        shown: how messages name the file (default: ``path``).

    Raises:
        NotebookUnusable: missing, unreadable, not JSON, or not a valid notebook.
    """
    name = shown or str(path)
    if not path.exists():
        raise NotebookUnusable(f"notebook not found: {name}")
    if not path.is_file():
        raise NotebookUnusable(f"{name} is not a file")
    try:
        text = path.read_text("utf-8")
    except UnicodeDecodeError:
        raise NotebookUnusable(f"{name} is not a notebook: it is not UTF-8 text") from None
    except OSError as exc:
        raise NotebookUnusable(f"cannot read {name}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NotebookUnusable(f"{name} is not a notebook: it is not JSON ({exc})") from None
    problem = _shape_problem(data)
    if problem:
        raise NotebookUnusable(f"{name} is not a notebook: {problem}")
    if data["nbformat"] < 4:
        _check(data, name)  # an older layout (worksheets), before it is converted
    with warnings.catch_warnings():
        # Cells without ids get some (a warning per notebook): not the user's concern here.
        warnings.simplefilter("ignore", MissingIDFieldWarning)
        try:
            nb = nbformat.reads(text, as_version=4)
        except (ValueError, nbformat.ValidationError) as exc:  # a conversion that fails
            raise NotebookUnusable(f"{name} is not a valid notebook: {_first_line(exc)}") from None
        _check(nb, name)
    return nb


def _check(nb: Any, name: str) -> None:
    """Raise on the first of nbformat's validation errors that is not in the notebook's
    own metadata."""
    for error in nbformat.validator.iter_validate(nb):
        path = list(error.absolute_path)
        if len(path) >= 2 and path[0] == "metadata":
            continue
        where = _location(path)
        message = _first_line(error.message)
        if len(message) > MAX_MESSAGE:
            message = message[: MAX_MESSAGE - 3] + "..."
        raise NotebookUnusable(
            f"{name} is not a valid notebook: {message}" + (f" (at {where})" if where else "")
        )


def _shape_problem(data: Any) -> str | None:
    """What makes ``data`` no notebook at all, before nbformat reads it."""
    if not isinstance(data, dict):
        return f"its JSON is {_kind(data)}, not an object"
    version = data.get("nbformat")
    if version is None:
        return 'it has no "nbformat" version'
    if not isinstance(version, int) or isinstance(version, bool):
        return f'its "nbformat" version is {_kind(version)}, not a number'
    if version not in nbformat.versions:
        supported = ", ".join(str(v) for v in sorted(nbformat.versions))
        return f"nbformat version {version} is not one nbformat reads ({supported})"
    if version < 4:
        return None  # older layouts (worksheets): nbformat converts and checks them
    if "cells" not in data:
        return 'it has no "cells"'
    cells = data["cells"]
    if not isinstance(cells, list):
        return f'its "cells" is {_kind(cells)}, not a list'
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict):
            return f"cells[{index}] is {_kind(cell)}, not an object"
    if "metadata" in data and not isinstance(data["metadata"], dict):
        return f'its "metadata" is {_kind(data["metadata"])}, not an object'
    return None


def _location(path: Iterable[Any]) -> str:
    """``["cells", 0, "source"]`` -> ``cells[0].source``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _kind(value: Any) -> str:
    names = {
        dict: "an object",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }
    if value is None:
        return "null"
    return names.get(type(value), f"a {type(value).__name__}")


def _first_line(exc: BaseException | str) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def check_output(path: Path, shown: str | None = None) -> None:
    """Check, before anything runs, that the executed notebook can be written to ``path``.

    Raises:
        NotebookUnusable: ``path`` is a folder, or its folder is missing or not writable.
    """
    name = shown or str(path)
    if path.is_dir():
        raise NotebookUnusable(f"cannot write the executed notebook to {name}: it is a folder")
    folder = path.parent
    if not folder.is_dir():
        raise NotebookUnusable(
            f"cannot write the executed notebook to {name}: the folder {folder} does not exist"
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise NotebookUnusable(f"cannot write the executed notebook to {name}: permission denied")
