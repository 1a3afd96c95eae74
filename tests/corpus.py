"""Notebooks with the traps real notebooks have, and the verdict each must get.

Three sources: nbrepro's own tricky notebooks (below, one per verdict rule that could go
wrong), papermill's test notebooks (shipped in its wheel) and nbclient's (copied into
``tests/notebooks/nbclient``). Each :class:`Case` says how to run it, what the capture
must say (status), and what a rerun must conclude.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import papermill

PAPERMILL_NOTEBOOKS = Path(papermill.__file__).parent / "tests" / "notebooks"
NBCLIENT_NOTEBOOKS = Path(__file__).parent / "notebooks" / "nbclient"

NOTHING = "Nothing could be compared"
PYTHON3 = {"name": "python3", "display_name": "Python 3", "language": "python"}


@dataclass
class Case:
    """One notebook, how to run it, and what must come out.

    Attributes:
        status: the captured run's status; None when ``nbrepro run`` must refuse it
            before running (``run_error`` is then in the message).
        verdict: the rerun's verdict; None when the rerun must refuse (``rerun_error``).
        differs: the report's ``differs`` list, when it matters.
        failure_reproduced: ``ename`` of the original's failure the rerun reproduced.
        volatile: the kinds of volatile values that explain the difference.
        before_run / before_rerun: change the world between the steps (files, data).
    """

    name: str
    source: Path | None = None
    cells: list[Any] = field(default_factory=list)
    kernelspec: dict[str, str] | None = field(default_factory=lambda: dict(PYTHON3))
    parameters: dict[str, Any] = field(default_factory=dict)
    kernel: str | None = None
    timeout: int | None = None
    status: str | None = "FINISHED"
    run_error: str = ""
    rerun_parameters: dict[str, Any] = field(default_factory=dict)
    ignore_volatile: bool = False
    verdict: str | None = "reproduced"
    rerun_error: str = ""
    differs: list[str] | None = None
    failure_reproduced: str | None = None
    volatile: list[str] | None = None
    params: dict[str, str] | None = None
    note: str | None = None
    before_run: Callable[[Path], None] | None = None
    before_rerun: Callable[[Path], None] | None = None

    def write(self, folder: Path) -> Path:
        """The notebook, in ``folder`` (with any file it reads next to it)."""
        if self.source is not None:
            target = folder / self.source.name
            shutil.copy(self.source, target)
            for extra in ("python.png",):
                if (self.source.parent / extra).exists():
                    shutil.copy(self.source.parent / extra, folder / extra)
            return target
        nb = nbformat.v4.new_notebook()
        if self.kernelspec is not None:
            nb.metadata["kernelspec"] = dict(self.kernelspec)
        for cell in self.cells:
            source, tags = (cell, []) if isinstance(cell, str) else cell
            node = nbformat.v4.new_code_cell(source)
            if tags:
                node.metadata["tags"] = list(tags)
            nb.cells.append(node)
        target = folder / f"{self.name}.ipynb"
        nbformat.write(nb, str(target))
        return target


def _touch(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_text("x")


def _remove(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).unlink()


WORDS = [f"w{i:02d}-{c}" for i, c in enumerate("abcdefghijklmnopqrstuvwxyz")]

# nbrepro's own: one per verdict rule that could be wrong.
OWN: list[Case] = [
    Case("seeded-random", cells=["import random\nrandom.seed(7)\nprint(random.random())"]),
    Case(
        "unseeded-random",
        cells=["import random\nprint(random.random())"],
        verdict="differs",
        differs=["outputs"],
        volatile=[],
    ),
    # The value printed is a result: a timestamp is compared, and labelled volatile.
    Case(
        "wall-clock",
        cells=["import datetime\nprint('trained at', datetime.datetime.now())"],
        verdict="differs",
        differs=["outputs"],
        volatile=["times"],
    ),
    Case(
        "wall-clock-ignored",
        cells=["import datetime\nprint('trained at', datetime.datetime.now())"],
        ignore_volatile=True,
    ),
    # `nbrepro run` fixes the hash seed and rerun restores it: sets of strings replay.
    # (Captured in a kernel that hashes at random, the rerun differs: test_rerun.)
    Case("set-ordering", cells=[f"print(set({WORDS!r}))"]),
    # The run `nbrepro run` opened is active once mlflow is imported (models link to it);
    # a notebook's own start_run() resumes it as it would without nbrepro.
    Case(
        "own-start-run",
        cells=[
            "import mlflow\nwith mlflow.start_run() as r:\n    mlflow.log_metric('m', 1.0)",
            "mlflow.log_metric('after', 2.0)\nprint('done', mlflow.active_run() is not None)",
        ],
    ),
    # stderr is compared: a loss logged with `logging` is a result.
    Case(
        "logging-random-loss",
        cells=[
            "import logging, random\nlogging.basicConfig(level=logging.INFO, force=True)\n"
            "logging.info('loss=%.6f', random.random())"
        ],
        verdict="differs",
        differs=["outputs"],
    ),
    Case(
        "logging-seeded-loss",
        cells=[
            "import logging, random\nrandom.seed(3)\n"
            "logging.basicConfig(level=logging.INFO, force=True)\n"
            "logging.info('loss=%.6f', random.random())"
        ],
    ),
    # Noise on stderr does not count: warnings, progress bars, addresses, temp paths.
    Case(
        "noise-only",
        cells=[
            "import warnings, random, sys, tempfile\n"
            # A library's warning (a notebook's own warnings are its output).
            "warnings.warn_explicit(f'varies: {random.random()}', UserWarning, "
            "'/site-packages/lib/core.py', 12)\n"
            "for i in range(3):\n    print(f'\\r{i * 50}%|##   | {i}/2 [00:0{i}<00:00, "
            "{random.random():.2f}it/s]', end='', file=sys.stderr)\n"
            "print(file=sys.stderr)\nprint(object())\nprint(tempfile.mkdtemp())\nprint('rmse=0.25')"
        ],
    ),
    Case(
        "timeit",
        cells=["%timeit -n 20 -r 2 sum(range(1000))"],
        verdict="differs",
        differs=["outputs"],
        volatile=["durations"],
    ),
    Case(
        "image-deterministic",
        cells=[
            "%matplotlib inline\nimport matplotlib.pyplot as plt\n"
            "plt.plot([1, 2, 3], [3, 1, 2]); plt.show()"
        ],
    ),
    Case(
        "image-random",
        cells=[
            "%matplotlib inline\nimport matplotlib.pyplot as plt, random\n"
            "plt.plot([random.random() for _ in range(5)]); plt.show()"
        ],
        verdict="differs",
        differs=["outputs"],
    ),
    Case(
        "widgets",
        cells=["import ipywidgets\ndisplay(ipywidgets.IntSlider(value=3))\nprint('shown')"],
    ),
    Case(
        "metric-random",
        cells=["import mlflow, random\nmlflow.log_metric('loss', random.random())"],
        verdict="differs",
        differs=["metrics"],
    ),
    # Kernels: none named, and one that does not exist here.
    Case(
        "no-kernelspec",
        cells=["print(sum(range(10)))"],
        kernelspec=None,
        status=None,
        run_error="names no kernel",
    ),
    Case(
        "no-kernelspec-with-k", cells=["print(sum(range(10)))"], kernelspec=None, kernel="python3"
    ),
    Case(
        "kernel-python-root",
        cells=["print(1)"],
        kernelspec={"name": "Python [Root]", "display_name": "Python [Root]", "language": "python"},
        status=None,
        run_error="not installed here",
    ),
    Case(
        "kernel-python-root-with-k",
        cells=["print(1)"],
        kernelspec={"name": "Python [Root]", "display_name": "Python [Root]", "language": "python"},
        kernel="python3",
    ),
    # papermill parameters: logged as params, replayed, compared as params (not code).
    Case(
        "parameters",
        cells=[("seed = 1\nalpha = 0.5", ["parameters"]), "print(f'seed={seed} alpha={alpha}')"],
        parameters={"seed": 7, "alpha": 0.25},
        params={"seed": "7", "alpha": "0.25"},
    ),
    Case(
        "parameters-overridden",
        cells=[("seed = 1", ["parameters"]), "print(f'seed={seed}')", "print('last cell')"],
        parameters={"seed": 7},
        rerun_parameters={"seed": 8},
        verdict="differs",
        differs=["params", "outputs"],
    ),
    Case(
        "parameters-without-cell",
        cells=["print(f'msg={msg}')"],
        parameters={"msg": "hello"},
    ),
    # Failures: read from the kernel's reply, reproduced or not, and new ones.
    Case(
        "assert-fails",
        cells=["x = 1", "assert x == 2, 'x is not 2'", "print('not reached')"],
        status="FAILED",
        failure_reproduced="AssertionError",
    ),
    Case(
        "missing-line-magic",
        cells=["%this-magic-does-not-exist", "print('not reached')"],
        status="FAILED",
        failure_reproduced="UsageError",
    ),
    Case(
        "kernel-dies",
        cells=["import os, signal\nprint('bye', flush=True)\nos.kill(os.getpid(), signal.SIGKILL)"],
        status="FAILED",
        failure_reproduced="DeadKernelError",
    ),
    Case(
        "tagged-error-continues",
        cells=[("raise ValueError('expected')", ["raises-exception"]), "print('after')"],
    ),
    # A last cell expected to raise ends neither the original nor the rerun.
    Case(
        "tagged-error-last",
        cells=["print('before')", ("raise ValueError('shown on purpose')", ["raises-exception"])],
    ),
    Case("sys-exit-zero", cells=["import sys\nprint('done')\nsys.exit(0)", "print('skipped')"]),
    Case(
        "failure-does-not-reproduce",
        cells=["import os\nassert not os.path.exists('broken.flag'), 'broken'"],
        status="FAILED",
        before_run=_touch("broken.flag"),
        before_rerun=_remove("broken.flag"),
        verdict="differs",
        differs=["outputs"],
    ),
    Case(
        "new-failure",
        cells=["print(open('input.txt').read())"],
        before_run=_touch("input.txt"),
        before_rerun=_remove("input.txt"),
        verdict="failed",
    ),
    Case(
        "timeout",
        cells=["import time\ntime.sleep(60)"],
        timeout=2,
        status="FAILED",
        failure_reproduced="CellTimeoutError",
    ),
    Case(
        "empty",
        cells=[""],
        verdict=None,
        rerun_error="executed no code",
    ),
]


def _papermill(name: str, file: str | None = None, **kwargs: Any) -> Case:
    return Case(name, source=PAPERMILL_NOTEBOOKS / f"{file or name}.ipynb", **kwargs)


# papermill's own test notebooks: failing ones fail as papermill fails them.
PAPERMILL: list[Case] = [
    _papermill("binder", status="FAILED", failure_reproduced="CalledProcessError"),
    _papermill(
        "blank-vscode", kernelspec=None, kernel="python3", verdict=None, rerun_error="no code"
    ),
    _papermill("broken", status="FAILED", failure_reproduced="SyntaxError"),
    _papermill("broken1", status="FAILED", failure_reproduced="AssertionError"),
    # IPython 9 moved `display` out of IPython.core.display: it fails before its assert.
    _papermill("broken2", status="FAILED", failure_reproduced="ImportError"),
    # Written for papermill's parameter inspection: its parameters cell ends in "= 2".
    _papermill(
        "complex_parameters",
        parameters={"msg": "hi", "a": 3.5, "b": ["x", "y"]},
        params={"msg": "hi", "a": "3.5", "b": '["x", "y"]'},
        status="FAILED",
        failure_reproduced="SyntaxError",
    ),
    _papermill(
        "keyboard_interrupt", timeout=2, status="FAILED", failure_reproduced="CellTimeoutError"
    ),
    _papermill("line_magic_error", status="FAILED", failure_reproduced="UsageError"),
    _papermill("nb_version_4.4", parameters={"var": 5}, params={"var": "5"}),
    _papermill("no_parameters", parameters={"msg": "no cell tagged"}),
    _papermill("notimplemented_translator", status=None, run_error="not installed here"),
    _papermill("read_check", before_run=_touch("check.txt")),
    _papermill(
        "read_check-no-file", "read_check", status="FAILED", failure_reproduced="AssertionError"
    ),
    _papermill("report_mode_test", parameters={"a": 2, "b": 40}),
    # Only a parameters cell: it shows nothing, and its params are its input.
    _papermill(
        "result_no_exec", parameters={"foo": 2, "bar": "world"}, verdict="failed", note=NOTHING
    ),
    _papermill("simple_execute", parameters={"msg": "Hello"}, params={"msg": "Hello"}),
    _papermill("sysexit"),
    _papermill("sysexit0"),
    _papermill("sysexit1", status="FAILED", failure_reproduced="SystemExit"),
    _papermill("systemexit"),
    # Its kernelspec names "python", which no kernel is called here.
    _papermill("test_autosave", status=None, run_error="not installed here"),
    _papermill("test_autosave-with-k", "test_autosave", kernel="python3"),
    _papermill("test_logging", status="FAILED", failure_reproduced="ModuleNotFoundError"),
    _papermill("test_notebooknode_io"),
]


def _nbclient(name: str, **kwargs: Any) -> Case:
    return Case(name, source=NBCLIENT_NOTEBOOKS / f"{name}.ipynb", **kwargs)


NBCLIENT: list[Case] = [
    _nbclient("Autokill", status="FAILED", failure_reproduced="DeadKernelError"),
    # nbclient starts kernels with their history in memory, as the notebook checks. It
    # shows nothing, so nothing can be compared: never "reproduced".
    _nbclient("Check History in Memory", kernel="python3", verdict="failed", note=NOTHING),
    _nbclient("Clear Output"),
    _nbclient(
        "Disable Stdin",
        kernel="python3",
        status="FAILED",
        failure_reproduced="StdinNotImplementedError",
    ),
    _nbclient("Empty Cell"),
    _nbclient("Error", status="FAILED", failure_reproduced="ZeroDivisionError"),
    _nbclient("Factorials", kernel="python3"),
    _nbclient("HelloWorld", kernel="python3"),
    _nbclient("Inline Image", kernel="python3"),
    _nbclient(
        "Interrupt",
        kernel="python3",
        timeout=2,
        status="FAILED",
        failure_reproduced="CellTimeoutError",
    ),
    # A widget view is a snapshot of state, not a result, and it shows nothing else.
    _nbclient("JupyterWidgets", verdict="failed", note=NOTHING),
    # Plain papermill hangs on it (nbclient waits for an Output widget forever): a
    # timeout ends the wait, and the rerun uses the recorded one.
    _nbclient("Output", kernel="python3", timeout=5),
    _nbclient("SVG", kernel="python3"),
    _nbclient("Skip Exceptions with Cell Tags"),
    _nbclient("Skip Exceptions", kernel="python3", status="FAILED", failure_reproduced="Exception"),
    # utcnow() printed: the output changed, and the report says it is a time.
    _nbclient("Sleep1s", verdict="differs", differs=["outputs"], volatile=["times"]),
    _nbclient("Unicode", kernel="python3"),
    _nbclient("update-display-id", kernel="python3"),
]
