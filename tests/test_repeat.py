"""`nbrepro rerun --repeat N`: reruns under the same pins and environment compared with each
other, so that a notebook that never answers the same twice is told apart from one whose
inputs changed (real kernels, a real store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import api_check, nbrepro_cli, rerun_json, write_notebook

pytestmark = pytest.mark.kernel


def _run(nb: Path) -> str:
    res = nbrepro_cli("run", str(nb), "-e", "repeat", "--json")
    assert res.returncode == 0, res.stderr
    return str(json.loads(res.stdout)["run_id"])


def test_reruns_that_disagree_name_the_first_cell_where_they_do(
    tmp_path: Path, nbrepro_home: Path
) -> None:
    nb = write_notebook(
        tmp_path / "noisy.ipynb",
        [
            ("setup", "import random\nprint('loaded')"),
            ("draw", "x = random.random()\nprint(round(x, 6))"),
            ("after", "print('positive', x >= 0)"),
        ],
    )
    code, report = rerun_json(_run(nb), "--repeat", "2")
    assert code == 1 and report["verdict"] == "differs", report["notes"]
    api_check(report, "Report")
    repeat = report["repeat"]
    assert len(repeat["runs"]) == 2 and report["run_id"] in repeat["runs"]
    assert repeat["agree"] is False and repeat["verdicts"] == ["differs", "differs"]
    assert repeat["first_divergence"]["label"] == "In [2] (cell 2)"
    assert any("unseeded random numbers" in c for c in repeat["likely_causes"])
    assert any("nondeterministic" in n and "In [2] (cell 2)" in n for n in report["notes"])

    res = nbrepro_cli("rerun", report["reproduces"], "--repeat", "2")
    assert "NONDETERMINISTIC: its 2 reruns disagree from In [2] (cell 2)" in res.stdout


def test_one_rerun_that_reproduced_among_others_that_did_not_is_no_reproduction(
    tmp_path: Path, nbrepro_home: Path
) -> None:
    """The first rerun gives the original's answer, the second another (a counter kept
    next to the notebook): the report told is the one that differs, and the reruns
    disagree, without a usual cause in the code."""
    counter = (
        "from pathlib import Path\np = Path('count.txt')\n"
        "n = int(p.read_text()) if p.exists() else 0\np.write_text(str(n + 1))\n"
        "print('early', n < 2)"
    )
    nb = write_notebook(tmp_path / "counter.ipynb", [("count", counter)])
    original = _run(nb)
    code, report = rerun_json(original, "--repeat", "2")
    assert code == 1 and report["verdict"] == "differs", report["notes"]
    assert report["repeat"]["verdicts"] == ["reproduced", "differs"]
    assert report["run_id"] == report["repeat"]["runs"][1]
    assert report["repeat"]["likely_causes"] == []
    from mlflow import MlflowClient

    from nbrepro import paths

    tags = MlflowClient(paths.default_tracking_uri()).get_run(original).data.tags
    assert tags["nbrepro.last_verdict"] == "differs"
    assert tags["nbrepro.last_rerun"] == report["run_id"]


def test_reruns_that_agree_say_so(tmp_path: Path, nbrepro_home: Path) -> None:
    nb = write_notebook(
        tmp_path / "steady.ipynb",
        [("seeded", "import random\nrandom.seed(3)\nprint(random.random())")],
    )
    code, report = rerun_json(_run(nb), "--repeat", "2")
    assert code == 0 and report["verdict"] == "reproduced"
    assert report["repeat"]["agree"] is True and report["repeat"]["first_divergence"] is None
    assert any("reruns agree with each other" in n for n in report["notes"])
    code, bad = rerun_json(report["reproduces"], "--repeat", "0")
    assert code == 2 and "--repeat" in bad["error"], bad
