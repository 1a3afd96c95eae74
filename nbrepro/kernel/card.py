"""The card shown under a ``%%repro`` cell (ipywidgets; thin glue over the core).

The card says what was captured (run, cells, hidden state, Delta versions,
environment) and carries a "Re-execute" button: it starts a rerun job through
:mod:`nbrepro.jobs.manager` (its own process, like the sidebar's) and shows progress,
then the verdict, in place.

Where widgets cannot render (nbconvert, papermill output, a notebook viewer) the
card's display falls back to the plain text and HTML summary of the capture;
terminal IPython, which has no kernel to talk to widgets, gets the plain summary
without a card.
"""

from __future__ import annotations

import html
import threading
import time
from functools import lru_cache
from typing import Any, cast

import ipywidgets as widgets

from nbrepro.kernel.display import summary_bundle
from nbrepro.record.summary import (
    cells_phrase,
    data_problem,
    no_tables_phrase,
    read_source,
    store_label,
    table_name,
)
from nbrepro.record.vocabulary import (
    CURRENT,
    DIFFERS,
    FAILED,
    LATEST,
    PINNED,
    RECORDED,
    REPRODUCED,
    DataMode,
    EnvMode,
)
from nbrepro.store.tracking import display_uri

POLL_SECONDS = 1.0
# JupyterLab's theme colours, as the sidebar's verdict chips use them (the same verdict
# looks the same on the card and in the sidebar, in light and dark themes); the fallback
# is the light theme's, where the card is shown outside JupyterLab.
VERDICT_COLORS = {
    REPRODUCED: "var(--jp-success-color1, #388e3c)",
    DIFFERS: "var(--jp-warn-color1, #f57c00)",
    FAILED: "var(--jp-error-color1, #d32f2f)",
}
ERROR = "var(--jp-error-color1, #d32f2f)"


@lru_cache(maxsize=1)
def _jobs() -> Any:
    """One job manager per kernel: every card's reruns share its queue."""
    from nbrepro.jobs.manager import JobManager
    from nbrepro.paths import jobs_dir

    return JobManager(jobs_dir())


# Layouts and styles every card has alike, made once per kernel and shared by all its
# cards (ipywidgets lets widgets share them): each widget made costs the cell about a
# millisecond, and none of these is changed once made. One closed (Widget.close_all)
# is made again.
_shared_widgets: dict[str, widgets.Widget] = {}
_shared_lock = threading.Lock()


def _shared(name: str, make: Any) -> Any:
    with _shared_lock:
        found = _shared_widgets.get(name)
        comm = getattr(found, "comm", None)
        # Closed here (comm None) or by the frontend (the comm says so).
        if comm is None or getattr(comm, "_closed", False):
            found = _shared_widgets[name] = make()
        return found


def _style(of: type[widgets.DOMWidget], **traits: Any) -> Any:
    """A style widget of the class ``of``'s ``style`` trait takes (ipywidgets does not
    export them all)."""
    return of.class_traits()["style"].klass(**traits)


def run_link(mlflow_ui: str | None, experiment_id: str, run_id: str) -> str | None:
    """The MLflow UI page of a run, when an MLflow UI address is known."""
    if not mlflow_ui:
        return None
    return f"{mlflow_ui.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


def mlflow_ui_for(tracking_uri: str, configured: str | None) -> str | None:
    """The configured MLflow UI address; an HTTP tracking server serves its UI too."""
    if configured:
        return configured
    if tracking_uri.startswith(("http://", "https://")):
        # The link is shown in the card and saved with the notebook's widget state.
        return display_uri(tracking_uri)
    return None


STORING_NOTE = "the run was being stored after the cell returned (the card shows the outcome)"
MUTED = "var(--jp-ui-font-color2, #666)"
WARNED = "var(--jp-warn-color0, #e65100)"
ACCENT = "var(--jp-brand-color1, #1976d2)"


class ReproCard(widgets.VBox):
    """The card for one capture; re-executes it on request."""

    def __init__(
        self,
        rec: dict[str, Any],
        store: str,
        pending: str | None,
        *,
        tracking_uri: str,
        mlflow_ui: str | None = None,
        storing: bool = False,
    ) -> None:
        self.rec = rec
        self.store = store
        # The capture waits in the spool (record.summary.pending_phrase): until it is
        # synced, the store has no complete run to link to or re-execute.
        self.pending = pending
        self.tracking_uri = tracking_uri
        self.mlflow_ui = mlflow_ui_for(tracking_uri, mlflow_ui)
        # What a viewer that cannot show widgets shows (nbconvert, a saved notebook's
        # preview). A card stored after the cell says so there: the widget alone learns
        # how the store ended.
        self._summary = summary_bundle(rec, store, STORING_NOTE if storing else pending)
        # Notes under the summary (HTML-escaped text, colour): the store after the cell.
        self._notes: list[tuple[str, str]] = []
        self._notes_lock = threading.Lock()
        self._job_id: str | None = None
        self._stop = threading.Event()

        # What was captured: one widget. Each widget costs the cell about a millisecond,
        # with its layout and style (widgets too): these are shared by every card of the
        # kernel (_shared), and every trait is set as it is made (a change after that is
        # one more message).
        if storing:
            self._notes = [("storing the run…", MUTED)]
        plain = _shared("layout", widgets.Layout)
        self.header = widgets.HTML(
            self._summary_html(),
            layout=plain,
            style=_shared("html-style", lambda: _style(widgets.HTML)),
        )
        self.env_choice = widgets.Dropdown(
            options=[(CURRENT, CURRENT), ("recorded (rebuilt with uv)", RECORDED)],
            value=CURRENT,
            description="Environment",
            description_tooltip="current: this environment, drift listed; recorded: "
            "the run's packages rebuilt with uv (cached)",
            style=_shared(
                "choice-style", lambda: _style(widgets.Dropdown, description_width="initial")
            ),
            layout=_shared("choice-layout", lambda: widgets.Layout(width="auto")),
        )
        self.data_choice = widgets.Dropdown(
            options=[("pinned to the versions read", PINNED), (LATEST, LATEST)],
            value=PINNED,
            description="Data",
            description_tooltip="pinned: every Delta table at the version this run read; "
            "latest: today's data",
            style=self.env_choice.style,
            layout=self.env_choice.layout,
        )
        tooltip = "Re-execute this run in a fresh kernel and compare"
        if pending:
            tooltip = "Upload the run with `nbrepro sync` first"
        elif storing:
            # Stored after the cell returns (ReproMagics.store_after_cell): see stored().
            tooltip = "The run is being stored"
        self.button = widgets.Button(
            description="Re-execute",
            icon="redo",
            button_style="primary",
            tooltip=tooltip,
            disabled=bool(pending or storing),
            layout=plain,
            style=_shared("button-style", widgets.ButtonStyle),
            _dom_classes=("nbrepro-card-rerun",),
        )
        self.button.on_click(lambda _b: self.start_rerun())
        self.add_class("nbrepro-card")
        self._controls = widgets.HBox(
            [self.button, self.env_choice, self.data_choice],
            layout=_shared(
                "controls-layout",
                lambda: widgets.Layout(flex_flow="row wrap", align_items="center", gap="8px"),
            ),
        )
        # Cancel, progress and status are made when a rerun first needs them.
        self._rerun_parts: tuple[widgets.Button, widgets.IntProgress, widgets.HTML] | None = None
        super().__init__(
            [self.header, self._controls],
            layout=_shared(
                "card-layout",
                lambda: widgets.Layout(border_left=f"3px solid {ACCENT}", padding="4px 8px"),
            ),
        )

    def stored(self, pending: str | None, warning: str | None) -> None:
        """The run was stored after the cell returned, or spooled (``pending``, with the
        ``warning`` saying why). Called from the thread that stored it."""
        with self._notes_lock:
            if pending:
                self.pending = pending
                self.button.tooltip = "Upload the run with `nbrepro sync` first"
            else:
                self.button.disabled = False
                self.button.tooltip = "Re-execute this run in a fresh kernel and compare"
            notes = [n for n in self._notes if n[0] != "storing the run…"]
            if warning:
                notes.append((html.escape(warning), WARNED))
            self._set_notes(notes)

    def also_failed(self, warning: str) -> None:
        """Something of the capture's after the run (the HTML rendering's upload) failed:
        said on the card, as the store's own failure is. From any thread."""
        with self._notes_lock:
            self._set_notes([*self._notes, (html.escape(warning), WARNED)])

    def _set_notes(self, notes: list[tuple[str, str]]) -> None:
        self._notes = notes
        self.header.value = self._summary_html()

    @property
    def notes(self) -> str:
        """The notes under the summary, as text (what the store did after the cell)."""
        return "\n".join(html.unescape(text) for text, _ in self._notes)

    def _parts(self) -> tuple[widgets.Button, widgets.IntProgress, widgets.HTML]:
        if self._rerun_parts is None:
            cancel = widgets.Button(description="Cancel", icon="stop", layout={"display": "none"})
            cancel.on_click(lambda _b: self.cancel_rerun())
            progress = widgets.IntProgress(
                value=0, min=0, max=1, description="", layout={"display": "none", "width": "60%"}
            )
            status = widgets.HTML("")
            self._rerun_parts = (cancel, progress, status)
            self._controls.children = (*self._controls.children, cancel)
            card: Any = self  # a VBox: children is a trait mypy cannot type here
            card.children = (*card.children, progress, status)
        return self._rerun_parts

    @property
    def cancel(self) -> widgets.Button:
        return self._parts()[0]

    @property
    def progress(self) -> widgets.IntProgress:
        return self._parts()[1]

    @property
    def status(self) -> widgets.HTML:
        return self._parts()[2]

    # -- what the card shows ------------------------------------------------------

    def _summary_html(self) -> str:
        notes = "".join(
            f"<div class='nbrepro-card-note' style='color:{color}'>{text}</div>"
            for text, color in self._notes
        )
        return self._header_html() + self._body_html() + notes

    def _header_html(self) -> str:
        run = self.rec["run"]
        name = html.escape(str(run.get("run_name") or ""))
        run_id = html.escape(run["run_id"])
        link = (
            run_link(self.mlflow_ui, str(run["experiment_id"]), run["run_id"])
            if not self.pending
            else None
        )
        if self.pending and run.get("offline"):
            # The spool's local id is not the id the run will have once synced.
            ident = "<i>(in the spool)</i>"
        elif link:
            ident = (
                f"<a href='{html.escape(link)}' target='_blank' rel='noopener'>"
                f"<code>{run_id}</code></a>"
            )
        else:
            ident = f"<code>{run_id}</code>"
        return (
            f"<div><b>nbrepro</b> captured <b>{name}</b> {ident} "
            f"({html.escape(run['status'].lower())})</div>"
            "<div style='color:var(--jp-ui-font-color2, #666);font-size:90%'>experiment "
            f"{html.escape(str(run['experiment_name']))} "
            f"{'to be uploaded to' if self.pending and run.get('offline') else 'in'} "
            f"<code title='{html.escape(self.store)}'>{html.escape(store_label(self.store))}</code></div>"
        )

    def _body_html(self) -> str:
        code = self.rec["code"]
        esc = html.escape
        parts = [cells_phrase(code)]
        reads = self.rec["data"]["reads"]
        # The table's name, its full URI on hover: URIs are long.
        tables = (
            ", ".join(
                f"<code title='{esc(r['uri'])} ({esc(read_source(r))})'>"
                f"{esc(r.get('table_name') or table_name(r['uri']))}</code> @ v{r['version']}"
                + (" (Spark)" if r.get("via") == "spark" else "")
                for r in reads
            )
            or no_tables_phrase()
        )
        parts.append(tables)
        parts.append(f"environment <code>{esc(self.rec['environment']['hash'][:12])}</code>")
        out = "<div>" + " · ".join(parts) + "</div>"
        if code["hidden_state"]["hidden"]:
            out += "".join(
                f"<div style='color:{WARNED}'>&#9888; hidden state: {esc(e)}</div>"
                for e in code["hidden_state"]["explanations"]
            )
        if self.pending:
            out += f"<div style='color:{WARNED}'><b>Pending:</b> {esc(self.pending)}</div>"
        return out

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        # Seen wherever the widget cannot render (nbconvert, papermill output).
        data.update(self._summary)
        return data

    # -- re-execution ----------------------------------------------------------------

    def start_rerun(self) -> None:
        """Start a rerun job and follow it in a background thread."""
        from nbrepro.jobs.manager import RerunRequest

        if self._job_id is not None:
            return
        try:
            manager = _jobs()
            job = manager.submit(
                RerunRequest(
                    run_id=self.rec["run"]["run_id"],
                    env=cast(EnvMode, self.env_choice.value),
                    data=cast(DataMode, self.data_choice.value),
                    tracking_uri=self.tracking_uri,
                )
            )
        except Exception as exc:  # shown in the card: the user's notebook is not affected
            self._show_status(
                f"could not start the rerun: {type(exc).__name__}: {html.escape(str(exc))}",
                ERROR,
            )
            return
        self._job_id = job.job_id
        self.button.disabled = True
        self.cancel.layout.display = None
        self.progress.layout.display = None
        self._show_status("queued", MUTED)
        self._stop.clear()
        threading.Thread(
            target=self._follow, args=(manager,), name="nbrepro-card", daemon=True
        ).start()

    def cancel_rerun(self) -> None:
        """Stop the running job."""
        if self._job_id is not None:
            _jobs().cancel(self._job_id)

    def _follow(self, manager: Any) -> None:
        job_id = self._job_id
        assert job_id is not None
        while not self._stop.is_set():
            try:
                state = manager.get(job_id).to_json()
            except Exception as exc:  # the card says so; nothing else depends on it
                self._show_status(f"lost track of the rerun: {html.escape(str(exc))}", ERROR)
                break
            self._render_job(state)
            if state["state"] in ("succeeded", "failed", "cancelled"):
                break
            time.sleep(POLL_SECONDS)
        self._job_id = None
        self.button.disabled = False
        self.cancel.layout.display = "none"

    def _render_job(self, job: dict[str, Any]) -> None:
        progress = job.get("progress") or {}
        total = int(progress.get("cells_total") or 0)
        done = int(progress.get("cells_done") or 0)
        self.progress.max = max(total, 1)
        self.progress.value = min(done, self.progress.max)
        phase = progress.get("phase") or job["state"]
        if job["state"] in ("queued", "running"):
            cells = f" — cell {done} of {total}" if total else ""
            self._show_status(f"{html.escape(str(phase))}{cells}", MUTED)
            return
        self.progress.layout.display = "none"
        if job["state"] == "cancelled":
            self._show_status("rerun cancelled", MUTED)
        elif job["state"] == "failed" and job.get("error_reason"):
            # Data it could not read: said in the notebook's words, and the way on chosen
            # for the user (Data: latest), one click away.
            message, latest = data_problem(job["error_reason"])
            if latest:
                self.data_choice.value = LATEST
                message += " Data is now set to latest: click Re-execute."
            self._show_status(html.escape(message), ERROR)
        elif job["state"] == "failed":
            # The error quotes the rerun's log: a cell's exception, a table URI.
            error = html.escape(str(job.get("error") or "see the log"))
            self._show_status(f"rerun could not run: {error}", ERROR)
        else:
            self._show_verdict(job)

    def _show_verdict(self, job: dict[str, Any]) -> None:
        verdict = str(job.get("verdict") or "unknown")
        report = job.get("report") or {}
        color = VERDICT_COLORS.get(verdict, MUTED)
        # The sidebar's chip and headline ("differs in data, metrics").
        chip = (
            f"<span class='nbrepro-verdict nbrepro-verdict-{html.escape(verdict)}' "
            f"style='background:{color};color:var(--jp-ui-inverse-font-color1, #fff);"
            f"border-radius:8px;padding:1px 6px'>{html.escape(verdict)}</span>"
        )
        differs = [str(s) for s in report.get("differs") or []]
        lines = [
            chip
            + (" in " + html.escape(", ".join(differs)) if differs and verdict == DIFFERS else "")
        ]
        if report.get("drift"):
            lines.append("environment drift (does not fail the verdict)")
        failure = report.get("failure")
        if failure:
            lines.append(
                f"{html.escape(str(failure.get('cell') or 'a cell'))} raised "
                f"{html.escape(str(failure.get('ename')))}: {html.escape(str(failure.get('evalue')))}"
            )
        reproduced = report.get("failure_reproduced")
        if reproduced and verdict == REPRODUCED:
            lines.append(
                f"the original's failure too: {html.escape(str(reproduced.get('label')))} raised "
                f"{html.escape(str(reproduced.get('ename')))}"
            )
        volatile = report.get("volatile") or {}
        if verdict == DIFFERS and volatile.get("only"):
            kinds = ", ".join(html.escape(str(k)) for k in volatile.get("kinds") or [])
            lines.append(f"only volatile values differ ({kinds})")
        rerun_id = job.get("rerun_run_id")
        if rerun_id:
            link = run_link(self.mlflow_ui, str(self.rec["run"]["experiment_id"]), rerun_id)
            ident = (
                f"<a href='{html.escape(link)}' target='_blank' rel='noopener'>{html.escape(rerun_id)}</a>"
                if link
                else html.escape(rerun_id)
            )
            lines.append(f"rerun <code>{ident}</code>")
        # The full report, in the sidebar (JupyterLab's nbrepro extension handles the click:
        # it shows this run with its latest re-execution).
        original = html.escape(str(self.rec["run"]["run_id"]))
        lines.append(
            f"<a href='#' data-nbrepro-show-run='{original}' title='Show the full report in "
            f"the nbrepro sidebar'>full report</a>"
        )
        self.status.value = "<div class='nbrepro-card-verdict'>" + " · ".join(lines) + "</div>"

    def _show_status(self, text: str, color: str) -> None:
        """Show ``text``, HTML already escaped by the caller, in ``color``."""
        self.status.value = f"<span style='color:{color}'>{text}</span>"


def show_capture(
    shell: Any,
    rec: dict[str, Any],
    store: str,
    pending: str | None,
    *,
    tracking_uri: str,
    mlflow_ui: str | None,
    storing: bool = False,
) -> ReproCard | None:
    """Display the card under the cell, or the plain summary where no widget can live.

    Returns:
        The card, or None where the plain summary was shown.
    """
    from IPython.display import display

    if getattr(shell, "kernel", None) is None:
        # Terminal IPython: no frontend to render a widget.
        display(summary_bundle(rec, store, pending), raw=True)
        return None
    card = ReproCard(
        rec, store, pending, tracking_uri=tracking_uri, mlflow_ui=mlflow_ui, storing=storing
    )
    display(card)
    return card


__all__ = ["ReproCard", "mlflow_ui_for", "run_link", "show_capture"]
