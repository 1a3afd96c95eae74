"""Classic (JVM) PySpark: Delta reads recorded and pinned on the Python side.

A classic ``SparkSession`` hands a read's format and options straight to the JVM
(``DataFrameReader.format`` calls ``self._jreader.format``), so nothing in Python holds them
by the time a DataFrame exists. nbrepro keeps a copy on each reader and writer it sees built
(``format``, ``option(s)``, ``schema``, ``mode``) and looks at three calls:

* ``DataFrameReader.load`` and ``.table``, ``SparkSession.table``: a Delta path or catalog
  table (located with ``DESCRIBE TABLE EXTENDED``, as for Spark Connect);
* ``SparkSession.sql``: the text, parsed by sqlglot with the rules of
  :mod:`nbrepro.capture.delta.spark` (``delta.`path```, catalog tables, temp views, writes);
* ``DataFrameWriter.save`` / ``saveAsTable`` / ``insertInto`` of Delta: writes.

Each read is recorded at that call, with the version ``deltalake`` resolves then. Delta's
classic reader resolves an unversioned table again when an action runs, so a table that
gets a commit between ``load()`` and the action is recorded at the earlier version.

On a rerun a read that names no version gets the recorded one: a fresh reader with the same
format, schema and options plus ``versionAsOf`` (the user's reader is left as it was), or
``VERSION AS OF n`` in the SQL text. Temp views of DataFrames (``createOrReplaceTempView``)
read what the DataFrame read, recorded and pinned where it was built. Nothing here imports
pyspark; whatever fails becomes a note, and the user's call runs as without nbrepro.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nbrepro.capture.delta.hooks import ImportHook, Patches
from nbrepro.capture.delta.tables import PinnedTableMismatch
from nbrepro.capture.delta.uri import normalize_uri

if TYPE_CHECKING:
    from nbrepro.capture.delta.spark import ReadSink, SparkWatcher, _Walk

SESSION_MODULE = "pyspark.sql.session"  # imports pyspark.sql.readwriter first
DATAFRAME_MODULE = "pyspark.sql.classic.dataframe"  # PySpark 4; 3.x: pyspark.sql.dataframe
_STATE = "_nbrepro_state"
_VIEW_METHODS = (
    "createTempView",
    "createOrReplaceTempView",
    "createGlobalTempView",
    "createOrReplaceGlobalTempView",
)


@dataclass
class _Built:
    """What a reader or writer was told so far, in Python (the JVM keeps the real state)."""

    format: str | None = None
    schema: Any = None
    mode: str | None = None
    options: dict[str, str] = field(default_factory=dict)


def _text(value: Any) -> str:
    # pyspark's to_str: booleans are lower-case, everything else str().
    return str(value).lower() if isinstance(value, bool) else str(value)


def _built(obj: Any) -> _Built | None:
    state = getattr(obj, "__dict__", {}).get(_STATE)
    return state if isinstance(state, _Built) else None


class ClassicSpark:
    """The classic half of :class:`nbrepro.capture.delta.spark.SparkWatcher`."""

    def __init__(self, spark: SparkWatcher, sink: ReadSink) -> None:
        self._spark = spark
        self._sink = sink
        self._patches = Patches()
        self._hooks: list[ImportHook] = []

    # -- patching ---------------------------------------------------------------------------

    def install(self) -> None:
        """Patch classic PySpark now or right after its import (only where py4j exists: a
        ``pyspark-client`` install has no classic session)."""
        if self._patches or self._hooks:
            return
        try:
            if importlib.util.find_spec("py4j") is None:
                return
        except (ImportError, ValueError):
            return
        self._when_imported(SESSION_MODULE, self._patch_session)
        self._when_imported(DATAFRAME_MODULE, self._patch_dataframe)

    def uninstall(self) -> None:
        for hook in self._hooks:
            if hook in sys.meta_path:
                sys.meta_path.remove(hook)
        self._hooks.clear()
        self._patches.restore(self._sink.note)

    def _when_imported(self, module: str, patch: Callable[[], None]) -> None:
        def run() -> None:
            if hook is not None and hook in sys.meta_path:
                sys.meta_path.remove(hook)
            try:
                patch()
            except Exception as exc:
                self._sink.note(
                    f"classic Spark reads were not recorded: could not watch {module} ({exc!r})"
                )

        hook: ImportHook | None = None
        if sys.modules.get(module) is not None:
            run()
        else:
            hook = ImportHook(run, module)
            self._hooks.append(hook)
            sys.meta_path.insert(0, hook)

    def _patch_session(self) -> None:
        readwriter = sys.modules["pyspark.sql.readwriter"]
        session = sys.modules[SESSION_MODULE].SparkSession
        reader, writer = readwriter.DataFrameReader, readwriter.DataFrameWriter
        for cls in (reader, writer):
            self._patches.set(cls, "__init__", self._wrap_init(vars(cls)["__init__"]))
            for name in ("format", "schema", "option", "options", "mode"):
                if name in vars(cls):
                    self._patches.set(cls, name, self._wrap_builder(vars(cls)[name], name))
        self._patches.set(reader, "load", self._wrap_load(vars(reader)["load"]))
        self._patches.set(reader, "table", self._wrap_reader_table(vars(reader)["table"]))
        self._patches.set(session, "table", self._wrap_session_table(vars(session)["table"]))
        self._patches.set(session, "sql", self._wrap_sql(vars(session)["sql"]))
        self._patches.set(writer, "save", self._wrap_save(vars(writer)["save"]))
        self._patches.set(writer, "saveAsTable", self._wrap_save_table(vars(writer)["saveAsTable"]))
        self._patches.set(writer, "insertInto", self._wrap_insert(vars(writer)["insertInto"]))
        conf = getattr(sys.modules.get("pyspark.sql.conf"), "RuntimeConfig", None)
        for name in ("set", "unset"):
            if conf is not None and name in vars(conf):
                self._patches.set(conf, name, self._wrap_conf(vars(conf)[name]))
        if importlib.util.find_spec("pyspark.sql.classic") is None:  # PySpark 3.x
            self._patch_dataframe(sys.modules["pyspark.sql.dataframe"])

    def _patch_dataframe(self, module: Any = None) -> None:
        cls = (module or sys.modules[DATAFRAME_MODULE]).DataFrame
        for name in _VIEW_METHODS:
            if name in vars(cls):
                self._patches.set(cls, name, self._wrap_view(vars(cls)[name], name))

    def _wrap_conf(self, orig: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(orig)
        def wrapper(conf: Any, *args: Any, **kwargs: Any) -> None:
            try:
                orig(conf, *args, **kwargs)
            finally:
                self._spark.settings_changed()

        return wrapper

    @property
    def _watching(self) -> bool:
        return self._sink.active and not self._spark._internal

    # -- readers and writers as built -------------------------------------------------------

    def _wrap_init(self, orig: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(orig)
        def __init__(obj: Any, *args: Any, **kwargs: Any) -> None:
            orig(obj, *args, **kwargs)
            obj.__dict__[_STATE] = _Built()

        return __init__

    def _wrap_builder(self, orig: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(orig)
        def wrapper(obj: Any, *args: Any, **kwargs: Any) -> Any:
            out = orig(obj, *args, **kwargs)
            state = _built(obj)
            if state is not None:
                try:
                    _remember(state, name, args, kwargs)
                except Exception:  # never the user's problem; a later pin is just skipped
                    obj.__dict__.pop(_STATE, None)
            return out

        return wrapper

    # -- reads ------------------------------------------------------------------------------

    def _walk(self, session: Any) -> _Walk:
        from nbrepro.capture.delta.spark import _Walk

        return _Walk(session, rewrite=self._sink.pinning)

    def _wrap_load(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(orig)
        def load(
            reader: Any, path: Any = None, format: Any = None, schema: Any = None, **options: Any
        ) -> Any:
            if not self._watching:
                return orig(reader, path, format, schema, **options)
            target, state = reader, None
            try:
                built = _built(reader)
                fmt = format or (built.format if built else None)
                given = {k: _text(v) for k, v in options.items() if v is not None}
                merged = {**(built.options if built else {}), **given}
                if self._is_delta(reader._spark, fmt):
                    paths = [str(p) for p in (path if isinstance(path, list) else [path])]
                    if path is None:
                        paths = [v for k, v in merged.items() if k.lower() == "path"]
                    walk = self._walk(reader._spark)
                    for raw in paths:
                        self._spark._table_read(normalize_uri(raw), dict(merged), walk, None, raw)
                    why = "it names several paths" if len(paths) != 1 else None
                    target = self._reader_for(
                        reader, walk, why, format=format, schema=schema, options=given
                    )
                    state = (walk, self._spark.observe(walk))
            except PinnedTableMismatch:
                raise
            except Exception as exc:
                self._sink.note(f"a classic Spark read was not recorded: {exc!r}")
            if target is reader:
                return self._run(state, orig, reader, path, format, schema, **options)
            # pyspark's load() sets format, schema and options on the reader itself: the
            # user's reader keeps them as without nbrepro; the pinned copy loads.
            self._spark._local.internal = True
            try:
                if format is not None:
                    reader.format(format)
                if schema is not None:
                    reader.schema(schema)
                reader.options(**options)
            finally:
                self._spark._local.internal = False
            return self._run(state, orig, target, path)

        return load

    def _wrap_reader_table(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(orig)
        def table(reader: Any, tableName: str) -> Any:
            if not self._watching:
                return orig(reader, tableName)
            built = _built(reader)
            options = built.options if built else {}
            return self._read_table(
                reader._spark, tableName, options, lambda: orig(reader, tableName)
            )

        return table

    def _wrap_session_table(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(orig)
        def table(session: Any, tableName: str) -> Any:
            if not self._watching or not isinstance(tableName, str):
                return orig(session, tableName)
            return self._read_table(session, tableName, {}, lambda: orig(session, tableName))

        return table

    def _read_table(
        self, session: Any, name: str, options: dict[str, str], plain: Callable[[], Any]
    ) -> Any:
        """``spark.table(name)`` or ``read.table(name)``: recorded, and on a rerun read at
        the pinned version; ``plain`` is the user's call as made."""
        state, pin = None, None
        try:
            walk = self._table_walk(session, name, options)
            pins = [r.pin["version"] for r in walk.reads if r.pin is not None]
            pin = pins[0] if pins and not walk.view else None
            state = (walk, self._spark.observe(walk))
        except PinnedTableMismatch:
            raise
        except Exception as exc:
            self._sink.note(f"a classic Spark read of {name} was not recorded: {exc!r}")
        if pin is None:
            return self._run(state, plain)
        return self._run(state, self._internal_pinned_table, session, name, pin)

    def _internal_pinned_table(self, session: Any, name: str, version: int) -> Any:
        """A catalog table at ``version``: ``VERSION AS OF`` in SQL, which Delta documents
        for catalog tables (a reader option on ``table()`` may be ignored)."""
        self._spark._local.internal = True
        try:
            return session.sql(f"SELECT * FROM {name} VERSION AS OF {int(version)}")
        finally:
            self._spark._local.internal = False

    def _table_walk(self, session: Any, name: str, options: dict[str, str]) -> _Walk:
        walk = self._walk(session)
        if self._spark._expand_view(name, walk):
            # A view: a SQL view's body was pinned when it was created on a rerun, a
            # DataFrame's where it was built. Nothing to pin at this call.
            walk.view = True
            return walk
        uri = self._spark._locate(session, name)
        if uri is not None:
            self._spark._table_read(uri, dict(options), walk, name, name)
        return walk

    def _wrap_sql(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(orig)
        def sql(session: Any, sqlQuery: str, *args: Any, **kwargs: Any) -> Any:
            # *args: PySpark >= 3.4 takes ``args`` (parameters), 3.3 and older do not.
            if not self._watching or not isinstance(sqlQuery, str):
                return orig(session, sqlQuery, *args, **kwargs)
            formatter = None
            if kwargs:  # "... {df}": DataFrames become temp views, as pyspark does it
                try:
                    from pyspark.sql.sql_formatter import SQLStringFormatter

                    formatter = SQLStringFormatter(session)
                    text = formatter.format(sqlQuery, **kwargs)
                except Exception:
                    if formatter is not None:
                        formatter.clear()
                    return orig(session, sqlQuery, *args, **kwargs)  # its own error, as before
            else:
                text = sqlQuery
            try:
                state, sent = None, text
                try:
                    walk = self._walk(session)
                    sent = self._spark._sql(text, walk, top=True) or text
                    # A query is analyzed now and read at the action; the version is
                    # resolved now (see the module's docstring).
                    state = (walk, self._spark.observe(walk) if walk.record or walk.query else [])
                except PinnedTableMismatch:
                    raise
                except Exception as exc:
                    self._sink.note(
                        f"the Delta reads of a classic Spark SQL statement were not recorded: {exc!r}"
                    )
                return self._run(state, orig, session, sent, *args)
            finally:
                if formatter is not None:
                    formatter.clear()

        return sql

    def _wrap_view(self, orig: Callable[..., None], method: str) -> Callable[..., None]:
        @functools.wraps(orig)
        def wrapper(df: Any, name: str) -> None:
            orig(df, name)
            if self._watching and isinstance(name, str) and not name.startswith("_pyspark_"):
                key = name.replace("`", "").lower()
                if "Global" in method:
                    key = f"global_temp.{key}"
                with self._spark._lock:
                    self._spark._views[key] = ("recorded", None, self._sink.pinning)

        return wrapper

    # -- writes -----------------------------------------------------------------------------

    def _wrap_save(self, orig: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(orig)
        def save(
            writer: Any,
            path: Any = None,
            format: Any = None,
            mode: Any = None,
            partitionBy: Any = None,
            **options: Any,
        ) -> None:
            orig(writer, path, format, mode, partitionBy, **options)
            if not self._watching:
                return
            try:
                built = _built(writer)
                fmt = format or (built.format if built else None)
                where = path or {k.lower(): v for k, v in options.items()}.get("path")
                if where is None and built is not None:
                    where = {k.lower(): v for k, v in built.options.items()}.get("path")
                if where is not None and self._is_delta(writer._spark, fmt):
                    how = mode or (built.mode if built else None)
                    self._sink.record_write(normalize_uri(str(where)), how)
            except Exception as exc:
                self._sink.note(f"a classic Spark write was not recorded: {exc!r}")

        return save

    def _wrap_save_table(self, orig: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(orig)
        def saveAsTable(writer: Any, name: str, *args: Any, **kwargs: Any) -> None:
            orig(writer, name, *args, **kwargs)
            built = _built(writer)
            self._table_written(writer, name, kwargs.get("mode") or (built.mode if built else None))

        return saveAsTable

    def _wrap_insert(self, orig: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(orig)
        def insertInto(writer: Any, tableName: str, overwrite: Any = None) -> None:
            orig(writer, tableName, overwrite)
            built = _built(writer)
            how = "overwrite" if overwrite else (built.mode if built else None) or "append"
            self._table_written(writer, tableName, how)

        return insertInto

    def _table_written(self, writer: Any, name: str, mode: str | None) -> None:
        if not self._watching:
            return
        try:
            with self._spark._lock:
                self._spark._located.clear()  # the table may be new
            uri = self._spark._locate(writer._spark, name, fresh=True)
            if uri is not None:
                self._sink.record_write(uri, mode)
        except Exception as exc:
            self._sink.note(f"a classic Spark write to {name} was not recorded: {exc!r}")

    # -- helpers ----------------------------------------------------------------------------

    def _is_delta(self, session: Any, fmt: str | None) -> bool:
        if fmt:
            return str(fmt).lower() == "delta"
        return self._spark._default_is_delta(session)

    def _reader_for(
        self,
        reader: Any,
        walk: _Walk,
        why_not: str | None,
        format: Any = None,
        schema: Any = None,
        options: Mapping[str, str] | None = None,
    ) -> Any:
        """The reader to load with: ``reader`` itself, or a pinned copy on a rerun (built
        like ``reader`` once given ``format``, ``schema`` and ``options``)."""
        pins = [r.pin for r in walk.reads if r.pin is not None]
        if not pins:
            return reader
        if why_not is None and _built(reader) is None:
            why_not = "its reader was built before %load_ext nbrepro"
        if why_not is not None:
            label = walk.reads[0].label or walk.reads[0].uri
            self._sink.note(f"a classic Spark read of {label} was not pinned: {why_not}")
            for read in walk.reads:
                read.pin = None
            return reader
        return self._pinned_reader(reader, pins[0]["version"], format, schema, options)

    def _pinned_reader(
        self,
        reader: Any,
        version: int,
        format: Any = None,
        schema: Any = None,
        options: Mapping[str, str] | None = None,
    ) -> Any:
        """A new reader built like ``reader``, reading ``version``: the user's reader (which
        may load again) never carries nbrepro's option."""
        built = _built(reader)
        assert built is not None
        self._spark._local.internal = True
        try:
            fresh = type(reader)(reader._spark)
            if format or built.format:
                fresh.format(format or built.format)
            if schema is not None or built.schema is not None:
                fresh.schema(schema if schema is not None else built.schema)
            merged = {**built.options, **(options or {})}
            if merged:
                fresh.options(**merged)
            return fresh.option("versionAsOf", str(version))
        finally:
            self._spark._local.internal = False

    def _run(self, state: Any, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        ok = False
        try:
            out = call(*args, **kwargs)
            ok = True
            return out
        finally:
            self._spark._after(state, ok)


def _remember(state: _Built, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    if name == "format":
        state.format = str(args[0] if args else kwargs["source"])
    elif name == "schema":
        state.schema = args[0] if args else kwargs["schema"]
    elif name == "mode":
        mode = args[0] if args else kwargs.get("saveMode")
        if mode is not None:  # pyspark keeps the mode it had (save(mode=None) calls this)
            state.mode = str(mode)
    elif name == "option":
        key = args[0] if args else kwargs["key"]
        value = args[1] if len(args) > 1 else kwargs["value"]
        if value is not None:
            state.options[str(key)] = _text(value)
    elif name == "options":
        state.options.update({str(k): _text(v) for k, v in kwargs.items() if v is not None})
