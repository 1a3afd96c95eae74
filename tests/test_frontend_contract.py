"""The JupyterLab extension and the Python package agree: version, packaging, settings.

The TypeScript types' freshness against nbrepro/schema/*.json is checked by Jest
(labextension/__tests__/api-types.spec.ts), which has Node at hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nbrepro

ROOT = Path(__file__).resolve().parent.parent


def _package_json() -> dict:
    return json.loads((ROOT / "package.json").read_text("utf-8"))


def test_npm_and_python_versions_are_equal() -> None:
    assert _package_json()["version"] == nbrepro.__version__


def test_the_wheel_installs_the_built_extension_under_the_npm_name() -> None:
    tomllib = pytest.importorskip("tomllib")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    package = _package_json()
    output = package["jupyterlab"]["outputDir"]
    shared = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["shared-data"]
    assert shared[output] == f"share/jupyter/labextensions/{package['name']}"
    assert shared["install.json"] == f"share/jupyter/labextensions/{package['name']}/install.json"
    install = json.loads((ROOT / "install.json").read_text("utf-8"))
    assert install["packageName"] == pyproject["project"]["name"]
    assert any(dep.startswith("jupyterlab") for dep in pyproject["project"]["dependencies"])


def test_settings_schema_names_every_setting_the_sidebar_reads() -> None:
    schema = json.loads((ROOT / "schema" / "plugin.json").read_text("utf-8"))
    properties = schema["properties"]
    assert set(properties) == {
        "trackingUri",
        "defaultExperiment",
        "mlflowUiAddress",
        "rerunEnv",
        "rerunData",
        "headlineMetric",
        "pageSize",
    }
    assert properties["rerunEnv"]["enum"] == ["current", "recorded"]
    assert properties["rerunData"]["enum"] == ["pinned", "latest"]
    assert properties["pageSize"]["default"] == 50
    assert schema["additionalProperties"] is False


def test_generated_types_name_their_schemas() -> None:
    for generated, schema in (
        ("api-types.ts", "nbrepro/schema/api-1.schema.json"),
        ("record-types.ts", "nbrepro/schema/repro-1.schema.json"),
    ):
        text = (ROOT / "labextension" / generated).read_text("utf-8")
        assert f"GENERATED from {schema}" in text
        assert (ROOT / schema).is_file()


def test_the_vocabulary_is_the_api_schemas() -> None:
    """Verdicts, rerun modes, job states and error codes: one list in Python, the same
    in the REST schema (from which the sidebar's TypeScript unions are generated)."""
    from nbrepro.jobs.state import STATES
    from nbrepro.record import vocabulary
    from nbrepro.server.base import ERROR_CODES

    defs = json.loads((ROOT / "nbrepro/schema/api-1.schema.json").read_text("utf-8"))["$defs"]
    assert tuple(defs["Verdict"]["enum"]) == vocabulary.VERDICTS
    assert tuple(defs["DataMode"]["enum"]) == vocabulary.DATA_MODES
    assert tuple(defs["EnvMode"]["enum"]) == vocabulary.ENV_MODES
    assert tuple(defs["JobState"]["enum"]) == STATES
    assert set(defs["ErrorCode"]["enum"]) == set(ERROR_CODES)
    assert tuple(defs["PinProblemKind"]["enum"]) == vocabulary.PIN_PROBLEM_KINDS
    code = defs["JobErrorReason"]["properties"]["code"]
    assert tuple(code["enum"]) == vocabulary.RERUN_ERROR_CODES
