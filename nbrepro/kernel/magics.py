"""IPython glue: the ``%%repro`` / ``%repro`` magics and the kernel-side watchers.

Thin on purpose: it translates between the user and the core modules
(:mod:`nbrepro.capture.assemble`, :mod:`nbrepro.store.session`). It imports neither mlflow nor
papermill; they load on the first capture.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Float, Int, List, Unicode

from nbrepro.capture.delta.watcher import DeltaWatcher
from nbrepro.capture.options import REPRO_OPTIONS, parse_tags
from nbrepro.kernel.preload import Preload
from nbrepro.paths import CAPTURE_DIR_ENV


class KernelState:
    """What the extension tracks across cells of one kernel session."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.outcomes: dict[int, dict[str, Any]] = {}
        self.first_tracked: int | None = None
        self.current_cell_id: str | None = None
        self.watcher = DeltaWatcher(on_event=self._stream_event)
        self.headless_dir = os.environ.get(CAPTURE_DIR_ENV) or None
        self.last_card: Any = None  # the card of the latest capture (nbrepro.kernel.card)
        self.preload = Preload()
        self.syntax_errors = SyntaxErrorsAsPlainCells(shell)
        # The saved notebook rendered between cells (nbrepro.store.tracking), once a
        # capture has rendered it.
        self.renders: Any = None

    def _stream_event(self, event: dict[str, Any]) -> None:
        if self.headless_dir:
            with open(Path(self.headless_dir) / "data.jsonl", "a", encoding="utf-8") as fh:
                fh.write(json.dumps(event, default=str) + "\n")

    def pre_run_cell(self, info: Any) -> None:
        self.current_cell_id = getattr(info, "cell_id", None)

    def post_run_cell(self, result: Any) -> None:
        count = result.execution_count
        if count is None:
            return
        if self.first_tracked is None:
            self.first_tracked = count
        err = result.error_before_exec or result.error_in_exec
        self.outcomes[count] = {
            "cell_id": getattr(result.info, "cell_id", None),
            "error": None if err is None else {"ename": type(err).__name__, "evalue": str(err)},
        }
        if self.renders is not None:
            with contextlib.suppress(Exception):  # best effort, never the user's error
                self.renders.check()

    def executed_cells(
        self, current_error: dict[str, Any] | None = None, in_cell: bool = True
    ) -> list[Any]:
        """The session's executions, raw source in execution order.

        ``in_cell``: the capture runs in a cell (``%repro``, ``%%repro``), the last
        one in the history; False for the sidebar's, which runs outside any cell.
        """
        from nbrepro.capture.history import ExecutedCell

        entries = list(self.shell.history_manager.get_range(session=0, start=1, raw=True))
        cells = []
        last = entries[-1][1] if entries else None
        for _session, line, source in entries:
            outcome = self.outcomes.get(line)
            # The running cell (a %repro cell) has no outcome yet. A capture asked for
            # from outside a cell (the sidebar) runs no cell: the last one has finished,
            # and without an outcome its error is unknown, not absent.
            if line == last and outcome is None and in_cell:
                cells.append(ExecutedCell(line, source, self.current_cell_id, current_error, True))
            elif outcome is not None:
                cells.append(ExecutedCell(line, source, outcome["cell_id"], outcome["error"], True))
            else:
                known = self.first_tracked is not None and line >= self.first_tracked
                cells.append(ExecutedCell(line, source, None, None, known))
        return cells

    def notebook_path(self, explicit: str | None) -> str | None:
        """The notebook this kernel runs: ``explicit`` (``--notebook``, the config), else
        what the frontend tells the kernel (:data:`NOTEBOOK_HINTS`): the first that names
        a notebook on this machine, else the first that names a notebook at all."""
        if explicit:
            return str(Path(explicit).expanduser().resolve())
        named = []
        for where, name in NOTEBOOK_HINTS:
            value = self.shell.user_ns.get(name) if where == "namespace" else os.environ.get(name)
            if isinstance(value, str) and value.endswith(".ipynb"):
                if Path(value).is_file():
                    return value
                named.append(value)
        return named[0] if named else None


# Where frontends tell a kernel its notebook's path, in the order asked:
# - VS Code's Jupyter extension sets ``__vsc_ipynb_file__`` in the user's namespace (with
#   a Jupyter server, the session it opens names a temporary copy, ``*-jvsc-*.ipynb``);
# - Jupyter Server (JupyterLab, Notebook 7, nbclassic, Voila) starts the kernel with
#   ``JPY_SESSION_NAME``, which ipykernel also puts in the namespace as ``__session__``.
# papermill and nbclient tell nothing: ``%config ReproMagics.notebook`` (or ``nbrepro run``).
NOTEBOOK_HINTS = (
    ("namespace", "__vsc_ipynb_file__"),
    ("namespace", "__session__"),
    ("environ", "JPY_SESSION_NAME"),
)


def repro_options(func: Any) -> Any:
    """Apply the ``%%repro`` options (:data:`nbrepro.capture.options.REPRO_OPTIONS`)."""
    for flags, kwargs in reversed(REPRO_OPTIONS):
        func = argument(*flags, **kwargs)(func)
    return func


@magics_class
class ReproMagics(Magics):
    """``%%repro`` captures a cell's run to MLflow; ``%repro status`` previews a capture."""

    experiment = Unicode("", help="Default MLflow experiment for captures.").tag(config=True)
    tracking_uri = Unicode(
        "", help="Tracking URI (default: MLFLOW_TRACKING_URI, else nbrepro's store)."
    ).tag(config=True)
    notebook = Unicode("", help="Notebook path, when the kernel cannot tell (e.g. papermill).").tag(
        config=True
    )
    max_output_bytes = Int(1_000_000, help="Cap on the capture cell's recorded outputs.").tag(
        config=True
    )
    max_diff_bytes = Int(1_000_000, help="Cap on the recorded git diff.").tag(config=True)
    store_timeout = Float(
        0.0,
        help="Seconds a capture may wait for the tracking store in all before it is spooled "
        "(0: NBREPRO_STORE_TIMEOUT, else 10).",
    ).tag(config=True)
    render_html = Bool(True, help="Log an HTML rendering of the notebook.").tag(config=True)
    env_allow = List(Unicode(), help="Extra environment variable names/patterns to record.").tag(
        config=True
    )
    show_summary = Bool(True, help="Show a summary under the cell after a capture.").tag(
        config=True
    )
    card = Bool(
        True, help="Show the summary as an interactive card with a Re-execute button (ipywidgets)."
    ).tag(config=True)
    store_after_cell = Bool(
        True,
        help="Log the run to the store after the cell returns, in a kernel thread; the card "
        "says 'storing' until it is stored (or spooled). Only with the card: without it, "
        "for sidebar captures and in `nbrepro run`/`rerun` kernels, the cell waits for the "
        "store. The next capture waits for this one's store; a closing kernel stores it "
        "first; a killed one leaves it in the spool for `nbrepro sync`.",
    ).tag(config=True)
    preload = Bool(
        True,
        help="After the extension loads, import MLflow and open the tracking store in a "
        "background thread, so that the first capture does not wait for them.",
    ).tag(config=True)
    mlflow_ui = Unicode(
        "",
        help="MLflow UI address for run links in the card (default: the tracking server's "
        "address when the store is an HTTP server).",
    ).tag(config=True)

    def __init__(self, shell: Any, state: KernelState) -> None:
        super().__init__(shell=shell)
        self.state = state

    @magic_arguments()
    @repro_options
    @argument(
        "subcommand", nargs="*", help="Line magic only: 'status' or 'sync' (none: capture now)."
    )
    @line_cell_magic
    def repro(self, line: str, cell: str | None = None) -> Any:
        """Capture this cell's run to MLflow, reproducibly.

        As a cell magic, runs the body inside an active MLflow run (your own
        ``mlflow.log_*`` calls land in it) and records the executed code, the
        notebook, the environment and every Delta table read. As a line magic,
        ``%repro [options]`` captures the session as it is now; ``%repro status``
        shows what a capture would record; ``%repro sync`` uploads captures
        saved while the tracking store was unreachable.
        """
        __tracebackhide__ = True
        args, tags = self._parse_line(line)
        if cell is None:
            return self._line(args, tags)
        if args.subcommand:
            raise UsageError(
                f"unexpected argument(s) {' '.join(args.subcommand)!r} for %%repro\n\n"
                + self.repro.parser.format_help()
            )
        _reject_top_level_await(self.shell, cell)
        from nbrepro.kernel.capture import run_captured

        return run_captured(self, args, tags, cell)

    def _parse_line(self, line: str) -> tuple[Any, dict[str, str]]:
        """The options of a ``%%repro`` line, quoted as a shell quotes them.

        IPython's ``parse_argstring`` splits with ``posix=False``, which keeps the quotes:
        ``--experiment "my exp"`` would name an experiment ``"my exp"``, quotes included,
        and ``--tag k="a b"`` would be split in two. ``nbrepro run`` reads the options of
        a notebook's ``%%repro`` cells with :func:`shlex.split` too.

        Raises:
            UsageError: a quote left open, an unknown option, an empty name.
        """
        __tracebackhide__ = True
        usage = self.repro.parser.format_help()
        try:
            argv = shlex.split(line)
        except ValueError as exc:  # "No closing quotation"
            raise UsageError(f"{exc} in {line.strip()!r}\n\n{usage}") from None
        try:
            args = self.repro.parser.parse_args(argv)
        except UsageError as exc:
            raise UsageError(f"{exc}\n\n{usage}") from None
        for flag, value in (("--experiment", args.experiment), ("--name", args.name)):
            if value is not None and not value.strip():
                raise UsageError(f"{flag} takes a name, got {value!r}\n\n{usage}")
        tags = _parse_tags(args.tag)
        for key in tags:
            if not key.strip():
                raise UsageError(f"--tag takes KEY=VALUE with a KEY, got key {key!r}")
        return args, tags

    def _line(self, args: Any, tags: dict[str, str]) -> Any:
        if not args.subcommand:
            # `%repro [options]`: capture the session as it is now (an empty body).
            from nbrepro.kernel.capture import run_captured

            return run_captured(self, args, tags, "")
        sub = args.subcommand[0]
        if sub == "status":
            from nbrepro.kernel.capture import status

            return status(self, args)
        if sub == "sync":
            from nbrepro.errors import NbreproError
            from nbrepro.store.spool import sync_all

            try:
                results = sync_all()
            except NbreproError as exc:
                raise UsageError(str(exc)) from None
            for res in results:
                print(f"{res.capture_id}: {res.line()}")
            if not results:
                print("nothing to sync")
            return None
        raise UsageError(f"unknown %repro subcommand {sub!r}: use 'status' or 'sync'")

    def execute_body(self, cell: str) -> Any:
        """Run the body as IPython would run the cell: same transforms, same traceback."""
        __tracebackhide__ = True
        shell: Any = self.shell
        source = shell.transform_cell(cell)
        filename = shell.compile.cache(source, shell.execution_count - 1)
        tree = shell.compile.ast_parse(source, filename=filename)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        code = shell.compile(tree, filename, "exec")
        last_code = shell.compile(last, filename, "eval") if last is not None else None
        ns = shell.user_ns
        exec(code, ns)
        if last_code is not None:
            return eval(last_code, ns)
        return None


def _reject_top_level_await(shell: Any, cell: str) -> None:
    """A cell magic runs synchronously, inside the kernel's running event loop.

    Top-level ``await`` cannot run there, and running it on another loop would
    change what the code does; say so before any run starts.
    """
    source = shell.transform_cell(cell)
    try:
        compile(source, "<cell>", "exec", dont_inherit=True)
    except SyntaxError:
        try:
            compile(source, "<cell>", "exec", ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
        except SyntaxError:
            return  # a real syntax error: raised as the cell would (SyntaxErrorsAsPlainCells)
        raise UsageError(
            "%%repro cannot run a body with top-level await (cell magics run synchronously). "
            "Run the cell without %%repro, then capture the session with `%repro` in the "
            "next cell."
        ) from None


_CELL_MAGIC = re.compile(r"%%repro(\s|$)")


class SyntaxErrorsAsPlainCells:
    """An input transformer: a ``%%repro`` cell whose body does not compile becomes its body.

    IPython compiles a cell before running it and shows a syntax error as the cell's own,
    with no traceback; a cell magic's body is only compiled inside the magic, so its
    syntax error would carry the magic's frames (IPython shows every frame of a
    ``SyntaxError`` raised while code runs). Run as the plain cell, the body fails
    exactly as it would without nbrepro: nothing runs, so nothing is captured, as
    IPython runs nothing of a cell that does not compile.
    """

    # Not a side effect; but the terminal's completeness check must see the cell magic
    # itself (complete at a blank line), not the body of a cell still being typed.
    has_side_effects = True

    def __init__(self, shell: Any) -> None:
        self.shell = shell

    def __call__(self, lines: list[str]) -> list[str]:
        if not lines or not _CELL_MAGIC.match(lines[0]):
            return lines
        if _compiles(self.shell, "".join(lines[1:])):
            return lines
        return lines[1:]


def _compiles(shell: Any, body: str) -> bool:
    """Whether a ``%%repro`` body compiles (top-level await counts: the magic refuses it
    with its own message)."""
    try:
        source = shell.transform_cell(body)
    except Exception:  # IPython's own transforms failed: the magic meets it and reports it
        return True
    try:
        shell.compile.ast_parse(source)
    except SyntaxError:
        try:
            compile(
                source,
                "<cell>",
                "exec",
                ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                dont_inherit=True,
            )
        except SyntaxError:
            return False
    return True


def _parse_tags(items: list[str]) -> dict[str, str]:
    try:
        return parse_tags(items)
    except ValueError as exc:
        raise UsageError(str(exc)) from None


_STATE_ATTR = "_nbrepro_state"


def load(shell: Any) -> None:
    """Register the magics and watchers on ``shell`` (idempotent)."""
    if getattr(shell, _STATE_ATTR, None) is not None:
        return
    state = KernelState(shell)
    magics = ReproMagics(shell, state)
    shell.register_magics(magics)
    shell.configurables.append(magics)
    shell.events.register("pre_run_cell", state.pre_run_cell)
    shell.events.register("post_run_cell", state.post_run_cell)
    shell.input_transformers_cleanup.append(state.syntax_errors)
    state.watcher.install()
    setattr(shell, _STATE_ATTR, state)
    state.magics = magics  # type: ignore[attr-defined]
    if state.headless_dir:
        from nbrepro.kernel.capture import start_headless

        start_headless(state)
    elif magics.preload:
        state.preload.start(magics.tracking_uri or None, magics.card)


def unload(shell: Any) -> None:
    """Undo :func:`load`."""
    state = getattr(shell, _STATE_ATTR, None)
    if state is None:
        return
    state.watcher.uninstall()
    shell.events.unregister("pre_run_cell", state.pre_run_cell)
    shell.events.unregister("post_run_cell", state.post_run_cell)
    if state.syntax_errors in shell.input_transformers_cleanup:
        shell.input_transformers_cleanup.remove(state.syntax_errors)
    setattr(shell, _STATE_ATTR, None)


def get_state(shell: Any) -> KernelState | None:
    return getattr(shell, _STATE_ATTR, None)


__all__ = ["ReproMagics", "get_state", "load", "sys", "unload"]
