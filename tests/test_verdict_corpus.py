"""The verdict on notebooks nbrepro did not write, and on its own tricky ones.

Every case of :mod:`corpus` is run with ``nbrepro run`` (in process: papermill, a real
kernel, a real MLflow store), then re-executed with ``nbrepro rerun``, and the capture and
the report are checked against what a user expects of that notebook. The report is also
checked against the REST API's schema, as the sidebar reads it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from corpus import NBCLIENT, OWN, PAPERMILL, Case
from helpers import api_check

from nbrepro import paths
from nbrepro.errors import NbreproError
from nbrepro.reproduce.headless import run_notebook
from nbrepro.reproduce.rerun import RerunOptions, rerun

pytestmark = pytest.mark.kernel


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One store for the module: each case is its own run, and opening a store costs."""
    home = tmp_path_factory.mktemp("corpus-home")
    saved = os.environ.get("NBREPRO_HOME")
    os.environ["NBREPRO_HOME"] = str(home)
    try:
        yield paths.default_tracking_uri()
    finally:
        if saved is None:
            os.environ.pop("NBREPRO_HOME", None)
        else:
            os.environ["NBREPRO_HOME"] = saved


def check_case(case: Case, folder: Path, store: str) -> None:
    notebook = case.write(folder)
    if case.before_run:
        case.before_run(folder)
    if case.status is None:
        with pytest.raises(NbreproError, match=case.run_error):
            run_notebook(
                notebook, parameters=case.parameters, kernel_name=case.kernel, tracking_uri=store
            )
        return
    result = run_notebook(
        notebook,
        parameters=case.parameters,
        kernel_name=case.kernel,
        timeout=case.timeout,
        experiment="corpus",
        tracking_uri=store,
    )
    assert result.status == case.status, result.error
    assert (result.error is not None) == (case.status == "FAILED")
    kernel = result.record["environment"]["kernel"]
    assert kernel["name"] == (case.kernel or (case.kernelspec or {}).get("name") or "python3")
    assert kernel["installed"] and kernel["argv"] and kernel["interpreter"]
    assert result.record["run"]["parameters"] == case.parameters
    if case.params is not None:
        from mlflow import MlflowClient

        logged = MlflowClient(store).get_run(result.run_id).data.params
        assert {k: logged.get(k) for k in case.params} == case.params

    if case.before_rerun:
        case.before_rerun(folder)
    options = RerunOptions(parameters=case.rerun_parameters, ignore_volatile=case.ignore_volatile)
    if case.verdict is None:
        with pytest.raises(NbreproError, match=case.rerun_error):
            rerun(result.run_id, store, options)
        return
    report = rerun(result.run_id, store, options).report
    api_check(report, "Report")
    summary = (report["verdict"], report["differs"], report["sections"]["outputs"]["cells"])
    assert report["verdict"] == case.verdict, summary
    if case.differs is not None:
        assert report["differs"] == case.differs, summary
    reproduced = report["failure_reproduced"]
    if case.failure_reproduced:
        assert reproduced is not None and reproduced["ename"] == case.failure_reproduced, summary
    else:
        assert reproduced is None
    if case.note is not None:
        assert any(case.note in note for note in report["notes"]), report["notes"]
    if case.volatile is not None:
        assert report["volatile"]["kinds"] == case.volatile, summary
    if case.verdict == "reproduced":
        compared = report["sections"]["outputs"]["compared"]
        assert compared >= 1, "a reproduction compared nothing"


@pytest.mark.parametrize("case", OWN, ids=[c.name for c in OWN])
def test_own_tricky_notebooks(case: Case, tmp_path: Path, store: str) -> None:
    check_case(case, tmp_path, store)


@pytest.mark.parametrize("case", PAPERMILL, ids=[c.name for c in PAPERMILL])
def test_papermill_test_notebooks(case: Case, tmp_path: Path, store: str) -> None:
    check_case(case, tmp_path, store)


@pytest.mark.parametrize("case", NBCLIENT, ids=[c.name for c in NBCLIENT])
def test_nbclient_test_notebooks(case: Case, tmp_path: Path, store: str) -> None:
    check_case(case, tmp_path, store)


def test_repro_cell_options_name_the_headless_run(tmp_path: Path, store: str) -> None:
    from mlflow import MlflowClient

    case = Case(
        "cell-options",
        cells=[
            "%%repro --experiment from-cell --name seeded-fit --seed 3 --tag owner=ana\n"
            "import random\nprint(random.random())",
            "%%repro --name another-name\nprint('second')",
        ],
    )
    result = run_notebook(case.write(tmp_path), tracking_uri=store)
    run = MlflowClient(store).get_run(result.run_id)
    assert result.experiment_name == "from-cell"
    assert run.info.run_name == "seeded-fit"
    assert run.data.tags["owner"] == "ana" and run.data.tags["nbrepro.seed"] == "3"
    assert result.record["run"]["seed"] == 3
    assert any("another-name" in w for w in result.record["warnings"])
    # The command line wins over the cell.
    named = run_notebook(case.write(tmp_path), tracking_uri=store, run_name="from-cli")
    assert MlflowClient(store).get_run(named.run_id).info.run_name == "from-cli"
    # The seed came back with the replayed cell: the random number reproduces.
    assert rerun(result.run_id, store, RerunOptions()).report["verdict"] == "reproduced"


def test_load_ext_nbrepro_says_nothing_in_the_kernels_nbrepro_starts(
    tmp_path: Path, store: str
) -> None:
    import nbformat

    case = Case("load-ext", cells=["%load_ext nbrepro", "print('trained')"])
    ran = tmp_path / "ran.ipynb"
    result = run_notebook(case.write(tmp_path), tracking_uri=store, output=ran)
    done = rerun(result.run_id, store, RerunOptions(output=str(tmp_path / "rerun.ipynb")))
    assert done.report["verdict"] == "reproduced"
    for path in (ran, done.output_path):
        cells = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
        load = next(c for c in cells if c.source == "%load_ext nbrepro")
        assert load.outputs == [], (path, load.outputs)  # no "already loaded"
