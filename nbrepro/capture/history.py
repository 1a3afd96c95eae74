"""The code a kernel actually executed, compared with the notebook document.

Pure functions over plain data: the IPython glue collects the executed cells and
the document; this module finds hidden state and builds the replay notebook.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nbrepro.capture import ipynb
from nbrepro.record.tags import (
    EXPECTED_ERROR_TAG,
    INJECTED_PARAMETERS_TAG,
    PARAMETERS_TAG,
    REPLAY_TAG,
)

# A cell that may raise without failing the run (Jupyter's convention; nbclient's too).

# "UsageError: Line magic function `%x` not found." as IPython prints it on stderr.
_STDERR_ERROR = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): ?(.*)$")


def tags_of(cell: Mapping[str, Any]) -> list[str]:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return [str(t) for t in tags]


def _benign_exit(ename: str, evalue: str) -> bool:
    # papermill's rule: sys.exit() and sys.exit(0) end a notebook without failing it.
    return ename == "SystemExit" and evalue in ("", "0")


def cell_error(cell: Mapping[str, Any]) -> dict[str, str] | None:
    """How a cell failed, from its outputs or the kernel's reply; None when it did not.

    An error output says it directly. A cell can fail without one (IPython prints a
    ``UsageError`` on stderr): then the kernel's reply, which nbrepro notes in the
    cell's metadata while executing, names the error; for a notebook executed
    elsewhere, papermill's ``exception`` mark and the last error line on stderr do.
    """
    benign_exit = False
    for out in cell.get("outputs") or []:
        if out.get("output_type") != "error":
            continue
        ename, evalue = str(out.get("ename", "")), str(out.get("evalue", ""))
        if _benign_exit(ename, evalue):
            benign_exit = True
            continue
        return {"ename": ename, "evalue": evalue}
    if benign_exit:
        return None
    metadata = cell.get("metadata") or {}
    reply = (metadata.get("nbrepro") or {}).get("reply_error")
    if reply:
        # The kernel's reply said "error" (see nbrepro.reproduce.execute.note_reply_error).
        ename, evalue = str(reply.get("ename", "")), str(reply.get("evalue", ""))
        return None if _benign_exit(ename, evalue) else {"ename": ename, "evalue": evalue}
    papermill = metadata.get("papermill") or {}
    if papermill.get("exception") is not True:
        return None
    stderr = "".join(
        "".join(o.get("text", ""))
        for o in cell.get("outputs") or []
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )
    for line in reversed(stderr.strip().splitlines()):
        match = _STDERR_ERROR.match(line.strip())
        if match:
            return {"ename": match.group(1), "evalue": match.group(2)}
    return {"ename": "CellExecutionError", "evalue": "the kernel reported an error"}


def was_executed(cell: Mapping[str, Any]) -> bool:
    """Whether a code cell ran, even if the kernel died before it answered.

    nbclient skips empty cells (papermill still stamps a start time on them).
    """
    source = cell.get("source", "")
    if cell.get("cell_type") != "code" or not "".join(source).strip():
        return False
    if cell.get("execution_count") is not None:
        return True
    papermill = (cell.get("metadata") or {}).get("papermill") or {}
    return papermill.get("start_time") is not None


@dataclass
class ExecutedCell:
    """One execution, as the kernel ran it (raw source, before IPython's transforms)."""

    execution_count: int | None
    source: str
    cell_id: str | None = None
    error: dict[str, Any] | None = None
    # False for cells executed before nbrepro was loaded: whether they raised is unknown.
    error_known: bool = True
    doc_index: int | None = None
    # A rerun's execution: the position, in the original's executed sequence, of the
    # execution it replays. Cells are compared by this identity, not by position.
    origin: int | None = None
    # papermill's ``injected-parameters`` cell: compared as params, not as code.
    injected_parameters: bool = False

    def to_record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "execution_count": self.execution_count,
            "source": self.source,
            "cell_id": self.cell_id,
            "doc_index": self.doc_index,
            "error": self.error,
            "error_known": self.error_known,
        }
        if self.origin is not None:
            rec["origin"] = self.origin
        if self.injected_parameters:
            rec["injected_parameters"] = True
        return rec


@dataclass
class HiddenState:
    """What makes the kernel's state differ from what the document shows."""

    out_of_order: list[int] = field(default_factory=list)
    edited_after_run: list[int] = field(default_factory=list)
    missing_from_document: list[int] = field(default_factory=list)
    never_executed: list[int] = field(default_factory=list)
    explanations: list[str] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return bool(
            self.out_of_order
            or self.edited_after_run
            or self.missing_from_document
            or self.never_executed
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "hidden": self.hidden,
            "out_of_order": self.out_of_order,
            "edited_after_run": self.edited_after_run,
            "missing_from_document": self.missing_from_document,
            "never_executed": self.never_executed,
            "explanations": self.explanations,
        }


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def same_source(a: str, b: str) -> bool:
    """Whether two cell sources are the same code (trailing blanks aside)."""
    return _norm(a) == _norm(b)


def notebook_sha256(text: str | bytes) -> str:
    """Hash of a notebook file's bytes, as saved."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return hashlib.sha256(data).hexdigest()


def match_to_document(
    executed: list[ExecutedCell], document: Mapping[str, Any] | None
) -> list[ExecutedCell]:
    """Set ``doc_index`` on each executed cell: by cell id first, then by identical source.

    A source match prefers the first unused document cell at or after the previous
    match, so repeated identical cells map in order.
    """
    if document is None:
        return executed
    code_cells = [(i, c) for i, c in enumerate(document["cells"]) if c["cell_type"] == "code"]
    by_id: dict[Any, int] = {}
    for i, c in code_cells:
        if c.get("id"):
            # A duplicated id (a copied cell) names its first cell, as nbformat repairs it.
            by_id.setdefault(c.get("id"), i)
    by_source: dict[str, list[int]] = {}
    for i, c in code_cells:
        by_source.setdefault(_norm(c.get("source", "")), []).append(i)
    last = -1
    used: set[int] = set()
    for cell in executed:
        if cell.cell_id and cell.cell_id in by_id:
            cell.doc_index = by_id[cell.cell_id]
        else:
            candidates = by_source.get(_norm(cell.source), [])
            ranked = (
                [i for i in candidates if i > last and i not in used]
                + [i for i in candidates if i == last]
                + [i for i in candidates if i not in used]
                + candidates
            )
            if ranked:
                cell.doc_index = ranked[0]
        if cell.doc_index is not None:
            last = cell.doc_index
            used.add(cell.doc_index)
    return executed


def find_hidden_state(
    executed: list[ExecutedCell],
    document: Mapping[str, Any] | None,
    capture_index: int | None = None,
) -> HiddenState:
    """Compare the executed history with the document.

    Args:
        executed: executions in order, already passed through :func:`match_to_document`.
        document: the notebook as saved, or None when it is unknown.
        capture_index: position in ``executed`` of the capturing cell; document
            cells below it are not expected to have run yet.
    """
    state = HiddenState()
    highest = -1
    seen_doc: set[int] = set()
    for cell in executed:
        if cell.doc_index is None:
            if document is not None and _norm(cell.source) and cell.execution_count is not None:
                state.missing_from_document.append(cell.execution_count)
            continue
        if cell.doc_index < highest and cell.execution_count is not None:
            state.out_of_order.append(cell.execution_count)
        highest = max(highest, cell.doc_index)
        seen_doc.add(cell.doc_index)
    if document is None:
        if executed:
            state.explanations.append(
                "The notebook document is unknown, so hidden state could only be checked "
                "against the executed history."
            )
        return state

    last_run: dict[int, ExecutedCell] = {}
    for cell in executed:
        if cell.doc_index is not None:
            last_run[cell.doc_index] = cell
    for doc_index, cell in sorted(last_run.items()):
        current = document["cells"][doc_index].get("source", "")
        if _norm(current) != _norm(cell.source):
            state.edited_after_run.append(doc_index)

    limit = len(document["cells"])
    if capture_index is not None and executed[capture_index].doc_index is not None:
        limit = executed[capture_index].doc_index or 0
    for i, c in enumerate(document["cells"][:limit]):
        if c["cell_type"] == "code" and _norm(c.get("source", "")) and i not in seen_doc:
            state.never_executed.append(i)

    for found, sentence in (
        (state.out_of_order, _OUT_OF_ORDER),
        (state.edited_after_run, _EDITED),
        (state.missing_from_document, _MISSING),
        (state.never_executed, _NEVER_RUN),
    ):
        if found:
            state.explanations.append(sentence.format(_fmt(found)))
    return state


_OUT_OF_ORDER = (
    "Cells ran out of document order (executions {} ran after a cell below them): "
    "running the notebook top to bottom may not give this state."
)
_EDITED = (
    "Document cells {} were edited after they last ran: "
    "the kernel ran different code than the document shows."
)
_MISSING = "Executions {} ran code that is no longer in the document (deleted or changed cells)."
_NEVER_RUN = "Document cells {} above the capture were never executed."


def _fmt(values: list[int]) -> str:
    shown = ", ".join(str(v) for v in values[:10])
    return shown + (f" and {len(values) - 10} more" if len(values) > 10 else "")


def build_replay(
    executed: list[ExecutedCell],
    document: Mapping[str, Any] | None = None,
    kernelspec: Mapping[str, Any] | None = None,
) -> ipynb.NotebookNode:
    """A notebook that, run top to bottom in a fresh kernel, performs the executed sequence.

    Cells that raised in the original session keep running past their error in a
    replay (papermill honours the ``raises-exception`` tag), as they did interactively.
    The last execution of the document's ``parameters`` cell keeps that tag so
    papermill can inject parameters after it, and the execution of papermill's own
    ``injected-parameters`` cell keeps its tag, so a rerun's parameters replace it.
    Each cell's ``metadata.nbrepro.position`` is its place in the executed sequence:
    the identity by which a rerun's cells are compared with the original's.

    Args:
        kernelspec: the kernel the run used, when the document does not name one
            (a notebook without kernelspec run with ``-k``).
    """
    nb = ipynb.new_notebook()
    if document is not None:
        for key in ("kernelspec", "language_info"):
            if key in document["metadata"]:
                nb.metadata[key] = document["metadata"][key]
    if "kernelspec" not in nb.metadata:
        nb.metadata["kernelspec"] = dict(
            kernelspec or {"name": "python3", "display_name": "Python 3", "language": "python"}
        )
    param_doc_index = None
    if document is not None:
        for i, c in enumerate(document["cells"]):
            if PARAMETERS_TAG in tags_of(c):
                param_doc_index = i
    last_param = None
    if param_doc_index is not None:
        for k, cell in enumerate(executed):
            if cell.doc_index == param_doc_index:
                last_param = k
    for k, cell in enumerate(executed):
        tags = [REPLAY_TAG]
        if cell.error is not None or not cell.error_known:
            # Unknown outcome: let the replay go on, as the interactive session did.
            tags.append(EXPECTED_ERROR_TAG)
        if k == last_param:
            tags.append(PARAMETERS_TAG)
        if cell.injected_parameters:
            tags.append(INJECTED_PARAMETERS_TAG)
        # Built as a node, not with nbformat's new_code_cell: that validates every cell.
        nb.cells.append(
            ipynb.NotebookNode(
                cell_type="code",
                id=f"replay-{k}",
                execution_count=None,
                source=cell.source,
                outputs=[],
                metadata=ipynb.NotebookNode(
                    tags=tags,
                    nbrepro={
                        "position": k,
                        "execution_count": cell.execution_count,
                        "doc_index": cell.doc_index,
                        "cell_id": cell.cell_id,
                    },
                ),
            )
        )
    nb.metadata["nbrepro"] = {"replay": True, "executions": len(executed)}
    return nb


def history_script(executed: list[ExecutedCell]) -> str:
    """The executed history as a readable script, one ``# In[n]`` block per execution."""
    parts = []
    for cell in executed:
        mark = ""
        if cell.error is not None:
            mark = f"  # raised {cell.error.get('ename')}"
        parts.append(f"# In[{cell.execution_count}]{mark}\n{cell.source.rstrip()}\n")
    return "\n".join(parts)


def origin_of(cell: Mapping[str, Any]) -> int | None:
    """The original's execution a replayed cell stands for (see :func:`build_replay`)."""
    position = ((cell.get("metadata") or {}).get("nbrepro") or {}).get("position")
    return position if isinstance(position, int) else None


def executed_from_notebook(nb: Mapping[str, Any]) -> list[ExecutedCell]:
    """Executed cells of a notebook run top to bottom (papermill's output), in order.

    A cell that started but never answered (the kernel died in it) counts as executed.
    """
    cells = []
    for i, c in enumerate(nb["cells"]):
        if not was_executed(c):
            continue
        cells.append(
            ExecutedCell(
                execution_count=c.get("execution_count"),
                source=c["source"],
                cell_id=c.get("id"),
                error=cell_error(c),
                doc_index=i,
                origin=origin_of(c),
                injected_parameters=INJECTED_PARAMETERS_TAG in tags_of(c),
            )
        )
    return cells
