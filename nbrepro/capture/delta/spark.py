"""Watch Delta reads made through Spark Connect, and pin them on re-execution.

A Spark Connect client sends every query to the server as a protobuf plan, which names each
read: ``read.format("delta").load(p)`` is a data source (format, paths, options),
``spark.table("t")`` a named table, ``spark.sql(...)`` the SQL text. nbrepro wraps the
client's execute calls (``SparkConnectClient._execute_and_fetch_as_iterator`` and
``_execute``) and, for pins only, its analyze call (``_analyze``: ``df.columns`` of a pinned
read must agree with ``collect()``). At each action it walks the plan, and

* records each Delta read with the version the action read, resolved client side with
  ``deltalake`` (catalog tables are located once with ``DESCRIBE TABLE EXTENDED``);
* on a rerun, adds the recorded version to every read that names none: a ``versionAsOf``
  option, or ``VERSION AS OF n`` after the table in SQL (positions from sqlglot's parser).
  The request is rewritten, never the user's DataFrame.

Reads are lazy: ``load()`` and ``spark.sql("SELECT ...")`` read nothing, the action does.
Temp views are expanded where they are queried. Nothing here imports pyspark: the client
module is patched when the notebook imports it. Whatever fails here becomes a note naming
the read, and the user's query runs as without nbrepro.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from nbrepro.capture.delta.hooks import ImportHook, Patches
from nbrepro.capture.delta.tables import Pin, PinnedTableMismatch, open_table
from nbrepro.capture.delta.uri import is_object_store, normalize_uri
from nbrepro.paths import CAPTURE_DIR_ENV

CLIENT_MODULE = "pyspark.sql.connect.client.core"
VIA = "spark"
# A rerun's Spark Connect address (``nbrepro rerun --spark-remote``): replaces the one the
# notebook connects to, because clusters move.
REMOTE_ENV = "NBREPRO_SPARK_REMOTE"
# Connection parameters kept in the record; any other (token=...) may be a secret.
_SAFE_PARAMS = frozenset({"user_id", "use_ssl", "user_agent"})
# ``format.`path``` in SQL reads files; only ``delta.`path``` is a Delta read.
_FILE_FORMATS = frozenset({"parquet", "csv", "json", "orc", "text", "avro", "binaryfile"})
# spark.sql("... {df}", df=df) references: "_pyspark_connect_temp_view_..." (Spark Connect),
# "_pyspark_<hex>" (classic); the DataFrame's own reads are recorded where it was built.
_TEMP_VIEW_PREFIX = "_pyspark_"


class ReadSink(Protocol):
    """Where Spark reads are recorded (:class:`nbrepro.capture.delta.watcher.DeltaWatcher`)."""

    @property
    def pinning(self) -> bool: ...

    @property
    def active(self) -> bool: ...

    def pin_for(self, uri: str) -> Pin | None: ...

    def observe(
        self,
        dt: Any,
        uri: str,
        requested: int | str | None,
        *,
        via: str,
        by_nbrepro: bool = False,
        table_name: str | None = None,
    ) -> None: ...

    def record_write(self, raw: str, mode: str | None) -> None: ...

    def note(self, note: str) -> None: ...

    def emit(self, kind: str, record: Mapping[str, Any]) -> None: ...


@dataclass
class SparkRead:
    """One Delta read found in a plan."""

    uri: str
    requested: int | str | None = None  # the version (int) or timestamp (str) the code named
    table_name: str | None = None
    pin: Pin | None = None  # the recorded version nbrepro held the read at (a rerun)
    label: str = ""  # how the code named the table, for notes


@dataclass
class _Walk:
    """What one request does: its reads, its writes, and whether it reads data now."""

    client: Any
    rewrite: bool
    reads: list[SparkRead] = field(default_factory=list)
    writes: list[tuple[str, bool, str | None]] = field(default_factory=list)  # where, is_path, mode
    record: bool = True
    query: bool = False  # a spark.sql query: read by the action (Connect) or now (classic)
    view: bool = False  # classic spark.table() of a temp view
    changed: bool = False
    catalog_changed: bool = False
    depth: int = 0
    top_sql: bool = False  # the next SQL text met is a spark.sql statement being sent
    view_pinned: bool = False  # walking a view that was pinned when it was created


def redact_remote(builder: Any) -> str | None:
    """A Spark Connect address without credentials: ``sc://host:port/;user_id=...``."""
    host, port = getattr(builder, "_host", None), getattr(builder, "_port", None)
    params = getattr(builder, "_params", None)
    if host is None:
        return None
    out = f"sc://{host}:{port}" if port else f"sc://{host}"
    kept = [f"{k}={v}" for k, v in sorted((params or {}).items()) if k.lower() in _SAFE_PARAMS]
    return f"{out}/;{';'.join(kept)}" if kept else out


def parse_timestamp(text: str, zone: str | None) -> datetime:
    """A ``timestampAsOf`` value as Spark reads it: naive times are in the session's zone."""
    from zoneinfo import ZoneInfo

    raw = text.strip()
    if raw.endswith("Z"):
        raw = raw[:-1] + "+00:00"
    when = datetime.fromisoformat(raw)
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(zone or "UTC"))
    return when


def _repeated(fd: Any) -> bool:
    flag = getattr(fd, "is_repeated", None)
    return bool(flag) if flag is not None else fd.label == fd.LABEL_REPEATED


def _option_version(options: Mapping[str, str]) -> int | str | None:
    """The version or timestamp a read's options name (keys are case-insensitive)."""
    for key, value in options.items():
        low = key.lower()
        if low == "versionasof":
            try:
                return int(value)
            except ValueError:
                return str(value)
        if low == "timestampasof":
            return f"timestamp {value}"
    return None


def _requested_value(requested: int | str | None) -> int | str | None:
    if isinstance(requested, str) and requested.startswith("timestamp "):
        return requested.removeprefix("timestamp ")
    return requested


class SparkWatcher:
    """Records Delta reads made through Spark Connect into a :class:`ReadSink`."""

    def __init__(self, sink: ReadSink) -> None:
        self._sink = sink
        self._local = threading.local()  # .internal: nbrepro's own queries, never watched
        self._lock = threading.RLock()
        self._patches = Patches()
        self._hook: ImportHook | None = None
        # name -> ("relation", proto) | ("sql", text), and whether it was pinned when created
        self._views: dict[str, tuple[str, Any, bool]] = {}
        # SQL texts nbrepro pinned -> the text as written: the server hands a pinned
        # spark.sql() statement back as the DataFrame's plan
        self._pinned_sql: dict[str, str] = {}
        self._located: dict[tuple[int, str], str | None] = {}  # (client, table name) -> uri
        self._conf: dict[tuple[int, str], str | None] = {}
        self._remotes: list[str] = []

    # -- patching ---------------------------------------------------------------------------

    def install(self) -> None:
        """Patch the Spark Connect client now, or right after its first import."""
        if self._patches or self._hook is not None:
            return
        if sys.modules.get(CLIENT_MODULE) is not None:
            self._on_imported()
        else:
            self._hook = ImportHook(self._on_imported, CLIENT_MODULE)
            sys.meta_path.insert(0, self._hook)

    def uninstall(self) -> None:
        """Restore every patched attribute (left alone when someone patched it after us)."""
        if self._hook is not None and self._hook in sys.meta_path:
            sys.meta_path.remove(self._hook)
        self._hook = None
        self._patches.restore(self._sink.note)

    def _on_imported(self) -> None:
        if self._hook is not None and self._hook in sys.meta_path:
            sys.meta_path.remove(self._hook)
        self._hook = None
        try:
            self._patch()
        except Exception as exc:
            self._sink.note(
                f"Spark reads were not recorded: could not watch Spark Connect ({exc!r})"
            )

    def _patch(self) -> None:
        core = sys.modules[CLIENT_MODULE]
        cls = core.SparkConnectClient
        self._patches.set(
            cls,
            "_execute_and_fetch_as_iterator",
            self._wrap_fetch(vars(cls)["_execute_and_fetch_as_iterator"]),
        )
        self._patches.set(cls, "_execute", self._wrap_execute(vars(cls)["_execute"]))
        self._patches.set(cls, "_analyze", self._wrap_analyze(vars(cls)["_analyze"]))
        if "config" in vars(cls):
            self._patches.set(cls, "config", self._wrap_config(vars(cls)["config"]))
        # Only in a kernel nbrepro runs (a rerun): a user's own kernels keep their address.
        remote = os.environ.get(REMOTE_ENV) if os.environ.get(CAPTURE_DIR_ENV) else None
        builder = getattr(core, "DefaultChannelBuilder", None)
        if remote and builder is not None and "__init__" in vars(builder):
            self._patches.set(
                builder, "__init__", self._wrap_builder(vars(builder)["__init__"], remote)
            )

    def _wrap_builder(self, orig: Callable[..., None], remote: str) -> Callable[..., None]:
        @functools.wraps(orig)
        def __init__(builder: Any, url: str | None = None, *args: Any, **kwargs: Any) -> None:
            orig(builder, remote, *args, **kwargs)

        return __init__

    def _wrap_config(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(orig)
        def config(client: Any, operation: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return orig(client, operation, *args, **kwargs)
            finally:
                kind = getattr(operation, "WhichOneof", lambda _: None)("op_type")
                if kind is None or kind in ("set", "unset"):
                    self.settings_changed()

        return config

    def _wrap_fetch(self, orig: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        @functools.wraps(orig)
        def wrapper(client: Any, req: Any, *args: Any, **kwargs: Any) -> Iterator[Any]:
            state = self._before(client, req)
            ok = False
            try:
                yield from orig(client, req, *args, **kwargs)
                ok = True
            finally:
                self._after(state, ok)

        return wrapper

    def _wrap_execute(self, orig: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(orig)
        def wrapper(client: Any, req: Any, *args: Any, **kwargs: Any) -> None:
            state = self._before(client, req)
            ok = False
            try:
                orig(client, req, *args, **kwargs)
                ok = True
            finally:
                self._after(state, ok)

        return wrapper

    def _wrap_analyze(self, orig: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(orig)
        def wrapper(client: Any, method: str, **kwargs: Any) -> Any:
            if self._sink.pinning and self._sink.active and not self._internal:
                for key in ("plan", "other"):
                    plan = kwargs.get(key)
                    if plan is None:
                        continue
                    try:
                        copy = type(plan)()
                        copy.CopyFrom(plan)
                        walk = _Walk(client, rewrite=True, record=False)
                        self._walk_plan(copy, walk)
                    except PinnedTableMismatch:
                        raise
                    except Exception as exc:
                        self._sink.note(f"a Spark plan was analyzed without pins: {exc!r}")
                        continue
                    if walk.changed:
                        kwargs[key] = copy
            return orig(client, method, **kwargs)

        return wrapper

    @property
    def _internal(self) -> bool:
        return bool(getattr(self._local, "internal", False))

    # -- one request ------------------------------------------------------------------------

    def _before(self, client: Any, req: Any) -> tuple[_Walk, list[tuple[SparkRead, Any]]] | None:
        if not self._sink.active or self._internal:
            return None
        try:
            self._remember_remote(client)
            walk = _Walk(client, rewrite=self._sink.pinning)
            self._walk_plan(req.plan, walk)
            # Recorded now, not once the results are consumed: an iterator left half-read
            # would record nothing until collected.
            return walk, self.observe(walk) if walk.record else []
        except PinnedTableMismatch:
            raise
        except Exception as exc:
            self._sink.note(f"the Delta reads of a Spark request were not recorded: {exc!r}")
            return None

    def observe(self, walk: _Walk) -> list[tuple[SparkRead, Any]]:
        """Record each read of a walk at the version it gets now (a pin's, checked)."""
        resolved = []
        for read in walk.reads:
            try:
                dt = self._resolve(read, walk.client)
                self._sink.observe(
                    dt,
                    read.uri,
                    _requested_value(read.requested),
                    via=VIA,
                    by_nbrepro=read.pin is not None,
                    table_name=read.table_name,
                )
                resolved.append((read, dt))
            except PinnedTableMismatch:
                raise
            except Exception as exc:
                self._sink.note(
                    f"a Spark read of {read.label or read.uri} was not recorded: {exc!r}"
                )
        return resolved

    def _after(self, state: tuple[_Walk, list[tuple[SparkRead, Any]]] | None, ok: bool) -> None:
        if state is None:
            return
        walk, resolved = state
        try:
            if walk.catalog_changed:
                with self._lock:
                    self._located.clear()
            written = set()
            if ok:
                for where, is_path, mode in walk.writes:
                    uri = (
                        normalize_uri(where)
                        if is_path
                        else self._locate(walk.client, where, fresh=True)
                    )
                    if uri is not None:
                        written.add(uri)
                        self._sink.record_write(uri, mode)
            for read, dt in resolved:
                if read.requested is None and read.pin is None and read.uri not in written:
                    self._check_moved(read, dt)
        except Exception as exc:
            self._sink.note(f"Spark reads were not recorded: {exc!r}")

    def _check_moved(self, read: SparkRead, dt: Any) -> None:
        # The version was resolved just before the action: a commit landing meanwhile
        # may or may not be in what Spark read. Local tables are checked for one.
        if is_object_store(read.uri):
            return
        following = os.path.join(read.uri, "_delta_log", f"{int(dt.version()) + 1:020d}.json")
        if os.path.exists(following):
            self._sink.note(
                f"a Spark read of {read.label or read.uri} was not recorded exactly: the table "
                f"got a new version while Spark read it; the run records v{dt.version()}, the "
                "version before the read"
            )

    def _remember_remote(self, client: Any) -> None:
        remote = redact_remote(getattr(client, "_builder", None))
        if remote and remote not in self._remotes:
            with self._lock:
                self._remotes.append(remote)
            self._sink.emit("spark_remote", {"remote": remote})

    def remotes(self) -> list[str]:
        """The Spark Connect addresses the session used, without credentials."""
        with self._lock:
            return list(self._remotes)

    def clear(self) -> None:
        """Forget the remotes seen (views and locations stay: the server still has them)."""
        with self._lock:
            self._remotes.clear()

    # -- versions ---------------------------------------------------------------------------

    def _resolve(self, read: SparkRead, client: Any) -> Any:
        """A ``DeltaTable`` at the version the read gets (checked against a pin's table id)."""
        if read.pin is not None:
            dt = open_table(read.uri, version=read.pin["version"])
            want, current = read.pin.get("table_id"), str(dt.metadata().id)
            if want and current != want:
                raise PinnedTableMismatch(read.uri, want, current, read.pin["version"])
            return dt
        if isinstance(read.requested, int):
            return open_table(read.uri, version=read.requested)
        dt = open_table(read.uri)
        if isinstance(read.requested, str):
            text = _requested_value(read.requested)
            zone = self._conf_value(client, "spark.sql.session.timeZone")
            dt.load_as_version(parse_timestamp(str(text), zone))
        return dt

    # -- plans ------------------------------------------------------------------------------

    def _walk_plan(self, plan: Any, walk: _Walk) -> None:
        kind = plan.WhichOneof("op_type")
        if kind == "root":
            self._walk(plan.root, walk)
        elif kind == "command":
            self._walk_command(plan.command, walk)
        elif kind == "compressed_operation":
            self._walk_compressed(plan, walk)

    def _walk_compressed(self, plan: Any, walk: _Walk) -> None:
        zstd = getattr(walk.client, "_zstd_module", None)
        op = plan.compressed_operation
        if zstd is None:
            raise RuntimeError("the plan is compressed and zstandard is not installed")
        relations = sys.modules["pyspark.sql.connect.proto"]
        is_relation = op.op_type == relations.Plan.CompressedOperation.OpType.OP_TYPE_RELATION
        msg = relations.Relation() if is_relation else relations.Command()
        msg.ParseFromString(zstd.decompress(op.data))
        if is_relation:
            self._walk(msg, walk)
        else:
            self._walk_command(msg, walk)
        if walk.changed:  # sent uncompressed: the server takes either
            if is_relation:
                plan.root.CopyFrom(msg)
            else:
                plan.command.CopyFrom(msg)

    def _walk_command(self, command: Any, walk: _Walk) -> None:
        kind = command.WhichOneof("command_type")
        if kind == "sql_command":
            sql = command.sql_command
            if sql.HasField("input"):
                walk.top_sql = True
                self._walk(sql.input, walk)
            elif sql.sql:
                new = self._sql(sql.sql, walk, top=True)
                if new is not None:
                    sql.sql = new
            return
        if kind == "create_dataframe_view":
            view = command.create_dataframe_view
            walk.record = False  # defines a view; the reads happen where it is queried
            copy = type(view.input)()
            copy.CopyFrom(view.input)
            key = view.name.lower()
            if view.is_global:
                key = f"global_temp.{key}"
            with self._lock:
                self._views[key] = ("relation", copy, walk.rewrite)
            self._walk(view.input, walk)
            return
        if kind == "write_operation":
            op = command.write_operation
            mode = op.WhichOneof("save_type")
            how = _WRITE_MODES.get(int(op.mode))
            if mode == "path" and op.source.lower() == "delta":
                walk.writes.append((op.path, True, how))
            elif mode == "table":
                walk.writes.append((op.table.table_name, False, how))
                walk.catalog_changed = True
            self._walk(op.input, walk)
            return
        if kind == "write_operation_v2":
            op = command.write_operation_v2
            walk.writes.append((op.table_name, False, None))
            walk.catalog_changed = True
            self._walk(op.input, walk)
            return
        if kind in ("register_function", "register_table_function", "get_resources_command"):
            walk.record = False
            return
        # Anything else (catalog calls, streaming, ML): walk what it holds; catalog
        # commands may create or drop tables, so locations are looked up again.
        walk.catalog_changed = True
        self._walk(command, walk)

    def _walk(self, msg: Any, walk: _Walk) -> None:
        # Depth first, in field order, with a stack: a plan built by a loop of hundreds of
        # withColumn calls is deeper than Python's recursion limit.
        stack = [msg]
        while stack:
            node = stack.pop()
            name = node.DESCRIPTOR.name
            if name == "Read":
                self._read(node, walk)
                continue
            if name == "SQL":
                top, walk.top_sql = walk.top_sql, False
                new = self._sql(node.query, walk, top=top)
                if new is not None:
                    node.query = new
            children: list[Any] = []
            for fd, value in node.ListFields():
                if fd.message_type is None or fd.message_type.GetOptions().map_entry:
                    continue
                if _repeated(fd):
                    children.extend(value)
                else:
                    children.append(value)
            stack.extend(reversed(children))

    def _read(self, read: Any, walk: _Walk) -> None:
        kind = read.WhichOneof("read_type")
        if kind == "data_source":
            source = read.data_source
            fmt = source.format.lower() if source.HasField("format") else ""
            if read.is_streaming:
                return
            if fmt != "delta" and not (fmt == "" and self._default_is_delta(walk.client)):
                return
            paths = list(source.paths) or [
                v for k, v in source.options.items() if k.lower() == "path"
            ]
            for path in paths:
                self._table_read(normalize_uri(path), source.options, walk, None, path)
        elif kind == "named_table":
            table = read.named_table
            name = table.unparsed_identifier
            if self._expand_view(name, walk):
                return
            uri = self._locate(walk.client, name)
            if uri is not None:
                self._table_read(uri, table.options, walk, name, name)

    def _table_read(
        self, uri: str, options: Any, walk: _Walk, table_name: str | None, label: str
    ) -> None:
        requested = _option_version(options)
        pin = self._pin(uri, requested, walk)
        if pin is not None and walk.rewrite:
            options["versionAsOf"] = str(pin["version"])
            walk.changed = True
        walk.reads.append(SparkRead(uri, requested, table_name, pin, label))

    def _pin(self, uri: str, requested: int | str | None, walk: _Walk) -> Pin | None:
        """The pin a read gets: none when the code names a version, nor inside a view
        created unpinned."""
        if requested is not None or not (walk.rewrite or walk.view_pinned):
            return None
        return self._sink.pin_for(uri)

    def _expand_view(self, name: str, walk: _Walk) -> bool:
        """Walk a temp view's definition where it is read (never rewritten: on a rerun the
        view was pinned when it was created)."""
        with self._lock:
            view = self._views.get(name.replace("`", "").lower())
        if view is None or walk.depth > 20:
            return view is not None
        kind, body, pinned = view
        if kind == "recorded":  # a classic DataFrame's view: its reads were recorded as built
            return True
        inner = _Walk(
            walk.client, rewrite=False, record=walk.record, depth=walk.depth + 1, view_pinned=pinned
        )
        if kind == "relation":
            self._walk(body, inner)
        else:
            self._sql(body, inner)
        walk.reads.extend(inner.reads)
        return True

    def _sql(self, query: str, walk: _Walk, top: bool = False) -> str | None:
        """Find the Delta reads of a SQL text; return the pinned text when it changed."""
        with self._lock:
            written = self._pinned_sql.get(query)
        if written is not None:  # already pinned by nbrepro: its reads are those written
            again = _Walk(walk.client, rewrite=True, record=walk.record, depth=walk.depth)
            self._sql(written, again, top=top)
            walk.reads.extend(again.reads)
            walk.writes.extend(again.writes)
            walk.record &= again.record
            walk.catalog_changed |= again.catalog_changed
            return None
        if top:
            keyword = _first_keyword(query)
            if keyword in _NO_ROWS_READ:
                # Settings, caches, listings, maintenance: nothing to record or pin, and
                # sqlglot parses several of them badly (a note would say a read was lost).
                walk.record = False
                walk.catalog_changed = True
                if keyword in ("SET", "RESET"):
                    self.settings_changed()
                return None
        try:
            import sqlglot
            from sqlglot import exp
        except ImportError:
            self._sink.note("Spark SQL reads were not recorded: install sqlglot (nbrepro[spark])")
            return None
        try:
            tree = _parse_quietly(sqlglot, query)
        except Exception as exc:  # the text may hold secrets: only the error's type is kept
            self._sink.note(
                "the Delta reads of a Spark SQL statement were not recorded: sqlglot could "
                f"not parse it ({type(exc).__name__})"
            )
            return None
        if tree is None:
            return None
        if top:
            self._classify(tree, walk)
        targets: set[int] = set()
        for node in tree.walk():
            if isinstance(
                node, (exp.Insert, exp.Create, exp.Merge, exp.Delete, exp.Update, exp.Drop)
            ):
                target = node.this
                if isinstance(target, exp.Schema):
                    target = target.this
                if isinstance(target, exp.Table):
                    targets.add(id(target))
        if isinstance(tree, exp.Merge) and isinstance(tree.args.get("using"), exp.Table):
            self._sink.note(
                "the read of a MERGE source table was not recorded: write the source as a "
                "subquery (USING (SELECT * FROM src) s) for nbrepro to record and pin it"
            )
        edits: list[tuple[int, str]] = []
        for table in tree.find_all(exp.Table):
            ident = table.this
            if id(table) in targets:
                continue
            if table.find_ancestor(exp.From, exp.Join) is None:
                continue  # DROP, DESCRIBE, ALTER, CACHE...: names a table, reads no rows
            if not isinstance(ident, exp.Identifier):
                known = isinstance(ident, exp.Anonymous) and ident.name.upper() != "IDENTIFIER"
                if not known:
                    self._sink.note(
                        "a Spark SQL read was not recorded: a table named by an expression "
                        f"({type(ident).__name__}), not a name"
                    )
                continue
            db, catalog, name = table.db, table.catalog, table.name
            if not db and not catalog and _names_a_cte(table, exp):
                continue
            if name.lower().startswith(_TEMP_VIEW_PREFIX):
                continue  # a DataFrame argument: walked as a relation of the plan
            if db.lower() == "delta" and not catalog:
                uri, table_name, label = normalize_uri(name), None, f"delta.`{name}`"
            elif db.lower() in _FILE_FORMATS and not catalog:
                continue
            else:
                parts = [p for p in (catalog, db, name) if p]
                label = ".".join(f"`{p}`" if not p.isidentifier() else p for p in parts)
                if (not db or db.lower() == "global_temp") and self._expand_view(
                    f"{db}.{name}" if db else name, walk
                ):
                    continue
                located = self._locate(walk.client, label)
                if located is None:
                    continue
                uri, table_name = located, label
            requested = _sql_version(table, exp)
            pin = self._pin(uri, requested, walk)
            if pin is not None and walk.rewrite:
                end = (ident.meta or {}).get("end")
                if end is None or query[end] not in '`"' + name[-1:]:
                    self._sink.note(
                        f"a Spark SQL read of {label} was not recorded as pinned: its "
                        "position in the text is unknown, so it read the latest version"
                    )
                    pin = None
                else:
                    edits.append((end + 1, f" VERSION AS OF {pin['version']}"))
            walk.reads.append(SparkRead(uri, requested, table_name, pin, label))
        if not edits:
            return None
        text = query
        for at, insert in sorted(edits, reverse=True):
            text = text[:at] + insert + text[at:]
        walk.changed = True
        with self._lock:
            if len(self._pinned_sql) >= 1000:  # the oldest goes first
                del self._pinned_sql[next(iter(self._pinned_sql))]
            self._pinned_sql[text] = query
        return text

    def _classify(self, tree: Any, walk: _Walk) -> None:
        """What a ``spark.sql`` statement does when sent: a query reads nothing yet."""
        from sqlglot import exp

        if isinstance(tree, exp.Query):
            walk.record = False  # analyzed now, read by the action that follows
            walk.query = True
            return
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "VIEW":
            walk.record = False
            body = tree.expression
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            if isinstance(target, exp.Table) and body is not None:
                name = target.name.lower()
                if "GLOBAL" in tree.sql(dialect="spark")[:40].upper():
                    name = f"global_temp.{name}"
                with self._lock:
                    self._views[name] = ("sql", body.sql(dialect="spark"), walk.rewrite)
            return
        ctas = isinstance(tree, exp.Create) and isinstance(tree.expression, exp.Query)
        if ctas or isinstance(tree, (exp.Insert, exp.Merge, exp.Delete, exp.Update)):
            target = tree.this.this if isinstance(tree.this, exp.Schema) else tree.this
            if isinstance(target, exp.Table):
                if target.db.lower() == "delta" and not target.catalog:
                    walk.writes.append((target.name, True, type(tree).__name__.upper()))
                else:
                    label = ".".join(p for p in (target.catalog, target.db, target.name) if p)
                    walk.writes.append((label, False, type(tree).__name__.upper()))
        if not isinstance(tree, (exp.Insert, exp.Merge, exp.Delete, exp.Update)):
            walk.catalog_changed = True

    # -- the server, for nbrepro itself -----------------------------------------------------

    def _session(self, client: Any) -> Any:
        if hasattr(client, "_jsparkSession"):  # classic: the session is its own client
            return client
        session_mod = sys.modules.get("pyspark.sql.connect.session")
        cls = getattr(session_mod, "SparkSession", None)
        if cls is None:
            return None
        for session in (cls.getActiveSession(), getattr(cls, "_default_session", None)):
            if session is not None and getattr(session, "client", None) is client:
                return session
        return None

    def _query(self, client: Any, sql: str) -> list[Any] | None:
        session = self._session(client)
        if session is None:
            return None
        self._local.internal = True
        try:
            return list(session.sql(sql).collect())
        finally:
            self._local.internal = False

    def _conf_value(self, client: Any, key: str) -> str | None:
        """A session setting, read once until a SET, RESET or conf.set/unset."""
        cache_key = (id(client), key)
        with self._lock:
            if cache_key in self._conf:
                return self._conf[cache_key]
        session = self._session(client)
        value = None
        if session is not None:
            self._local.internal = True
            try:
                # Without a default: conf.get(key, None) answers None for a setting left at
                # Spark's default (the session time zone is then the JVM's, not UTC).
                value = session.conf.get(key)
            except Exception:
                value = None
            finally:
                self._local.internal = False
        with self._lock:
            self._conf[cache_key] = value
        return value

    def settings_changed(self) -> None:
        """Forget the session settings read so far (the time zone, the default format)."""
        with self._lock:
            self._conf.clear()

    def _default_is_delta(self, client: Any) -> bool:
        value = self._conf_value(client, "spark.sql.sources.default")
        return (value or "").lower() == "delta"

    def _locate(self, client: Any, name: str, fresh: bool = False) -> str | None:
        """The normalized location of a catalog Delta table, else None (not Delta, a view,
        unknown)."""
        key = (id(client), name.lower())
        with self._lock:
            if not fresh and key in self._located:
                return self._located[key]
        uri = None
        try:
            rows = self._query(client, f"DESCRIBE TABLE EXTENDED {name}")
            if rows is None:
                self._sink.note(
                    f"a read of Spark table {name} was not recorded: its session was not found"
                )
                return None
            info = {str(r[0]).strip().lower(): r[1] for r in rows if r[0]}
            location = info.get("location")
            kind = str(info.get("type") or "").upper()
            if str(info.get("provider") or "").lower() == "delta" and location:
                uri = normalize_uri(str(location))
            elif "VIEW" in kind or kind == "TEMPORARY":
                self._sink.note(
                    f"the reads through Spark view {name} were not recorded: it was defined "
                    "where nbrepro did not see it (before %load_ext, or a persistent view)"
                )
        except Exception as exc:
            if not _is_missing_table(exc):
                self._sink.note(
                    f"a read of Spark table {name} was not recorded: no location "
                    f"({type(exc).__name__})"
                )
                return None  # not cached: it may pass next time
        with self._lock:
            self._located[key] = uri
        return uri


_WRITE_MODES = {0: None, 1: "append", 2: "overwrite", 3: "error", 4: "ignore"}
# Statements that read no table rows, by their first keyword (CACHE TABLE ... AS SELECT does).
_NO_ROWS_READ = frozenset(
    {
        "SET", "RESET", "USE", "SHOW", "DESCRIBE", "DESC", "EXPLAIN", "REFRESH", "UNCACHE",
        "CLEAR", "ADD", "LIST", "MSCK", "RESTORE", "CONVERT", "VACUUM", "OPTIMIZE",
    }
)  # fmt: skip


def _first_keyword(query: str) -> str:
    """The statement's first word, upper-case, after blanks and SQL comments."""
    text = query.lstrip()
    while text.startswith(("--", "/*")):
        if text.startswith("--"):
            _, _, text = text.partition("\n")
        else:
            _, _, text = text.partition("*/")
        text = text.lstrip()
    word = text.split(None, 1)[0] if text else ""
    return word.rstrip(";").upper()


def _sql_version(table: Any, exp: Any) -> int | str | None:
    version = table.args.get("version")
    if version is None:
        return None
    kind = str(version.this).upper()
    value = version.expression
    literal = value.this if isinstance(value, exp.Literal) else value.sql(dialect="spark")
    if kind == "VERSION":
        try:
            return int(literal)
        except ValueError:
            return str(literal)
    return f"timestamp {literal}"


def _is_missing_table(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "not found" in text or "cannot be found" in text or "table_or_view_not_found" in text


def _names_a_cte(table: Any, exp: Any) -> bool:
    """Whether a bare table name refers to a CTE in scope (a CTE never sees itself:
    ``WITH wine AS (SELECT * FROM wine)`` reads the table ``wine``)."""
    name = table.name.lower()
    node = table
    while node is not None:
        args = node.args if isinstance(node, exp.Expression) else {}
        with_ = args.get("with_") or args.get("with")  # renamed in sqlglot 27
        if with_ is not None:
            for cte in with_.expressions:
                if cte.alias_or_name.lower() == name and not _inside(table, cte):
                    return True
        node = node.parent
    return False


def _inside(node: Any, ancestor: Any) -> bool:
    while node is not None:
        if node is ancestor:
            return True
        node = node.parent
    return False


def _parse_quietly(sqlglot: Any, query: str) -> Any:
    """Parse Spark SQL; sqlglot's logger would print the statement (it may hold secrets)."""
    import logging

    logger = logging.getLogger("sqlglot")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        return sqlglot.parse_one(query, dialect="spark")
    finally:
        logger.setLevel(level)
