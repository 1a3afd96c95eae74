"""How long a `%%repro` cell is held when its tracking store fails mid-capture.

A real kernel captures to a real `mlflow server` behind a proxy on 127.0.0.1. Each
sample is the time the capture held the cell (the cell's time less its body's), the
part a failing store could stretch: with a healthy store (the baseline), with the server
killed during the body, with the server hanging (accepting connections, never
answering) from the middle of the body, and with a store that never answers at all.
The store timeout is nbrepro's default (10 s); the ratio is the longest hold over it.
"""

from __future__ import annotations

import os
import signal
import statistics
from pathlib import Path

from benchmarks.common import Result
from nbrepro.store.tracking import DEFAULT_STORE_TIMEOUT_S
from nbrepro.testing import Kernel, MlflowServer, StoreProxy, held_by_capture


def _held(k: Kernel, body: str) -> float:
    reply, held = held_by_capture(k, f"%%repro --name faults\n{body}")
    assert reply.status == "ok", reply.text()
    return held


def run(workdir: Path, repeats: int = 3) -> list[Result]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = MlflowServer(workdir / "server")
    server.start()
    proxy = StoreProxy(server.uri).start()
    k = Kernel(workdir, {**os.environ, "MLFLOW_TRACKING_URI": proxy.uri})
    held: dict[str, list[float]] = {"healthy": [], "killed": [], "hanging": [], "silent": []}
    try:
        k.ok("%load_ext nbrepro")
        k.ok("%config ReproMagics.show_summary = False")
        _held(k, "x = 1")  # first capture: imports and store set-up, not measured
        for _ in range(repeats):
            held["healthy"].append(_held(k, "x = 1"))
            held["hanging"].append(
                _held(k, f"import requests\nrequests.get('{proxy.uri}{proxy.HANG_PATH}')")
            )
            proxy.answer_again()
            assert server.proc is not None
            pid = server.proc.pid
            held["killed"].append(
                _held(
                    k,
                    f"import os, requests, time\nos.killpg({pid}, {int(signal.SIGKILL)})\n"
                    "for _ in range(100):\n"
                    "    try:\n"
                    f"        requests.get('{server.uri}/health', timeout=0.5)\n"
                    "        time.sleep(0.1)\n"
                    "    except requests.RequestException:\n"
                    "        break",
                )
            )
            server.proc.wait(timeout=30)
            server.proc = None
            server.start()
            proxy.hang = True
            held["silent"].append(_held(k, "x = 1"))
            proxy.answer_again()
    finally:
        k.shutdown()
        proxy.stop()
        server.stop()
    base = statistics.median(held["healthy"])
    bound = DEFAULT_STORE_TIMEOUT_S
    results = []
    for key, label in (
        ("killed", "server killed during the body"),
        ("hanging", "server hanging from the middle of the body"),
        ("silent", "store that never answers"),
    ):
        worst = max(held[key])
        results.append(
            Result(
                f"cell held by a failing store: {label} (longest of {repeats}) / store timeout",
                f"{worst:.1f} s",
                f"{base:.2f} s healthy",
                worst / bound,
                "<= 1.0",
                worst <= bound,
                notes="The cell's time less its body's; the capture is "
                "spooled with one warning and `nbrepro sync` completes it. The baseline is the "
                f"same capture on the healthy server; the bound is the default store timeout "
                f"({bound:g} s, `NBREPRO_STORE_TIMEOUT` or `%config ReproMagics.store_timeout`).",
            )
        )
    return results
