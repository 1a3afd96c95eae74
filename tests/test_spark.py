"""Spark Connect reads of Delta tables (nbrepro.capture.delta.spark) against a real Sail server.

Every table is written and read through Spark; versions are checked with deltalake.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from deltalake import DeltaTable

from nbrepro.capture.delta.spark import parse_timestamp, redact_remote
from nbrepro.capture.delta.tables import PinnedTableMismatch
from nbrepro.capture.delta.watcher import DeltaWatcher

pytest.importorskip("pysail")


@pytest.fixture
def watcher(spark: Any) -> Iterator[DeltaWatcher]:
    w = DeltaWatcher()
    w.install()
    yield w
    w.uninstall()


def rows(spark: Any, start: int, n: int = 2) -> Any:
    return spark.createDataFrame([(i, f"r{i}") for i in range(start, start + n)], ["x", "y"])


@pytest.fixture
def table(spark: Any, tmp_path: Path) -> Path:
    """A Delta table at v1 (2 rows, then 2 more), written with Spark."""
    path = tmp_path / "lake" / "wine"
    rows(spark, 0).write.format("delta").save(str(path))
    rows(spark, 2).write.format("delta").mode("append").save(str(path))
    return path


def reads(w: DeltaWatcher) -> list[tuple[Any, ...]]:
    keys = ("version", "requested_version", "pinned_by_user", "pinned_by_nbrepro", "table_name")
    return sorted(
        (tuple(r.get(k) for k in keys) for r in w.reads()), key=lambda t: (t[0], str(t[1:]))
    )


def test_reads_are_recorded_at_the_action_with_the_version_read(
    spark: Any, watcher: DeltaWatcher, table: Path
) -> None:
    watcher.clear()
    df = spark.read.format("delta").load(str(table))
    assert watcher.reads() == []  # load() reads nothing
    rows(spark, 4).write.format("delta").mode("append").save(str(table))  # v2, before the action
    assert df.count() == 6
    (rec,) = watcher.reads()
    assert rec["uri"] == str(table.resolve()) and rec["version"] == 2
    assert rec["via"] == "spark" and rec["latest_at_read"] and not rec["pinned_by_user"]
    assert rec["table_id"] == str(DeltaTable(str(table)).metadata().id)
    assert rec["file_fingerprint"] and rec["num_files"] == 3
    # The write was recorded too, with the version it made.
    assert [w["version"] for w in watcher.writes()] == [2]
    assert watcher.notes == []


def test_every_way_to_name_a_read(spark: Any, watcher: DeltaWatcher, table: Path) -> None:
    p = str(table)
    spark.sql(f"CREATE TABLE IF NOT EXISTS wine_ways USING delta LOCATION '{p}'")
    watcher.clear()
    assert spark.read.load(p, format="delta").count() == 4
    assert spark.read.format("DELTA").option("versionAsOf", 0).load(p).count() == 2
    assert spark.read.format("delta").options(versionasof="0").load(p).count() == 2
    assert spark.table("wine_ways").count() == 4
    assert spark.read.table("wine_ways").count() == 4
    assert spark.sql(f"SELECT * FROM delta.`{p}` VERSION AS OF 0 AS t").count() == 2
    assert spark.sql("SELECT count(*) FROM wine_ways").collect()[0][0] == 4
    got = reads(watcher)
    assert got == [
        (0, 0, True, False, None),  # versionAsOf, from options and from SQL
        (1, None, False, False, "wine_ways"),  # the catalog name is kept
    ]
    assert all(r["via"] == "spark" for r in watcher.reads())
    assert [r["reads"] for r in watcher.reads()] == [4, 3]  # in first-seen order
    ts = DeltaTable(p).history()[-1]["timestamp"]  # v0's commit, ms since the epoch
    stamp = datetime.fromtimestamp(ts / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
    watcher.clear()  # (the deltalake read just above is recorded too)
    assert spark.read.format("delta").option("timestampAsOf", stamp).load(p).count() == 2
    assert reads(watcher) == [(0, stamp, True, False, None)]  # resolved to v0, as Spark did
    assert watcher.notes == []


def test_sql_views_joins_ctes_and_reads_inside_writes(
    spark: Any, watcher: DeltaWatcher, table: Path, tmp_path: Path
) -> None:
    p = str(table)
    other = tmp_path / "lake" / "other"
    rows(spark, 10, 3).write.format("delta").save(str(other))
    watcher.clear()
    spark.read.format("delta").load(p).createOrReplaceTempView("wine_df_view")
    spark.sql(f"CREATE OR REPLACE TEMP VIEW wine_sql_view AS SELECT * FROM delta.`{other}`")
    assert watcher.reads() == []  # defining views reads nothing
    assert spark.sql("SELECT * FROM wine_df_view").count() == 4
    assert spark.table("wine_sql_view").count() == 3
    q = f"WITH a AS (SELECT x FROM delta.`{p}`) SELECT * FROM a JOIN delta.`{other}` o ON a.x = o.x"
    assert spark.sql(q).count() == 0
    out = tmp_path / "lake" / "out"
    spark.sql(f"SELECT * FROM delta.`{other}`").write.format("delta").save(str(out))
    spark.sql(f"CREATE TABLE IF NOT EXISTS wine_out USING delta LOCATION '{out}'")
    spark.sql(f"INSERT INTO wine_out SELECT * FROM delta.`{p}`")
    arg = spark.read.format("delta").load(p)
    assert spark.sql("SELECT * FROM {d} WHERE x > 0", d=arg).count() == 3
    ctas = tmp_path / "lake" / "ctas"
    spark.sql(f"CREATE TABLE wine_ctas USING delta LOCATION '{ctas}' AS SELECT * FROM delta.`{p}`")
    uris = {r["uri"] for r in watcher.reads()}
    assert uris == {str(table.resolve()), str(other.resolve())}
    assert {r["uri"]: r["reads"] for r in watcher.reads()} == {
        # the DataFrame view, the CTE, the INSERT's source, the {d} argument, the CTAS source
        str(table.resolve()): 5,
        str(other.resolve()): 3,  # the SQL view, the join, the write's source
    }
    written = [(w["uri"], w["version"]) for w in watcher.writes()]
    assert written == [(str(out.resolve()), 0), (str(out.resolve()), 1), (str(ctas.resolve()), 0)]
    assert watcher.notes == []


def test_pins_rewrite_the_request_not_the_code(
    spark: Any, watcher: DeltaWatcher, table: Path
) -> None:
    p = str(table)
    spark.sql(f"CREATE TABLE IF NOT EXISTS wine_pins USING delta LOCATION '{p}'")
    # v2 adds a column: a pinned read must not see it, in its schema either.
    wide = spark.createDataFrame([(9, "r9", 1.0)], ["x", "y", "z"])
    wide.write.format("delta").mode("append").option("mergeSchema", "true").save(p)
    table_id = str(DeltaTable(p).metadata().id)
    watcher.set_pins({p: {"version": 0, "table_id": table_id}})
    watcher.clear()
    try:
        df = spark.read.format("delta").load(p)
        assert df.columns == ["x", "y"]  # analysis is pinned too
        assert df.count() == 2
        assert spark.table("wine_pins").count() == 2
        assert spark.sql("SELECT * FROM wine_pins w WHERE w.x >= 0").count() == 2
        assert spark.sql(f"SELECT * FROM delta.`{p}`").count() == 2
        # What the code names stays as written.
        assert spark.read.format("delta").option("versionAsOf", 1).load(p).count() == 4
        assert spark.sql(f"SELECT * FROM delta.`{p}` VERSION AS OF 2").count() == 5
        spark.read.format("delta").load(p).createOrReplaceTempView("wine_pinned_view")
        assert spark.sql("SELECT * FROM wine_pinned_view").count() == 2
    finally:
        watcher.set_pins({})
    got = reads(watcher)
    # Every read that named no version was pinned and recorded: columns (analysis only,
    # not a read), count, table, SQL with an alias, SQL over the path, the view.
    assert [r["reads"] for r in watcher.reads() if r["pinned_by_nbrepro"]] == [5]
    assert watcher.notes == []
    assert got == [
        (0, None, False, True, "wine_pins"),
        (1, 1, True, False, None),
        (2, 2, True, False, None),
    ]
    # Without pins the same DataFrame reads the latest version again.
    assert spark.read.format("delta").load(p).count() == 5


def test_a_recreated_table_stops_a_pinned_read(
    spark: Any, watcher: DeltaWatcher, table: Path
) -> None:
    p = str(table)
    watcher.set_pins({p: {"version": 0, "table_id": "another-table"}})
    try:
        with pytest.raises(PinnedTableMismatch) as err:
            spark.read.format("delta").load(p).count()
    finally:
        watcher.set_pins({})
    assert p in str(err.value) and "--data latest" in str(err.value)


def test_a_read_nbrepro_cannot_follow_runs_unchanged_with_a_note(
    spark: Any, watcher: DeltaWatcher, table: Path, tmp_path: Path
) -> None:
    watcher.clear()
    missing = tmp_path / "nowhere"
    with pytest.raises(Exception) as err:
        spark.read.format("delta").load(str(missing)).count()
    assert "nbrepro" not in str(err.value)  # Spark's own error, untouched
    assert any(str(missing) in n and "not recorded" in n for n in watcher.notes)
    assert spark.sql("SELECT 1 AS one").collect()[0][0] == 1
    assert spark.range(3).count() == 3  # no Delta read: nothing recorded
    assert watcher.reads() == []


def test_the_spark_address_is_recorded_without_credentials(
    spark: Any, watcher: DeltaWatcher, sail: Any, table: Path
) -> None:
    from pyspark.sql.connect.client import DefaultChannelBuilder

    watcher.clear()
    spark.read.format("delta").load(str(table)).count()
    assert watcher.spark.remotes() == [sail.remote]
    builder = DefaultChannelBuilder(
        "sc://db.example:443/;token=dapi-SECRET;user_id=ana;x-api-key=k;pat=p;use_ssl=true"
    )
    assert redact_remote(builder) == "sc://db.example:443/;use_ssl=true;user_id=ana"


def test_timestamps_are_read_in_the_session_zone() -> None:
    assert parse_timestamp("2026-03-02 15:33:29", "UTC") == datetime(
        2026, 3, 2, 15, 33, 29, tzinfo=timezone.utc
    )
    paris = parse_timestamp("2026-03-02 16:33:29", "Europe/Paris")
    assert paris.astimezone(timezone.utc).hour == 15
    assert parse_timestamp("2026-03-02T15:33:29Z", "Asia/Tokyo").hour == 15


class _Sink:
    """What SparkWatcher records into, holding every table at v0 (a rerun)."""

    pinning = active = True

    def __init__(self) -> None:
        self.notes: list[str] = []

    def pin_for(self, uri: str) -> Any:
        return {"version": 0, "table_id": None}

    def observe(self, *args: Any, **kwargs: Any) -> None:
        pass

    def record_write(self, raw: str, mode: str | None) -> None:
        pass

    def note(self, note: str) -> None:
        self.notes.append(note)

    def emit(self, kind: str, record: Any) -> None:
        pass


@pytest.mark.parametrize(
    ("query", "pinned", "read"),
    [
        # A CTE never sees itself: the inner wine is the table, the outer one the CTE.
        (
            "WITH wine AS (SELECT * FROM wine WHERE x > 0) SELECT * FROM wine",
            "WITH wine AS (SELECT * FROM wine VERSION AS OF 0 WHERE x > 0) SELECT * FROM wine",
            ["wine"],
        ),
        ("SELECT * FROM wine w -- note", "SELECT * FROM wine VERSION AS OF 0 w -- note", ["wine"]),
        (
            "SELECT * FROM `my db`.`wine` AS w",
            "SELECT * FROM `my db`.`wine` VERSION AS OF 0 AS w",
            ["`my db`.wine"],
        ),
        ("SELECT * FROM wine VERSION AS OF 3", None, ["wine"]),  # named: as written
        ("DROP TABLE IF EXISTS wine", None, []),  # names a table, reads nothing
        ("DESCRIBE TABLE wine", None, []),
        ("SELECT * FROM range(10)", None, []),
        # Eager: CACHE TABLE ... AS SELECT reads now.
        (
            "CACHE TABLE c AS SELECT * FROM wine",
            "CACHE TABLE c AS SELECT * FROM wine VERSION AS OF 0",
            ["wine"],
        ),
        # Read no rows; sqlglot cannot parse some (a note would count a read as lost).
        ("RESET spark.sql.session.timeZone", None, []),
        ("/* zone */ SET TIME ZONE 'UTC'", None, []),
        ("RESTORE TABLE wine TO VERSION AS OF 1", None, []),
        ("CONVERT TO DELTA parquet.`/lake/p`", None, []),
    ],
)
def test_sql_pins_only_what_reads_rows(query: str, pinned: str | None, read: list[str]) -> None:
    from nbrepro.capture.delta.spark import SparkWatcher, _Walk

    sink = _Sink()
    watcher = SparkWatcher(sink)  # type: ignore[arg-type]
    watcher._locate = lambda client, name, fresh=False: f"/lake/{name}"  # type: ignore[method-assign]
    walk = _Walk(None, rewrite=True)
    assert watcher._sql(query, walk, top=True) == pinned
    assert [r.label for r in walk.reads] == read
    assert sink.notes == []


@pytest.mark.parametrize(
    "query",
    [
        "MERGE INTO t USING wine s ON t.x = s.x WHEN MATCHED THEN DELETE",
        "SELECT * FROM IDENTIFIER('wine')",
    ],
)
def test_sql_reads_nbrepro_cannot_follow_are_noted_as_unrecorded(query: str) -> None:
    from nbrepro.capture.delta.spark import SparkWatcher, _Walk
    from nbrepro.reproduce.compare.report import UNRECORDED_READ

    sink = _Sink()
    watcher = SparkWatcher(sink)  # type: ignore[arg-type]
    watcher._sql(query, _Walk(None, rewrite=True), top=True)
    assert sink.notes and all(UNRECORDED_READ.search(n) for n in sink.notes)


@pytest.mark.kernel
def test_a_capture_without_spark_shows_nothing_of_pyspark(
    kernel_factory: Any, tmp_path: Path, nbrepro_home: Path
) -> None:
    # MLflow imports pyspark when it is installed; its warnings are not the user's output.
    import pandas as pd
    from deltalake import write_deltalake

    write_deltalake(str(tmp_path / "t"), pd.DataFrame({"x": [1]}))
    k = kernel_factory(cwd=tmp_path)
    k.ok("%load_ext nbrepro")
    r = k.ok(
        f"%%repro\nfrom deltalake import DeltaTable\nDeltaTable({str(tmp_path / 't')!r}).version()"
    )
    assert "PySpark" not in r.text() and "pyspark" not in r.stderr
    # (MLflow did import it: the warning had a reason to show.)
    assert "True" in k.ok("import sys; print('pyspark.sql.connect' in sys.modules)").stdout


def test_a_changed_setting_is_read_again(spark: Any, watcher: DeltaWatcher) -> None:
    from nbrepro.capture.delta.spark import _Walk

    spark_watcher = watcher.spark
    client = spark.client
    key = "spark.sql.session.timeZone"
    spark.conf.set(key, "Europe/Paris")
    try:
        assert spark_watcher._conf_value(client, key) == "Europe/Paris"
        spark.conf.set(key, "Asia/Tokyo")  # the config RPC
        assert spark_watcher._conf_value(client, key) == "Asia/Tokyo"
        # SQL SET / RESET (Sail refuses SET on spark.* keys: the statement alone is walked).
        for statement in (f"SET {key} = 'UTC'", "RESET"):
            spark_watcher._conf_value(client, key)
            walk = _Walk(client, rewrite=False)
            assert spark_watcher._sql(statement, walk, top=True) is None
            assert spark_watcher._conf == {} and not walk.record
    finally:
        spark.conf.unset(key)


def test_a_deep_plan_is_walked(spark: Any, watcher: DeltaWatcher, table: Path) -> None:
    # A feature loop: each withColumn nests the plan one level deeper than the last (Sail
    # stops answering somewhere under 300 levels; pyspark builds plans recursively too).
    from pyspark.sql import functions as F

    df = spark.read.format("delta").load(str(table))
    for i in range(150):
        df = df.withColumn(f"c{i}", F.col("x") + i)
    watcher.clear()
    assert df.select("x").count() == 4
    assert reads(watcher) == [(1, None, False, False, None)]
    assert watcher.notes == []
