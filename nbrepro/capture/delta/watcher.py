"""Watch Delta Lake reads and writes, and pin tables to recorded versions on re-execution.

Importing this module never imports ``deltalake``: :meth:`DeltaWatcher.install` patches it
when present, or waits for its first import with a ``sys.meta_path`` hook. Tables are keyed
by their canonical uri (:func:`nbrepro.capture.delta.uri.normalize_uri`).

Reads are seen through ``DeltaTable`` itself, so every caller (polars too) is covered. A
``write_deltalake`` name bound before :meth:`DeltaWatcher.install` (``from deltalake import
write_deltalake``) keeps the unpatched function: such writes are not recorded.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypedDict, cast

from nbrepro.capture.delta.hooks import ImportHook, Patches
from nbrepro.capture.delta.storage import options_for_record
from nbrepro.capture.delta.tables import (
    WAY_OUT,
    Pin,
    PinnedTableMismatch,
    open_table,
    with_commit_timestamps,
)
from nbrepro.capture.delta.uri import normalize_uri

if TYPE_CHECKING:  # Python 3.10 has no typing.NotRequired
    from typing_extensions import NotRequired


class DeltaRead(TypedDict):
    """One (uri, table_id, version) the notebook opened; flags are OR-ed over repeated opens."""

    uri: str
    table_id: str | None
    version: int
    requested_version: int | str | None
    pinned_by_user: bool
    latest_at_read: bool
    commit_timestamp: str | None
    file_fingerprint: str | None
    num_files: int | None
    first_seen: str
    reads: int
    via: str
    pinned_by_nbrepro: bool
    table_name: NotRequired[str]  # the catalog name a Spark read used
    storage_options: NotRequired[dict[str, str]]  # where and how, never credentials


class DeltaWrite(TypedDict):
    """One ``write_deltalake`` call; ``version`` is None when nothing was written (mode=ignore)."""

    uri: str
    table_id: str | None
    version: int | None
    mode: str | None
    time: str


_LIBRARIES = frozenset({"polars", "pandas", "dask", "duckdb", "daft", "ray", "pyarrow"})


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _internal(module: str) -> bool:
    # deltalake builds DeltaTables itself (write_deltalake, DeltaTable.create) and so does
    # nbrepro (nbrepro.capture.delta.tables): not the notebook's reads, never pinned.
    top = module.partition(".")[0]
    return top == "deltalake" or top == "nbrepro"


def _requested(version: Any) -> int | str | None:
    if isinstance(version, datetime):
        aware = version if version.tzinfo else version.replace(tzinfo=timezone.utc)
        return aware.isoformat()
    return version if version is None or isinstance(version, (int, str)) else str(version)


def _fingerprint(dt: Any) -> tuple[str, int]:
    # The private get_add_file_sizes (relative path -> size) costs ~15 µs, the public
    # get_add_actions ~300 µs; sorted file uris are the fallback if it ever disappears.
    sizes = getattr(getattr(dt, "_table", None), "get_add_file_sizes", None)
    items = sorted(sizes().items()) if sizes else [(u, None) for u in sorted(dt.file_uris())]
    digest = hashlib.sha256()
    for path, size in items:
        digest.update(f"{path}\0{size}\n".encode())
    return digest.hexdigest(), len(items)


class DeltaWatcher:
    """Records the Delta tables a notebook opens and writes, and applies pins.

    Args:
        on_event: Called with ``{"kind": "read" | "write", **record}`` for every new or
            updated record; a failing callback becomes a note, never a user error.
    """

    def __init__(self, on_event: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.notes: list[str] = []
        self._on_event = on_event
        self._lock = threading.RLock()
        self._reads: dict[tuple[str, str | None, int], DeltaRead] = {}
        self._writes: list[DeltaWrite] = []
        self._pins: dict[str, Pin] = {}
        self._storage: dict[str, dict[str, str]] = {}  # in memory only: may hold credentials
        self._patches = Patches()
        self._hook: ImportHook | None = None
        # A wrapper another patch stacked on cannot be removed: it then just passes through.
        self._active = False
        self._installed = False
        # Spark Connect reads land in the same records (nbrepro.capture.delta.spark).
        from nbrepro.capture.delta.spark import SparkWatcher
        from nbrepro.capture.delta.spark_classic import ClassicSpark

        self.spark = SparkWatcher(self)
        self.spark_classic = ClassicSpark(self.spark, self)  # a JVM session, same records

    def install(self) -> None:
        """Patch deltalake and the Spark Connect client now, or right after their first
        import (idempotent)."""
        self._installed = True
        self.spark.install()
        self.spark_classic.install()
        if self._patches or self._hook is not None:
            return
        if sys.modules.get("deltalake") is not None:
            self._on_imported()  # never raises: a failure to patch is a note
        else:
            self._hook = ImportHook(self._on_imported)
            sys.meta_path.insert(0, self._hook)

    def uninstall(self) -> None:
        """Restore every patched attribute to the exact original object."""
        self._installed = False
        self.spark.uninstall()
        self.spark_classic.uninstall()
        self._drop_hook()
        self._active = False
        self._patches.restore(self._note)

    def _drop_hook(self) -> None:
        if self._hook is not None and self._hook in sys.meta_path:
            sys.meta_path.remove(self._hook)
        self._hook = None

    def _on_imported(self) -> None:
        self._drop_hook()
        try:
            self._patch()
        except Exception as exc:
            self._note(f"could not watch deltalake: {exc!r}")

    def _patch(self) -> None:
        dl = sys.modules["deltalake"]
        cls = dl.DeltaTable
        makers = {
            "__init__": self._wrap_init,
            "load_as_version": self._wrap_load,
            "update_incremental": self._wrap_load,
            "to_pandas": self._wrap_to_pandas,
        }
        try:
            for name, make in makers.items():
                if name in vars(cls):
                    self._patches.set(cls, name, make(vars(cls)[name]))
            write = vars(dl).get("write_deltalake")
            if write is not None:
                wrapped = self._wrap_write(write)
                for modname, mod in list(sys.modules.items()):
                    own = getattr(mod, "__dict__", {}).get("write_deltalake") is write
                    if own and modname.partition(".")[0] == "deltalake":
                        self._patches.set(mod, "write_deltalake", wrapped)
        except Exception:
            self.uninstall()
            raise
        self._active = True

    def _wrap_init(self, orig: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(orig)
        def __init__(dt: Any, *args: Any, **kwargs: Any) -> None:
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if not self._active or _internal(caller):
                return orig(dt, *args, **kwargs)
            requested = args[1] if len(args) > 1 else kwargs.get("version")
            uri: str | None = None
            pin: Pin | None = None
            problem: Exception | None = None
            try:
                uri = normalize_uri(args[0] if args else kwargs["table_uri"])
                pin = self._pins.get(uri) if requested is None else None
            except Exception as exc:  # noted below, once the user's call succeeded
                problem = exc
            if pin is None:
                orig(dt, *args, **kwargs)
            else:
                if len(args) > 1:
                    args = (args[0], pin["version"], *args[2:])
                else:
                    kwargs["version"] = pin["version"]
                try:
                    orig(dt, *args, **kwargs)
                except Exception as exc:
                    if hasattr(exc, "add_note"):  # Python >= 3.11; same type, more context
                        exc.add_note(f"nbrepro pinned {uri} to version {pin['version']}. {WAY_OUT}")
                    raise
                current, want = str(dt.metadata().id), pin.get("table_id")
                if want and current != want:  # re-created table: its versions are other data
                    raise PinnedTableMismatch(cast(str, uri), want, current, pin["version"])
            if uri is None:
                self._note(f"a Delta read was not recorded: {problem!r}")
                return
            storage = args[2] if len(args) > 2 else kwargs.get("storage_options")
            if storage:
                self._storage[uri] = dict(storage)
            self._observe(dt, uri, _requested(requested), caller, pin is not None)

        return __init__

    def observe(
        self,
        dt: Any,
        uri: str,
        requested: int | str | None,
        *,
        via: str,
        by_nbrepro: bool = False,
        table_name: str | None = None,
    ) -> None:
        """Record a read another engine made of ``dt``'s version (Spark: ``via="spark"``).

        Args:
            dt: A ``DeltaTable`` at the version that was read, opened by nbrepro.
            uri: The table's normalized uri.
            requested: The version or timestamp the code named, else None.
            via: What read it.
            by_nbrepro: Whether nbrepro pinned the read (a rerun).
            table_name: The catalog name the code used, when it used one.
        """
        if self._installed:
            self._observe(dt, uri, requested, "", by_nbrepro, via=via, table_name=table_name)

    def pin_for(self, uri: str) -> Pin | None:
        """The pin of a normalized uri during a rerun, else None."""
        return self._pins.get(uri)

    @property
    def active(self) -> bool:
        """Whether reads are being recorded (installed and not uninstalled)."""
        return self._installed

    @property
    def pinning(self) -> bool:
        """Whether any table is pinned (a rerun)."""
        return bool(self._pins)

    def note(self, note: str) -> None:
        """Keep a note for the capture's data notes (deduplicated, bounded)."""
        self._note(note)

    def record_write(self, raw: str, mode: str | None) -> None:
        """Record a write another engine made to the table at ``raw`` (after it ended)."""
        if self._installed:
            self._record_write(raw, None, mode, False)

    def _wrap_load(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        # load_as_version(v) names a version; update_incremental() asks for the newest.
        @functools.wraps(orig)
        def wrapper(dt: Any, *args: Any, **kwargs: Any) -> Any:
            result = orig(dt, *args, **kwargs)
            caller = sys._getframe(1).f_globals.get("__name__", "")
            if self._active and not _internal(caller):
                try:
                    key = getattr(dt, "_nbrepro_key", None)
                    uri = key[0] if key else normalize_uri(dt.table_uri)
                except Exception as exc:
                    self._note(f"a Delta read was not recorded: {exc!r}")
                    return result
                requested = args[0] if args else kwargs.get("version")
                self._observe(dt, uri, _requested(requested), caller, False)
            return result

        return wrapper

    def _wrap_to_pandas(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(orig)
        def to_pandas(dt: Any, *args: Any, **kwargs: Any) -> Any:
            result = orig(dt, *args, **kwargs)
            # The open could not tell pandas was coming; the first to_pandas() tells.
            rec = self._reads.get(getattr(dt, "_nbrepro_key", None))  # type: ignore[arg-type]
            if self._active and rec is not None and rec["via"] == "deltalake":
                rec["via"] = "pandas"
                self._emit("read", dict(rec))
            return result

        return to_pandas

    def _wrap_write(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(orig)
        def write_deltalake(*args: Any, **kwargs: Any) -> Any:
            if not self._active:
                return orig(*args, **kwargs)
            try:
                target = args[0] if args else kwargs["table_or_uri"]
                if isinstance(target, (str, os.PathLike)):
                    raw, storage = os.fspath(target), kwargs.get("storage_options")
                else:  # a DeltaTable
                    raw, storage = target.table_uri, target._storage_options
                mode = kwargs.get("mode", "error")
                # mode=ignore writes nothing to an existing table: no version is produced.
                dl = sys.modules["deltalake"]
                skipped = mode == "ignore" and dl.DeltaTable.is_deltatable(raw, storage)
                plan: tuple[str, Any, Any, bool] | None = (raw, storage, mode, skipped)
            except Exception as exc:
                self._note(f"a Delta write was not recorded: {exc!r}")
                plan = None
            result = orig(*args, **kwargs)
            if plan is not None:
                self._record_write(*plan)
            return result

        return write_deltalake

    def _observe(
        self,
        dt: Any,
        uri: str,
        requested: Any,
        caller: str,
        by_nbrepro: bool,
        via: str | None = None,
        table_name: str | None = None,
    ) -> None:
        try:
            version = dt.version()
            table_id = str(dt.metadata().id)
            key = (uri, table_id, version)
            dt._nbrepro_key = key
            with self._lock:
                rec = self._reads.get(key)
                if rec is None:
                    fingerprint, num_files = _fingerprint(dt)
                    top = caller.partition(".")[0]
                    rec = self._reads[key] = DeltaRead(
                        uri=uri,
                        table_id=table_id,
                        version=version,
                        requested_version=requested,
                        pinned_by_user=requested is not None,
                        latest_at_read=requested is None and not by_nbrepro,
                        commit_timestamp=None,
                        file_fingerprint=fingerprint,
                        num_files=num_files,
                        first_seen=_now(),
                        reads=1,
                        via=via or (top if top in _LIBRARIES else "deltalake"),
                        pinned_by_nbrepro=by_nbrepro,
                    )
                    if table_name:
                        rec["table_name"] = table_name
                    options = options_for_record(uri, self._storage.get(uri))
                    if options:
                        rec["storage_options"] = options
                else:
                    rec["reads"] += 1
                    rec["pinned_by_user"] |= requested is not None
                    rec["latest_at_read"] |= requested is None and not by_nbrepro
                    rec["pinned_by_nbrepro"] |= by_nbrepro
                    if table_name and not rec.get("table_name"):
                        rec["table_name"] = table_name
                event = dict(rec)
        except Exception as exc:
            self._note(f"a Delta read of {uri} was not recorded: {exc!r}")
            return
        self._emit("read", event)

    def _record_write(self, raw: str, storage: Any, mode: Any, skipped: bool) -> None:
        try:
            uri = normalize_uri(raw)
            dt = None if skipped else self._open(raw, storage)
            rec = DeltaWrite(
                uri=uri,
                table_id=None if dt is None else str(dt.metadata().id),
                version=None if dt is None else dt.version(),
                mode=None if mode is None else str(mode),
                time=_now(),
            )
            with self._lock:
                self._writes.append(rec)
        except Exception as exc:
            self._note(f"a Delta write to {raw} was not recorded: {exc!r}")
            return
        self._emit("write", dict(rec))

    def emit(self, kind: str, record: Mapping[str, Any]) -> None:
        """Pass an event to ``on_event`` (Spark: ``spark_remote``)."""
        self._emit(kind, record)

    def _emit(self, kind: str, record: Mapping[str, Any]) -> None:
        if self._on_event is not None:
            try:
                self._on_event({"kind": kind, **record})
            except Exception as exc:
                self._note(f"on_event callback failed: {exc!r}")

    def _note(self, note: str) -> None:
        with self._lock:
            if note in self.notes or len(self.notes) >= 200:
                return
            self.notes.append(note)
        self._emit("note", {"note": note})

    def _open(self, uri: str, storage: Any = None) -> Any:
        """Open a table for nbrepro itself: never recorded, never pinned (see ``_internal``)."""
        return open_table(uri, storage or self._storage.get(uri))

    def reads(self) -> list[DeltaRead]:
        """Return copies of the read records, in first-seen order."""
        with self._lock:
            return [cast(DeltaRead, dict(r)) for r in self._reads.values()]

    def writes(self) -> list[DeltaWrite]:
        """Return copies of the write records, in call order."""
        with self._lock:
            return [cast(DeltaWrite, dict(w)) for w in self._writes]

    def clear(self) -> None:
        """Forget all records and notes (pins and the installed patches stay)."""
        with self._lock:
            self._reads.clear()
            self._writes.clear()
            self.notes.clear()
        self.spark.clear()

    def set_pins(self, pins: Mapping[str, Pin]) -> None:
        """Hold tables at these versions when user code opens them without naming a version.

        Args:
            pins: ``{uri: {"version": int, "table_id": str | None}}``; uris are normalized.
        """
        self._pins = {
            normalize_uri(uri): Pin(version=int(p["version"]), table_id=p.get("table_id"))
            for uri, p in pins.items()
        }

    def finalize(self, reads: list[DeltaRead]) -> list[DeltaRead]:
        """Return copies of ``reads`` with ``commit_timestamp`` filled in; never raises.

        Args:
            reads: Read records, e.g. from :meth:`reads`.
        """
        notes: list[str] = []
        out = with_commit_timestamps(reads, notes, self._storage)
        for note in notes:
            self._note(note)
        with self._lock:
            for rec in out:
                own = self._reads.get((rec["uri"], rec.get("table_id"), rec["version"]))
                if own is not None and rec.get("commit_timestamp"):
                    own["commit_timestamp"] = rec["commit_timestamp"]
        return [cast(DeltaRead, rec) for rec in out]
