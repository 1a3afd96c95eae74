"""Spark Connect reads of Delta tables (a local Sail server) with capture active over inactive,
and the server requests a read costs: plain, captured, pinned."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import Result, median_ms
from nbrepro.capture.delta.watcher import DeltaWatcher


def _alternate(read: Callable[[], Any], watcher: DeltaWatcher, repeats: int) -> tuple[float, float]:
    """Median seconds of ``read`` with the watcher installed and not, alternating."""
    on, off = [], []
    for _ in range(3):
        read()
    for _ in range(repeats):  # alternate so drift on a shared machine affects both alike
        watcher.install()
        t = time.perf_counter()
        read()
        on.append(time.perf_counter() - t)
        watcher.uninstall()
        t = time.perf_counter()
        read()
        off.append(time.perf_counter() - t)
    return median_ms(on), median_ms(off)


class _Requests:
    """Counts the requests a client sends the server (executions and analyses)."""

    def __init__(self, client: Any) -> None:
        self.count = 0
        stub = client._stub
        for name in ("ExecutePlan", "AnalyzePlan"):
            setattr(stub, name, self._counted(getattr(stub, name)))

    def _counted(self, call: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            self.count += 1
            return call(*args, **kwargs)

        return counted


def run(workdir: Path, repeats: int = 30) -> list[Result]:
    try:
        import pysail  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError:
        return [Result("Spark read", "skipped", "-", None, "-", None, "pip install nbrepro[spark]")]
    import pandas as pd
    from pyspark.sql import SparkSession

    from nbrepro.cli.sail import SailServer

    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    with SailServer(workdir) as sail:
        spark = SparkSession.builder.remote(sail.remote).getOrCreate()
        try:
            big, small = workdir / "big", workdir / "small"
            n = 100_000
            frame = pd.DataFrame({"id": range(n), "x": [i * 0.5 for i in range(n)]})
            spark.createDataFrame(frame).write.format("delta").save(str(big))
            spark.createDataFrame(frame.head(3)).write.format("delta").save(str(small))
            spark.sql(f"CREATE TABLE small USING delta LOCATION '{small}'")
            watcher = DeltaWatcher()

            def read_big() -> Any:
                return spark.read.format("delta").load(str(big)).toPandas()

            def read_small() -> Any:
                return spark.read.format("delta").load(str(small)).toPandas()

            on, off = _alternate(read_big, watcher, repeats)
            results.append(
                Result(
                    "Spark read of a 100,000-row Delta table, capture active / inactive",
                    f"{on:.1f} ms",
                    f"{off:.1f} ms",
                    on / off,
                    "<= 1.05",
                    on / off <= 1.05,
                )
            )
            on, off = _alternate(read_small, watcher, repeats * 2)
            results.append(
                Result(
                    "Spark read of a 3-row Delta table, capture active / inactive",
                    f"{on:.1f} ms",
                    f"{off:.1f} ms",
                    on / off,
                    "report",
                    None,
                    f"capture costs {on - off:.2f} ms per read",
                )
            )

            requests = _Requests(spark.client)
            reads: list[tuple[str, Callable[[], Any]]] = [
                ("path", read_small),
                ("catalog", lambda: spark.table("small").toPandas()),
                ("SQL", lambda: spark.sql(f"SELECT * FROM delta.`{small}`").toPandas()),
            ]
            counts = {}
            for label, read in reads:
                for mode in ("plain", "captured", "pinned"):
                    if mode != "plain":
                        watcher.install()
                    if mode == "pinned":
                        watcher.set_pins({str(small): {"version": 0, "table_id": None}})
                    read()  # a catalog table is located once per session, here
                    requests.count = 0
                    read()
                    counts[(label, mode)] = requests.count
                    watcher.set_pins({})
                    watcher.uninstall()
            extra = max(
                counts[(name, m)] - counts[(name, "plain")]
                for name, _ in reads
                for m in ("captured", "pinned")
            )
            detail = ", ".join(
                f"{label} {counts[(label, 'plain')]}/{counts[(label, 'captured')]}/{counts[(label, 'pinned')]}"
                for label, _ in reads
            )
            results.append(
                Result(
                    "Server requests per Spark read: plain / captured / pinned",
                    detail,
                    "plain",
                    None,
                    "no extra request",
                    extra == 0,
                    "a catalog table's location is looked up once per session (one DESCRIBE)",
                )
            )
        finally:
            spark.stop()
    return results
