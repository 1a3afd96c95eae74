"""What a kernel's first capture needs, made ready in the background after ``%load_ext``.

A first ``%%repro`` imports MLflow (1.5-3 s), and on a local store SQLAlchemy and the
schema migration (another 1-2 s). None of it depends on the cell: a thread started
when the extension loads does it while the user reads, types or runs other cells, and
the first capture finds it done (or waits for the rest). The user's cells share the
interpreter with that thread for those seconds; ``c.ReproMagics.preload = False`` in an
IPython profile (or ``--ReproMagics.preload=False`` on the kernel's command line) leaves
everything to the first capture, for kernels that load nbrepro and seldom capture.

Imports run to their end in the thread even when the user interrupts a cell, which an
import in the cell would not (an interrupted ``import mlflow`` leaves MLflow half
imported for the rest of the session).
"""

from __future__ import annotations

import atexit
import importlib
import logging
import threading
from collections.abc import Callable

_log = logging.getLogger(__name__)

# What a capture imports, in the order it needs them.
MODULES = (
    "mlflow",
    "mlflow.tracking.fluent",
    "nbrepro.store.session",
    "nbrepro.store.redacting",
    "nbrepro.capture.assemble",
    "nbrepro.record.summary",
    "nbrepro.kernel.display",
)
CARD_MODULES = ("ipywidgets", "nbrepro.kernel.card")
# How long a closing kernel lets a store being opened or migrated finish: with the
# worker's hand-over, within the 5 s jupyter_client gives a kernel to close.
CLOSE_LIMIT_S = 3.0


class Preload:
    """The background preparation of one kernel, started once."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._imported = threading.Event()
        self._opening = threading.Event()
        self._lock = threading.Lock()

    def start(self, tracking_uri: str | None, card: bool) -> None:
        """Start the preparation (once): the imports, then opening ``tracking_uri``
        (None: the store a capture would use now)."""
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, args=(tracking_uri, card), name="nbrepro-preload", daemon=True
            )
            self._thread.start()
        atexit.register(self._let_store_finish)

    def wait_for_imports(self, give_up: Callable[[], bool] = lambda: False) -> bool:
        """Wait for the preparation's imports (at once when it never started); False
        when ``give_up()`` said so first (the user interrupted the cell)."""
        if self._thread is None:
            return True
        while not self._imported.wait(0.05):
            if give_up():
                return False
        return True

    def _run(self, tracking_uri: str | None, card: bool) -> None:
        try:
            for name in MODULES + (CARD_MODULES if card else ()):
                importlib.import_module(name)
        except Exception as exc:  # the capture imports again and reports what fails
            _log.debug("nbrepro preload: import failed: %s", exc)
            return
        finally:
            self._imported.set()
        from nbrepro import paths
        from nbrepro.store import tracking

        try:
            uri = tracking.resolve_tracking_uri(tracking_uri)
            if not tracking.is_local_store(uri):
                # A server: opening a client sends no request. Its import is done.
                tracking.client_for(uri)
                return
            db = paths.sqlite_path(uri)
            if db is None or not db.is_file() or not tracking.sqlite_store_complete(db):
                # A store not made yet (or being made by another process now) is made
                # by the first capture, not here: MLflow creating its schema while the
                # user's own mlflow calls (or a Jupyter server) do the same fails one of
                # them ("table ... already exists", "Online migration expected ...").
                import mlflow.store.tracking.sqlalchemy_store  # noqa: F401 - its import only

                return
            self._opening.set()
            tracking.client_for(uri)
        except Exception as exc:  # the capture opens it again, under its deadline, and says
            _log.debug("nbrepro preload: opening the store failed: %s", exc)
        finally:
            self._opening.clear()

    def _let_store_finish(self) -> None:
        """At exit: a local store being created or migrated is left whole."""
        thread = self._thread
        if thread is not None and self._opening.is_set():
            thread.join(CLOSE_LIMIT_S)
