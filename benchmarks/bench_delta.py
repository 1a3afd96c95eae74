"""Reading a 20-file Delta table with capture active over inactive."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from deltalake import DeltaTable, write_deltalake

from benchmarks.common import Result, median_ms
from nbrepro.capture.delta.watcher import DeltaWatcher


def make_table(path: Path, files: int = 20, rows: int = 5000) -> None:
    for i in range(files):
        df = pd.DataFrame({"id": range(i * rows, (i + 1) * rows), "v": [float(i)] * rows})
        write_deltalake(str(path), df, mode="append")


def run(workdir: Path, repeats: int = 60) -> list[Result]:
    table = workdir / "t20"
    make_table(table)
    watcher = DeltaWatcher()
    on, off = [], []

    def read() -> float:
        t = time.perf_counter()
        DeltaTable(str(table)).to_pyarrow_table()
        return time.perf_counter() - t

    for _ in range(5):
        read()
    for _ in range(repeats):  # alternate so drift affects both sides alike
        watcher.install()
        on.append(read())
        watcher.uninstall()
        off.append(read())
    ratio = median_ms(on) / median_ms(off)
    return [
        Result(
            "Delta read (20 files), capture active / inactive",
            f"{median_ms(on):.2f} ms",
            f"{median_ms(off):.2f} ms",
            ratio,
            "<= 1.05",
            ratio <= 1.05,
        )
    ]
