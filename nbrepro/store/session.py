"""The MLflow run around a capture: start it, end it, and never lose it.

``RunSession.start`` opens an active (fluent) MLflow run so the user's own
``mlflow.log_*`` calls land in it. When the store is unreachable the run is
opened in a local spool store instead and the capture is uploaded later by
``nbrepro sync``; when logging fails at the end the capture is spooled too.
Either way the user gets one warning and nothing is lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from nbrepro.errors import TrackingUnavailable
from nbrepro.record.tags import CAPTURE_ID_TAG
from nbrepro.redact import safe_message
from nbrepro.store import spool, tracking

_log = logging.getLogger(__name__)
# Of a capture's store timeout, what is kept for giving up on the store at the end.
_GIVE_UP_S = 1.5


@dataclass
class RunOptions:
    """How to open the run."""

    experiment: str | None = None
    run_name: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    tracking_uri: str | None = None
    seed: int | None = None
    # Seconds the capture may wait for the store in all (None: NBREPRO_STORE_TIMEOUT, or 10).
    store_timeout: float | None = None


@dataclass
class FinishResult:
    run_id: str
    status: str
    logged: bool
    spool_entry: spool.SpoolEntry | None
    warning: str | None


def seed_everything(seed: int) -> list[str]:
    """Seed ``random``, and ``numpy`` and ``torch`` when installed; returns what was seeded."""
    random.seed(seed)
    seeded = ["random"]
    if find_spec("numpy") is not None:
        import numpy as np

        np.random.seed(seed)
        seeded.append("numpy")
    if find_spec("torch") is not None:
        import torch

        torch.manual_seed(seed)
        seeded.append("torch")
    return seeded


def _user_tracking_uri() -> str | None:
    """A tracking URI the user set in this process with ``mlflow.set_tracking_uri``."""
    import mlflow

    if mlflow.is_tracking_uri_set():
        return str(mlflow.get_tracking_uri())
    return None


def _user_experiment_id() -> str | None:
    """An experiment chosen with ``mlflow.set_experiment`` or MLflow's env vars."""
    from mlflow.tracking import fluent

    # MLflow has no public "which experiment did set_experiment choose" that does not
    # fall back to the default experiment; its module global is read here only, and a
    # missing attribute (a future MLflow) means "none chosen".
    active = getattr(fluent, "_active_experiment_id", None)
    if active:
        return str(active)
    env_id = os.environ.get("MLFLOW_EXPERIMENT_ID")
    return env_id or None


def _find_experiment(
    client: Any, uri: str, name: str, cached: bool, chosen: str | None
) -> tuple[str, str]:
    """(id, name) of the experiment a capture's run goes to: the one named, else the
    notebook's own (``mlflow.set_experiment``), else nbrepro's default."""
    if name:
        return tracking.ensure_experiment(client, uri, name, cached=cached), name
    if chosen:
        return chosen, str(client.get_experiment(chosen).name)
    name = tracking.DEFAULT_EXPERIMENT
    return tracking.ensure_experiment(client, uri, name, cached=cached), name


class RunSession:
    """One capture's MLflow run, online or spooled."""

    def __init__(self, options: RunOptions, capture_id: str) -> None:
        self.options = options
        self.capture_id = capture_id
        self.tracking_uri = ""
        self.experiment_id = ""
        self.experiment_name = ""
        self.run_id = ""
        # Where the run's artifacts go (as the store said when the run was created).
        self.artifact_uri: str | None = None
        self.offline_reason: str | None = None
        self.entry: spool.SpoolEntry | None = None
        self.started = 0.0
        # A budget for each wait on the store: opening the run, then ending it.
        self.store_timeout = tracking.store_timeout(options.store_timeout)
        self.deadline = tracking.StoreDeadline(self.store_timeout)
        self._previous_uri: str | None = None
        self._nested = False
        # The spooled copy kept while another thread stores the capture (keep_until_stored).
        self._kept: spool.SpoolEntry | None = None
        # That copy once out of the spool, until tidy() deletes it.
        self._retired: Path | None = None

    @property
    def offline(self) -> bool:
        return self.entry is not None and self.offline_reason is not None

    def start(self) -> None:
        """Open the run; falls back to the spool when the store is unreachable."""
        import mlflow

        opts = self.options
        user_uri = None if opts.tracking_uri else _user_tracking_uri()
        self.tracking_uri = user_uri or tracking.resolve_tracking_uri(opts.tracking_uri)
        if user_uri is None:
            # Point the fluent API at the resolved store so the user's own calls in the
            # body, and after it, use the same store as nbrepro, the CLI and the server.
            mlflow.set_tracking_uri(self.tracking_uri)
        self.experiment_name = opts.experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or ""
        deadline = self.deadline = tracking.StoreDeadline(self.store_timeout)
        try:
            tracking.check_reachable(
                self.tracking_uri, timeout=min(tracking.HEALTH_TIMEOUT_S, deadline.remaining())
            )
            self._open(self.tracking_uri, deadline)
        except TrackingUnavailable as exc:
            self._go_offline(exc.reason)
        except Exception as exc:  # the store rejected the run (locked, read-only, bad URI)
            reason = (
                deadline.unavailable(self.tracking_uri).reason
                if deadline.spent
                else f"{type(exc).__name__}: {exc}"
            )
            self._go_offline(reason)
        self.started = time.time()

    def _open(self, uri: str, deadline: tracking.StoreDeadline | None = None) -> None:
        from mlflow.exceptions import MlflowException

        try:
            self._open_run(uri, cached=True, deadline=deadline)
        except MlflowException:
            if deadline is not None and deadline.spent:
                raise
            # A cached experiment may have been deleted since: look it up again.
            tracking.forget_experiment(uri, self.experiment_name)
            self._open_run(uri, cached=False, deadline=deadline)

    def _open_run(self, uri: str, cached: bool, deadline: tracking.StoreDeadline | None) -> None:
        """Find the experiment, then start the run, within what is left of ``deadline``
        (each of the several requests gets only what the ones before it left)."""
        import mlflow

        client = tracking.client_for(uri)
        chosen = _user_experiment_id() if self.entry is None else None
        name = self.experiment_name
        if deadline is None or tracking.is_local_store(uri):
            found = _find_experiment(client, uri, name, cached, chosen)
        else:  # a thread given up on at the deadline: it sets nothing here
            found = deadline.run(
                uri, lambda _c: _find_experiment(client, uri, name, cached, chosen)
            )
        self.experiment_id, self.experiment_name = found
        tags = {CAPTURE_ID_TAG: self.capture_id, **self.options.tags}
        self._nested = mlflow.active_run() is not None
        # In this thread: MLflow's active run is per thread. One request (create_run).
        with deadline.limits(uri) if deadline else contextlib.nullcontext():
            run = mlflow.start_run(
                experiment_id=self.experiment_id,
                run_name=self.options.run_name,
                tags=tags,
                nested=self._nested,
            )
        self.run_id = run.info.run_id
        self.artifact_uri = run.info.artifact_uri

    def _go_offline(self, reason: str) -> None:
        import mlflow

        if not self.experiment_name:
            self.experiment_name = tracking.DEFAULT_EXPERIMENT
        # Shown in the warning and kept in the spool: an exception's text may quote
        # the store's URI with its credentials.
        reason = safe_message(reason)
        self.offline_reason = reason
        self.entry = spool.new_entry(
            self.capture_id, self.tracking_uri, self.experiment_name, reason
        )
        self._previous_uri = self.tracking_uri
        mlflow.set_tracking_uri(self.entry.local_tracking_uri)
        self._open(self.entry.local_tracking_uri)
        self.entry.local_run_id = self.run_id
        self.entry.save()

    def close(self) -> None:
        """Done writing the capture's spool entry, if any: ``nbrepro sync`` may take it."""
        if self.entry is not None:
            spool.done_writing(self.entry.folder)

    def run_info(self, status: str, error: dict[str, Any] | None) -> dict[str, Any]:
        """The record's ``run`` section."""
        return {
            "run_id": self.run_id,
            "experiment_id": self.experiment_id,
            "experiment_name": self.experiment_name,
            "tracking_uri": self.tracking_uri,
            "run_name": self._run_name(),
            "status": status,
            "seed": self.options.seed,
            "error": error,
            "duration_seconds": round(time.time() - self.started, 3) if self.started else None,
            "offline": self.offline,
        }

    def _run_name(self) -> str | None:
        import mlflow

        run = mlflow.active_run()
        if run is not None and run.info.run_id == self.run_id:
            return str(run.info.run_name)
        return self.options.run_name

    def detach(self) -> bool:
        """Take the run off MLflow's active-run stack in this thread, so that
        :meth:`finish` may run in another thread (which ends it by its id). False when
        that is not possible (an MLflow whose internals differ): finish it here."""
        import mlflow

        if self.offline:
            return False  # the spool's store is the fluent API's until finish puts it back
        run = mlflow.active_run()
        if run is None or run.info.run_id != self.run_id:
            return True  # the body ended or replaced it: finish ends it by its id
        return tracking._pop_active_run(self.run_id)

    def keep_until_stored(self, bundle: tracking.LogBundle, status: str) -> None:
        """Keep the capture in the spool until :meth:`finish` has stored it.

        For a capture stored by a thread after the cell returns: a kernel closed, or
        killed, before that thread is done leaves the capture to ``nbrepro sync`` (which
        logs it to the run, already in the store, and ends the run) rather than losing it.
        Files only (a few milliseconds); :meth:`finish` deletes them once it has stored
        the capture. Best effort: a spool that cannot be written leaves the store to try.
        """
        if self.offline:  # the spool's own store holds the run already
            return
        try:
            self._kept = spool.spool_bundle(
                self.capture_id,
                self.tracking_uri,
                self.experiment_name,
                "the kernel closed before the capture was stored",
                self.run_id,
                bundle,
                status,
            )
        except Exception as exc:  # the store itself is tried all the same
            _log.debug("could not keep capture %s in the spool: %s", self.capture_id, exc)

    def _drop_kept(self) -> None:
        """The capture is stored: its spooled copy leaves the spool at once (one rename,
        under the entry's lock: sync never sees half of it); :meth:`tidy` deletes it."""
        kept, self._kept = self._kept, None
        if kept is None:
            return
        try:
            self._retired = spool.retire(kept)
        except OSError as exc:
            _log.debug("could not remove spooled copy %s: %s", kept.folder, exc)
        finally:
            spool.done_writing(kept.folder)

    def tidy(self) -> None:
        """Delete the spooled copy of a stored capture (after :meth:`finish`; nothing
        waits for it)."""
        retired, self._retired = self._retired, None
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)

    def logged_params(self) -> dict[str, str]:
        """Params the run has already (the notebook's own ``mlflow.log_param`` calls)."""
        uri = self.entry.local_tracking_uri if self.offline and self.entry else self.tracking_uri
        try:
            with tracking.StoreDeadline(self.store_timeout).limits(uri):
                return dict(tracking.client_for(uri).get_run(self.run_id).data.params)
        except Exception as exc:  # the store went away: finish() spools and says so
            _log.debug("reading run %s's params: %s", self.run_id, exc)
            return {}

    def finish(self, bundle: tracking.LogBundle, status: str) -> FinishResult:
        """Log nbrepro's part and end the run; spool it when the store fails.

        A store that is down or does not answer holds the cell at most
        ``RunOptions.store_timeout`` seconds here, giving up included.
        """
        # Keep a moment of the budget for giving up: ending the run locally, spooling.
        self.deadline = tracking.StoreDeadline(
            self.store_timeout - min(_GIVE_UP_S, self.store_timeout / 5)
        )
        warning = None
        logged = False
        try:
            if self.offline and self.entry is not None:
                local = self.entry.local_tracking_uri
                tracking.log_bundle(tracking.client_for(local), self.run_id, bundle)
                self._end_run(status)
            else:
                self._finish_online(bundle, status)
                logged = True
                self._drop_kept()
        except Exception as exc:  # store failure while logging: keep everything locally
            if self.offline:  # the spool's own store failed: nothing else to fall back on
                raise
            self._drop_run(status)
            warning = self._spool_after_failure(bundle, status, exc)
        finally:
            if self._previous_uri is not None:
                import mlflow

                mlflow.set_tracking_uri(self._previous_uri)
        if self.offline and warning is None:
            assert self.entry is not None
            warning = (
                f"tracking store {tracking.display_uri(self.tracking_uri)} is unreachable "
                f"({self.offline_reason}). The run, including your own mlflow.log_* calls, "
                f"was saved to the spool ({self.entry.folder}); run `nbrepro sync` to upload it."
            )
        return FinishResult(self.run_id, status, logged, self.entry, warning)

    def _finish_online(self, bundle: tracking.LogBundle, status: str) -> None:
        uri = self.tracking_uri
        client = tracking.client_for(uri)
        # The spooled copy's files are the bundle's: logged from there, not written again.
        kept = self._kept.folder / spool.BUNDLE_FILES if self._kept is not None else None
        self.deadline.run(
            uri,
            lambda cancelled: tracking.log_bundle(
                client,
                self.run_id,
                bundle,
                cancelled,
                artifact_uri=self.artifact_uri,
                files_dir=kept,
            ),
        )
        self._end_run(status, self.deadline)

    def _end_run(self, status: str, deadline: tracking.StoreDeadline | None = None) -> None:
        import mlflow

        uri = self.entry.local_tracking_uri if self.offline and self.entry else self.tracking_uri
        run = mlflow.active_run()
        if run is not None and run.info.run_id == self.run_id:
            tracking.end_active_run(self.run_id, status, uri, deadline)
            return
        # The user's code ended or replaced nbrepro's run in the body.
        client = tracking.client_for(uri)
        if deadline is None:
            tracking.terminate(client, self.run_id, status)
        else:
            deadline.run(uri, lambda _c: tracking.terminate(client, self.run_id, status))

    def _drop_run(self, status: str) -> None:
        """Take the run off MLflow's active-run stack after a failure, waiting at most
        a moment for the store (sync terminates it on the store later)."""
        import mlflow

        run = mlflow.active_run()
        if run is None or run.info.run_id != self.run_id:
            return
        # A moment at least: the run leaves the active-run stack whatever the store does.
        give_up = tracking.StoreDeadline(max(self.deadline.remaining(), 1.0))
        try:
            tracking.end_active_run(self.run_id, status, self.tracking_uri, give_up)
        except Exception as exc:  # expected: the store is what failed
            _log.debug("ending run %s on the failing store: %s", self.run_id, exc)

    def _spool_after_failure(
        self, bundle: tracking.LogBundle, status: str, exc: BaseException
    ) -> str:
        reason = safe_message(
            exc.reason if isinstance(exc, TrackingUnavailable) else f"{type(exc).__name__}: {exc}"
        )
        kept, self._kept = self._kept, None
        if kept is not None:
            # Kept already (keep_until_stored): its files are not written again, since a
            # store call given up on may still be reading them.
            kept.reason = reason
            kept.save()
            entry = kept
        else:  # files only, no local store to create: the cell is not held for it
            entry = spool.spool_bundle(
                self.capture_id,
                self.tracking_uri,
                self.experiment_name,
                reason,
                self.run_id,
                bundle,
                status,
            )
        self.entry = entry
        return (
            f"logging to {tracking.display_uri(self.tracking_uri)} failed ({reason[:200]}). "
            f"The capture was saved to the spool ({entry.folder}); run `nbrepro sync` to "
            "upload it."
        )
