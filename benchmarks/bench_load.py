"""`%load_ext nbrepro` over `import mlflow`, each in fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.common import Result

LOAD = (
    "import time\nfrom IPython.core.interactiveshell import InteractiveShell\n"
    "shell = InteractiveShell.instance()\n"
    "t = time.perf_counter()\nshell.run_line_magic('load_ext', 'nbrepro')\n"
    "print(time.perf_counter() - t)"
)
MLFLOW = "import time\nt = time.perf_counter()\nimport mlflow\nprint(time.perf_counter() - t)"


def _time(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def run(workdir: Path, repeats: int = 7) -> list[Result]:
    load, mlflow = [], []
    for _ in range(repeats):  # interleaved so machine load hits both alike
        load.append(_time(LOAD))
        mlflow.append(_time(MLFLOW))
    load.sort()
    mlflow.sort()
    lm, mm = load[len(load) // 2], mlflow[len(mlflow) // 2]
    ratio = lm / mm
    return [
        Result(
            "load_ext nbrepro / import mlflow",
            f"{lm * 1000:.0f} ms",
            f"{mm * 1000:.0f} ms",
            ratio,
            "<= 0.1",
            ratio <= 0.1,
            notes=json.dumps({"load_ms": [round(x * 1000) for x in load]}),
        )
    ]
