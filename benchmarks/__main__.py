"""Run every benchmark: ``python -m benchmarks [--write docs/benchmarks.md] [--only NAME]``."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
from pathlib import Path

from benchmarks import (
    bench_capture,
    bench_delta,
    bench_faults,
    bench_load,
    bench_rerun,
    bench_rest,
    bench_runs_list,
    bench_session,
    bench_spark,
    bench_team,
)
from benchmarks.common import Result

SUITES = {
    "load": bench_load.run,
    "delta": bench_delta.run,
    "capture": bench_capture.run,
    "rest": bench_rest.run,
    "rerun": bench_rerun.run,
    "runs_list": bench_runs_list.run,
    "faults": bench_faults.run,
    "spark": bench_spark.run,
    "team": bench_team.run,
    "session": bench_session.run,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--write", type=Path, default=None, help="Write results as Markdown.")
    parser.add_argument("--only", choices=sorted(SUITES), action="append", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nbrepro-bench-") as tmp:
        os.environ["NBREPRO_HOME"] = str(Path(tmp) / "home")
        os.environ.pop("MLFLOW_TRACKING_URI", None)
        for name in ("JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
            os.environ[name] = str(Path(tmp) / name.lower())
        results: list[Result] = []
        for name in args.only or list(SUITES):
            print(f"== {name}", flush=True)
            for result in SUITES[name](Path(tmp) / name):
                print(result.line(), flush=True)
                results.append(result)
    if args.write:
        previous = args.write.read_text("utf-8") if args.only and args.write.exists() else ""
        args.write.write_text(render(results, previous), "utf-8")
        print(f"wrote {args.write}")


def render(results: list[Result], previous: str = "") -> str:
    """The Markdown page; with ``previous``, rows of benchmarks not re-run are kept."""
    names = {r.name for r in results}
    kept_rows = [
        line
        for line in previous.splitlines()
        if line.startswith("| ")
        and not line.startswith(("| benchmark ", "|---"))
        and line.split(" | ")[0][2:] not in names
    ]
    kept_notes = [
        line
        for line in previous.splitlines()
        if line.startswith("- **") and line[4:].split("**:")[0] not in names
    ]
    # What the page says between its "Latest run" line and the table (written by hand:
    # which rows come from which run, where the time goes) is kept as it is.
    prose: list[str] = []
    if previous and "\nLatest run: " in previous and "\n| benchmark " in previous:
        head = previous.split("\n| benchmark ", 1)[0].split("\nLatest run: ", 1)[1]
        prose = head.split("\n", 1)[1].strip("\n").splitlines() if "\n" in head else []
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmarks",
        "",
        "Run with `make bench` (`python -m benchmarks --write docs/benchmarks.md`). Every figure is a",
        "ratio against a baseline measured in the same run, on the same machine, interleaved, so the",
        "noise of a shared machine cancels out; medians of repeated measurements.",
        "",
        f"Latest run: {now}, Python {platform.python_version()}, {os.cpu_count()} cores.",
        "",
        *([*prose, ""] if prose else []),
        "| benchmark | measured | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    lines.extend(kept_rows)
    for r in results:
        lines.append(r.row())
    lines.append("")
    lines.extend(kept_notes)
    for r in results:
        if r.notes:
            lines.append(f"- **{r.name}**: {r.notes}")
    lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
