"""IPython glue for one ``%%repro`` execution: tee outputs, run, capture, summarize.

Rule of this module: the user's cell result and exception are exactly what they
would be without nbrepro. Any failure of nbrepro itself becomes one warning.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from nbrepro.capture import environment
from nbrepro.record.tags import CAPTURE_ERROR_TAG


@lru_cache(maxsize=1)
def _background() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbrepro")


def _warn(message: str) -> None:
    from nbrepro.redact import safe_message

    # Warnings quote exceptions, which quote store URIs and connection strings.
    print(f"nbrepro warning: {safe_message(message)}", file=sys.stderr)


class _Tee:
    """A stream that writes through to the real one and keeps a copy, of at most
    ``keep`` characters in all (the record keeps less: see ``assemble.cap_outputs``)."""

    def __init__(self, stream: Any, name: str, sink: list[dict[str, Any]], keep: list[int]) -> None:
        self._stream = stream
        self._name = name
        self._sink = sink
        self._keep = keep  # shared by stdout and stderr: what is left to keep

    def write(self, text: str) -> int:
        written = int(self._stream.write(text) or 0)
        part = text[: self._keep[0]]
        if part:
            self._keep[0] -= len(part)
            if self._sink and self._sink[-1].get("name") == self._name:
                self._sink[-1]["text"] += part
            else:
                self._sink.append({"output_type": "stream", "name": self._name, "text": part})
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def _tee_outputs(shell: Any, sink: list[dict[str, Any]], limit: int) -> Iterator[None]:
    out, err = sys.stdout, sys.stderr
    # A character takes at least one byte of JSON: more than the record can keep.
    keep = [max(limit, 0) + 1]
    sys.stdout = _Tee(out, "stdout", sink, keep)
    sys.stderr = _Tee(err, "stderr", sink, keep)
    pub = shell.display_pub
    original_publish = pub.publish

    def publish(data: dict[str, Any], metadata: Any = None, *args: Any, **kwargs: Any) -> Any:
        sink.append({"output_type": "display_data", "data": _text_only(data)})
        return original_publish(data, metadata, *args, **kwargs)

    pub.publish = publish
    try:
        yield
    finally:
        if isinstance(sys.stdout, _Tee):
            sys.stdout = out
        if isinstance(sys.stderr, _Tee):
            sys.stderr = err
        pub.publish = original_publish


@contextmanager
def _redacting(run_id: str, redacted: list[str], warnings: list[str]) -> Iterator[None]:
    """Secrets kept out of the params and tags the body logs to the captured run."""
    from contextlib import ExitStack

    with ExitStack() as stack:
        try:
            from nbrepro.store.redacting import redact_user_logs

            redacted_now = stack.enter_context(redact_user_logs(run_id))
        except Exception as exc:  # a future MLflow without this client: say so, go on
            warnings.append(
                f"params and tags logged by the cell were not checked for secrets "
                f"({type(exc).__name__}: {exc})"
            )
            redacted_now = []
        try:
            yield
        finally:
            redacted.extend(redacted_now)


def _formatted(shell: Any, value: Any) -> dict[str, Any]:
    """The cell's result as IPython shows it (text/html for a DataFrame), as a rerun
    records it; its plain repr if a formatter fails.

    An object that displays itself (``_ipython_display_``) would be shown twice by
    formatting it here: only its repr is recorded.
    """
    if getattr(type(value), "_ipython_display_", None) is not None:
        return {"text/plain": _safe_repr(value)}
    try:
        data, _ = shell.display_formatter.format(value)
        return _text_only(dict(data))
    except Exception:  # a broken _repr_*_ of the user's object: IPython shows its error
        return {"text/plain": _safe_repr(value)}


def _safe_repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception as exc:  # the user's repr: recorded as failing, the cell unharmed
        return f"<repr failed: {type(exc).__name__}>"


def _text_only(data: dict[str, Any]) -> dict[str, Any]:
    # Images are kept (hashable for output comparison); widgets' state is not.
    return {k: v for k, v in data.items() if not k.startswith("application/vnd.jupyter.widget")}


def run_captured(
    magics: Any, args: Any, tags: dict[str, str], cell: str, mode: str = "magic"
) -> Any:
    """Run a ``%%repro`` body inside an MLflow run and capture it.

    ``mode`` is the record's: ``magic``, or ``sidebar`` for a capture the JupyterLab
    sidebar asked for (an empty body, and no cell of its own).
    """
    __tracebackhide__ = True
    if magics.state.headless_dir:
        # `nbrepro run` captures the whole notebook; the cell only runs (and seeds).
        if args.seed is not None:
            from nbrepro.store.session import seed_everything

            seed_everything(args.seed)
        return magics.execute_body(cell)

    # Kernel > Interrupt during nbrepro's own work is noted, not raised: an interrupted
    # import or store migration would break every later capture of the session, and an
    # interrupted start_run would leave a run open that the next capture nests under.
    warnings: list[str] = []
    with _interrupts_held() as interrupted:
        started = _start(magics, args, tags, give_up=lambda: bool(interrupted))
        if started is not None and args.seed is not None and not interrupted:
            _seed(args.seed, warnings)
    if started is None:
        if interrupted:
            raise KeyboardInterrupt("interrupted before the cell's code ran")
        return magics.execute_body(cell)
    notebook, git_future, session = started

    outputs: list[dict[str, Any]] = []
    value: Any = None
    error: BaseException | None = None
    late_interrupt = False
    body_done = False
    redacted: list[str] = []
    # From here to the end of _finish the run is open: whatever happens in between, it
    # is ended and the capture stored.
    try:
        if interrupted:
            # The interrupt came before the body started: the body does not run, as a
            # cell interrupted before its first line; the run is recorded as killed.
            error = KeyboardInterrupt("interrupted before the cell's code ran")
        else:
            with (
                _tee_outputs(magics.shell, outputs, magics.max_output_bytes),
                _redacting(session.run_id, redacted, warnings),
            ):
                try:
                    value = magics.execute_body(cell)
                except BaseException as exc:  # re-raised below, unchanged
                    error = exc
                body_done = True
        from nbrepro.store.redacting import redaction_note

        if note := redaction_note(redacted):
            warnings.append(note)
        if value is not None:
            outputs.append(
                {"output_type": "execute_result", "data": _formatted(magics.shell, value)}
            )
    except KeyboardInterrupt as exc:
        if body_done or error is not None:
            # Kernel > Interrupt landing in nbrepro's code once the body had returned:
            # the cell had finished, and so does its capture.
            late_interrupt = True
        else:  # in nbrepro's code before the body: the cell was interrupted
            error = exc
    finally:
        with _interrupts_held() as interrupted:
            handed_off = False
            try:
                handed_off = _finish(
                    magics, session, notebook, git_future, outputs, error, warnings, mode
                )
            finally:
                if not handed_off:
                    session.close()
    if (interrupted or late_interrupt) and error is None:
        _warn("interrupted while the capture was being stored; the cell had finished, so was it.")
    if error is not None:
        raise error
    return value


def _seed(seed: int, warnings: list[str]) -> None:
    from nbrepro.store.session import seed_everything

    try:
        seeded = seed_everything(seed)
        warnings.append(f"seeded {', '.join(seeded)} with {seed}")
    except Exception as exc:  # a broken optional library
        warnings.append(f"seeding failed: {type(exc).__name__}: {exc}")


def _start(
    magics: Any, args: Any, tags: dict[str, str], give_up: Callable[[], bool]
) -> tuple[str | None, Any, Any] | None:
    """Open the capture's run: (notebook path, git future, session), or None when it
    could not start (said in one warning) or ``give_up()`` while it waited for the
    background imports or the previous capture's store (the user interrupted)."""
    state = magics.state
    try:
        if not state.preload.wait_for_imports(give_up):
            return None
        from nbrepro.store.tracking import store_timeout

        if not _wait_for_previous_store(store_timeout(magics.store_timeout or None) + 5.0, give_up):
            return None
        from nbrepro import record
        from nbrepro.capture import assemble, gitstate
        from nbrepro.store.session import RunOptions, RunSession

        notebook = state.notebook_path(args.notebook or magics.notebook or None)
        if magics.render_html:
            from nbrepro.store.tracking import SavedNotebookRenders, warm_worker

            warm_worker()
            if notebook:
                # First: the worker renders the saved notebook while the run opens and
                # the body runs, so the HTML made after the cell finds its cells
                # rendered (nothing to do when it was rendered since its last save),
                # and from now on again between cells each time it is saved.
                renders = state.renders or SavedNotebookRenders()
                renders.arm(notebook)
                renders.check(queue=True)
                if not state.headless_dir:  # papermill rewrites it after every cell
                    state.renders = renders
        # git runs in subprocesses: let it work while the run opens and the body runs.
        git_future = _background().submit(
            gitstate.capture_git, assemble.git_root(notebook), magics.max_diff_bytes
        )
        # The record names the kernel from its kernelspec: load that module meanwhile too.
        _background().submit(environment.installed_kernels)
        capture_id = record.new_capture_id()
        start_tags = dict(tags)
        if notebook:
            from nbrepro.record.tags import NOTEBOOK_TAG
            from nbrepro.redact import redact_text, secret_values

            # With the run's creation: the sidebar lists a notebook's runs by this tag,
            # and a run stored after the cell is listed (as running) as the cell returns.
            start_tags[NOTEBOOK_TAG] = redact_text(notebook, secret_values(os.environ))
        options = RunOptions(
            experiment=args.experiment or magics.experiment or None,
            run_name=args.name,
            tags=start_tags,
            tracking_uri=args.tracking_uri or magics.tracking_uri or None,
            seed=args.seed,
            store_timeout=getattr(magics, "store_timeout", None) or None,
        )
        session = RunSession(options, capture_id)
        session.start()
    except Exception as exc:  # nbrepro must never stop the user's cell
        _warn(f"could not start a capture ({type(exc).__name__}: {exc}); the cell ran without it.")
        return None
    return notebook, git_future, session


@contextmanager
def _interrupts_held() -> Iterator[list[bool]]:
    """SIGINT (Kernel > Interrupt) noted in the list, not raised, inside the block.

    Whatever handles SIGINT outside the block (ipykernel's ``default_int_handler``
    while a cell runs, or ``SIG_IGN``/``SIG_DFL``) is replaced inside it and put back
    after. Only in the main thread, where Python runs signal handlers, and only over a
    handler Python can put back (not one installed by C code, which reads as None).
    """
    import signal
    import threading

    noted: list[bool] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # set outside Python: it could not be put back
        yield noted
        return

    def note(_signum: int, _frame: Any) -> None:
        noted.append(True)

    signal.signal(signal.SIGINT, note)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, previous)


def _finish(
    magics: Any,
    session: Any,
    notebook: str | None,
    git: Any,
    outputs: list[dict[str, Any]],
    error: BaseException | None,
    warnings: list[str],
    mode: str = "magic",
) -> bool:
    """End the run with its capture; True when that was handed to the store thread
    (which closes the session), False when done here."""
    from nbrepro.capture import assemble
    from nbrepro.record.bundle import LogBundle
    from nbrepro.store.tracking import display_uri

    state = magics.state
    if error is None:
        status, err = "FINISHED", None
    elif isinstance(error, KeyboardInterrupt):
        status, err = "KILLED", {"ename": "KeyboardInterrupt", "evalue": ""}
    else:
        status, err = "FAILED", {"ename": type(error).__name__, "evalue": str(error)}
    if err is not None:
        outputs.append({"output_type": "error", **err})
    try:
        executed = state.executed_cells(current_error=err, in_cell=mode != "sidebar")
        watcher = state.watcher
        inp = assemble.CaptureInput(
            capture_id=session.capture_id,
            mode=mode,
            run=session.run_info(status, err),
            executed=executed,
            # A sidebar capture has no cell of its own whose outputs it recorded.
            capture_index=len(executed) - 1 if executed and mode != "sidebar" else None,
            notebook_path=notebook,
            git=git,
            outputs=outputs,
            delta_reads=watcher.finalize(watcher.reads()),
            delta_writes=watcher.writes(),
            delta_notes=list(watcher.notes),
            spark_remotes=watcher.spark.remotes(),
            warnings=warnings,
            env_allow=[*environment.DEFAULT_ENV_ALLOW, *magics.env_allow],
            max_output_bytes=magics.max_output_bytes,
            max_diff_bytes=magics.max_diff_bytes,
            render_html=magics.render_html,
            # Rendering takes ~150 ms for 50 cells: done after the cell returns.
            defer_html=True,
        )
        cap = assemble.build(inp)
    except Exception as exc:  # a bug in nbrepro: end the run honestly, keep the cell's result
        detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        _warn(f"capture failed ({detail}); the run was ended without nbrepro's record.")
        try:
            session.finish(LogBundle(tags={CAPTURE_ERROR_TAG: detail[:500]}, files={}), status)
        except Exception as exc2:
            _warn(f"could not end the run either: {type(exc2).__name__}: {exc2}")
        return False
    if _stores_after_cell(magics, session, mode):
        card = _storing_card(magics, cap.record, session.tracking_uri)
        if card is not None:
            state.last_record = cap.record
            state.last_card = card
            if session.detach():
                _hand_off(session, cap, status, card)
                return True
            _store_and_tell(session, cap, status, card, close=False)
            return False
    try:
        result = session.finish(cap.bundle, status)
    except Exception as exc:
        _warn(f"could not log or spool the capture: {type(exc).__name__}: {exc}")
        return False
    state.last_record = cap.record
    if cap.html_source is not None:
        _html_after_cell(session, cap, result)
    store = display_uri(session.tracking_uri)
    # The one warning (stderr: seen in every frontend and in papermill's logs); the
    # summary says what is pending without repeating it.
    if result.warning:
        _warn(result.warning)
    pending = _pending_of(result)
    # A sidebar capture is shown in the sidebar, not in the notebook.
    if magics.show_summary and mode != "sidebar":
        _show_summary(magics, cap.record, store, pending, session.tracking_uri)
    return False


# -- storing after the cell returns (ReproMagics.store_after_cell) -----------------------

_last_store: Future[None] | None = None


@lru_cache(maxsize=1)
def _store_thread() -> ThreadPoolExecutor:
    # One thread: captures are stored in their order. Its work is waited for when the
    # interpreter exits (concurrent.futures joins it before atexit), so a kernel closed
    # right after a capture still stores it.
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="nbrepro-store")


def _stores_after_cell(magics: Any, session: Any, mode: str) -> bool:
    return bool(
        magics.store_after_cell
        and magics.card
        and magics.show_summary
        and mode != "sidebar"
        # `nbrepro run`/`rerun`: the run is read as soon as the kernel is done.
        and not magics.state.headless_dir
        and not session.offline
        # A frontend to show the card in (not terminal IPython).
        and getattr(magics.shell, "kernel", None) is not None
    )


def _storing_card(magics: Any, rec: dict[str, Any], tracking_uri: str) -> Any:
    """The card under the cell, saying the run is being stored; None if it failed (the
    capture is then stored before the cell returns, with the plain summary)."""
    from nbrepro.store.tracking import display_uri

    try:
        from nbrepro.kernel.card import show_capture

        return show_capture(
            magics.shell,
            rec,
            display_uri(tracking_uri),
            None,
            tracking_uri=tracking_uri,
            mlflow_ui=magics.mlflow_ui or None,
            storing=True,
        )
    except Exception as exc:  # e.g. a broken ipywidgets
        _warn(f"the capture card failed ({type(exc).__name__}: {exc}); plain summary shown")
        return None


def _hand_off(session: Any, cap: Any, status: str, card: Any) -> None:
    global _last_store
    from nbrepro.store import tracking

    try:
        future = _store_thread().submit(_store_and_tell, session, cap, status, card, True)
    except RuntimeError:  # no thread to be had (the interpreter is closing): store it here
        _store_and_tell(session, cap, status, card, close=True)
        session.tidy()
        return
    tracking.track(future)
    _last_store = future
    # Then its spooled copy is deleted: not waited for (the run is stored by then); one
    # left by a closing interpreter goes with the next `nbrepro sync`.
    with contextlib.suppress(RuntimeError):
        _store_thread().submit(session.tidy)


def _wait_for_previous_store(seconds: float, give_up: Callable[[], bool]) -> bool:
    """The previous capture's store, if still under way: a capture starts once the one
    before it is stored (at most ``seconds``). False when ``give_up()`` first."""
    import time

    previous = _last_store
    end = time.monotonic() + seconds
    while previous is not None and not previous.done() and time.monotonic() < end:
        if give_up():
            return False
        wait([previous], timeout=0.05)
    return True


def _pending_of(result: Any) -> str | None:
    """What the summary and the card say of a capture left in the spool (None: stored)."""
    from nbrepro.record.summary import pending_phrase

    if result.spool_entry is None:
        return None
    return pending_phrase(offline=result.spool_entry.target_run_id is None)


def _store_and_tell(session: Any, cap: Any, status: str, card: Any, close: bool) -> None:
    """Log the capture and end the run (or spool it), then say so on the card. What
    fails here is said on the card: the cell has returned, and a warning printed now
    would land in whichever cell runs next."""
    from nbrepro.redact import safe_message

    pending: str | None = "not stored"
    warning: str | None = None
    try:
        html_handed = False
        if close:  # in the store thread
            # In the spool first: a kernel closed or killed meanwhile leaves it to sync.
            session.keep_until_stored(cap.bundle, status)
            if cap.html_source is not None:
                # The run is in the store already: the worker uploads the HTML while
                # this thread logs the rest (if that fails, the upload is kept for sync
                # all the same). A failure is told on the card, not in a later cell.
                try:
                    _html_after_cell(session, cap, None, tell=card.also_failed)
                    html_handed = True
                except Exception as exc:  # the run is stored all the same
                    card.also_failed(
                        safe_message(f"the HTML rendering was not handed over: {exc!r}")
                    )
        result = session.finish(cap.bundle, status)
        pending = _pending_of(result)
        warning = safe_message(result.warning) if result.warning else None
        if cap.html_source is not None and not html_handed:
            _html_after_cell(session, cap, result)
    except Exception as exc:
        what = "log or spool the capture" if pending else "keep the HTML rendering for upload"
        warning = safe_message(f"could not {what}: {type(exc).__name__}: {exc}")
    finally:
        try:
            card.stored(pending, warning)
        finally:
            if close:
                session.close()


def _show_summary(
    magics: Any, rec: dict[str, Any], store: str, pending: str | None, tracking_uri: str
) -> None:
    """The card under the cell (ipywidgets), else the plain summary."""
    from IPython.display import display

    from nbrepro.kernel.display import summary_bundle

    if magics.card:
        try:
            from nbrepro.kernel.card import show_capture

            magics.state.last_card = show_capture(
                magics.shell,
                rec,
                store,
                pending,
                tracking_uri=tracking_uri,
                mlflow_ui=magics.mlflow_ui or None,
            )
            return
        except Exception as exc:  # e.g. a broken ipywidgets: the summary still shows
            _warn(f"the capture card failed ({type(exc).__name__}: {exc}); plain summary shown")
    display(summary_bundle(rec, store, pending), raw=True)


def _html_after_cell(
    session: Any, cap: Any, result: Any, tell: Callable[[str], None] | None = None
) -> None:
    """Have the worker render and upload the HTML; a copy kept in the spool until it is
    uploaded. ``result``: the capture's store, when done (spooled: the HTML is left to
    sync with the rest); ``tell``: where an upload failure is said (else a warning)."""
    import functools

    from nbrepro import record
    from nbrepro.store import spool, tracking

    path = record.ARTIFACT_PATHS["html"]
    say = tell or _warn
    if result is not None and result.spool_entry is not None:
        # Rendered by `nbrepro sync`, from the redacted notebook kept in the entry.
        try:
            result.spool_entry.keep_html_source(cap.html_source)
        except OSError as exc:
            say(f"{path} of the spooled capture could not be kept: {exc}")
        return
    try:
        # On disk first: the worker may fail, or die with the kernel; sync then does it.
        pending = spool.save_upload(
            session.capture_id, session.tracking_uri, session.run_id, path, cap.html_source
        )
    except OSError as exc:
        say(f"{path} could not be kept for upload ({exc}); it is logged in the background.")
        pending = None

    def failed(message: str) -> None:
        from nbrepro.redact import safe_message

        message = safe_message(message)
        if pending is not None:
            pending.last_error = message
            pending.save()
            message += "; it was kept: run `nbrepro sync` to upload it"
        say(message)

    future = tracking.upload_later(
        session.tracking_uri,
        session.run_id,
        path,
        cap.html_producer(),
        failed,
        functools.partial(spool.upload_done, str(pending.folder)) if pending else None,
        artifact_uri=getattr(session, "artifact_uri", None),
    )
    if pending is not None:
        # Sync leaves the upload to the worker until it has tried.
        future.add_done_callback(lambda _f: spool.done_writing(pending.folder))


def status(magics: Any, args: Any) -> None:
    """``%repro status``: what a capture would record right now."""
    from nbrepro.capture import assemble, history
    from nbrepro.store import spool
    from nbrepro.store.tracking import display_uri, resolve_tracking_uri

    state = magics.state
    executed = state.executed_cells()
    path = state.notebook_path(args.notebook or magics.notebook or None)
    document, info, _ = assemble.load_document(path)
    history.match_to_document(executed, document)
    hidden = history.find_hidden_state(executed, document, len(executed) - 1 if executed else None)
    env = environment.capture_environment(
        env_allow=[*environment.DEFAULT_ENV_ALLOW, *magics.env_allow]
    )
    uri = args.tracking_uri or magics.tracking_uri or resolve_tracking_uri()
    lines = [
        "nbrepro status (what %%repro would record now)",
        f"  notebook: {path or 'unknown'}"
        + ("" if info["available"] else f" ({info['missing_reason']})"),
        f"  executed cells: {len(executed)}",
        f"  hidden state: {'yes' if hidden.hidden else 'none found'}",
        *[f"    - {e}" for e in hidden.explanations],
        f"  Delta reads so far: {len(state.watcher.reads())}",
        *[f"    - {r['uri']} @ v{r['version']}" for r in state.watcher.reads()],
        f"  environment: {env['hash'][:12]} ({len(env['packages'])} packages, Python "
        f"{env['python']['version']})",
        f"  tracking store: {display_uri(uri)}",
    ]
    pending = len(spool.load_entries()) + len(spool.load_uploads())
    if pending:
        lines.append(f"  captures waiting for upload: {pending} (run `%repro sync`)")
    print("\n".join(lines))


def start_headless(state: Any) -> None:
    """Kernel side of ``nbrepro run``: snapshot the environment for the parent process."""
    folder = Path(state.headless_dir)
    from nbrepro.paths import PINS_ENV

    pins = json.loads(os.environ.get(PINS_ENV) or "{}")
    if pins:
        state.watcher.set_pins(pins)
    env = environment.capture_environment()
    (folder / "environment.json").write_text(json.dumps(env, default=str), "utf-8")
    _activate_parent_run(os.environ.get("MLFLOW_RUN_ID"))


def _activate_parent_run(run_id: str | None) -> None:
    """Make the run ``nbrepro run`` opened (``MLFLOW_RUN_ID``) the kernel's active run
    once the notebook imports mlflow: MLflow links models to the active run only
    (``log_model`` outside a run makes a model of no run), while its logging calls
    resume the run the variable names. A notebook's own ``mlflow.start_run()`` still
    works as without nbrepro: the run is taken off the stack first (it then resumes it,
    and ends it when its block ends, as MLflow does)."""
    import sys

    if not run_id:
        return

    def activate() -> None:
        try:
            import mlflow
            from mlflow.tracking import fluent

            if mlflow.active_run() is None:
                mlflow.start_run(run_id=run_id)
            original = fluent.start_run

            def start_run(*args: Any, **kwargs: Any) -> Any:
                active = mlflow.active_run()
                wanted = kwargs.get("run_id", args[0] if args else None)
                if (
                    active is not None
                    and active.info.run_id == run_id
                    and wanted in (None, run_id)
                    and not kwargs.get("nested")
                ):
                    stack = fluent._active_run_stack.get()
                    if stack and stack[-1].info.run_id == run_id:
                        stack.pop()
                return original(*args, **kwargs)

            start_run.__wrapped__ = original  # type: ignore[attr-defined]
            start_run.__doc__ = original.__doc__
            fluent.start_run = start_run
            mlflow.start_run = start_run
        except Exception as exc:  # MLflow's internals differ: models stay unlinked, as before
            logging.getLogger(__name__).debug("could not make run %s active: %s", run_id, exc)

    if "mlflow" in sys.modules:
        activate()
        return
    from nbrepro.capture.delta.hooks import ImportHook

    def fired() -> None:
        if hook in sys.meta_path:  # once
            sys.meta_path.remove(hook)
        activate()

    hook = ImportHook(fired, name="mlflow")
    sys.meta_path.insert(0, hook)
