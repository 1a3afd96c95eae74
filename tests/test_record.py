"""The record contract: schema, reader errors."""

from __future__ import annotations

import json

import pytest

from nbrepro import record
from nbrepro.errors import RecordError


def minimal() -> dict:
    return {
        "schema_version": 1,
        "nbrepro_version": "0.1.0",
        "capture_id": "0" * 32,
        "mode": "magic",
        "created_at": "2026-01-01T00:00:00+00:00",
        "run": {
            "run_id": "r",
            "experiment_id": "1",
            "experiment_name": "e",
            "tracking_uri": "sqlite:///x.db",
            "run_name": None,
            "status": "FINISHED",
        },
        "code": {
            "cells": [],
            "document": {"path": None, "available": False},
            "hidden_state": {
                "hidden": False,
                "out_of_order": [],
                "edited_after_run": [],
                "missing_from_document": [],
                "never_executed": [],
                "explanations": [],
            },
        },
        "environment": {
            "hash": "h",
            "python": {"version": "3", "implementation": "CPython"},
            "packages": [],
        },
        "data": {"reads": [], "writes": [], "notes": []},
        "artifacts": {},
        "warnings": [],
    }


def test_minimal_record_round_trips() -> None:
    rec = minimal()
    assert record.loads(record.dumps(rec)) == rec


def test_unknown_schema_version_is_refused_clearly() -> None:
    rec = minimal()
    rec["schema_version"] = 99
    with pytest.raises(RecordError, match="schema version 99"):
        record.loads(json.dumps(rec))


def test_corrupted_record_is_refused_clearly() -> None:
    with pytest.raises(RecordError, match="corrupted"):
        record.loads("{not json")


def test_invalid_record_names_the_field() -> None:
    rec = minimal()
    rec["data"]["reads"] = [{"uri": "x", "version": -1}]
    with pytest.raises(RecordError, match="data/reads/0"):
        record.validate(rec)


def _cell(**over: object) -> dict:
    cell = {"execution_count": 1, "source": "x = 1", "doc_index": 0, "cell_id": "a"}
    return {**cell, "error": None, **over}


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ({"source": 3}, "code/cells/2/source"),
        ({"error": {"ename": 1}}, "code/cells/2/error"),  # a definition within one
    ],
)
def test_a_cell_of_a_long_history_is_validated_in_place(bad: dict, where: str) -> None:
    # The schema's definitions are inlined for speed: the same checks, the same paths.
    rec = minimal()
    rec["code"]["cells"] = [_cell(), _cell(), _cell(**bad), _cell()]
    with pytest.raises(RecordError, match=where):
        record.validate(rec)
    rec["code"]["cells"][2] = _cell()
    record.validate(rec)


def test_artifact_paths_live_under_one_folder() -> None:
    assert all(p.startswith("nbrepro/") for p in record.ARTIFACT_PATHS.values())


def test_mlflow_tag_names_are_mlflows_own() -> None:
    """nbrepro.record.tags restates MLflow's system tag names (importing them costs a
    kernel the whole of mlflow); they must stay MLflow's."""
    from mlflow.utils import mlflow_tags

    from nbrepro.record import tags

    assert tags.MLFLOW_RUN_NAME_TAG == mlflow_tags.MLFLOW_RUN_NAME
    assert tags.MLFLOW_SOURCE_TYPE_TAG == mlflow_tags.MLFLOW_SOURCE_TYPE
    assert tags.MLFLOW_SOURCE_NAME_TAG == mlflow_tags.MLFLOW_SOURCE_NAME
    assert tags.MLFLOW_GIT_COMMIT_TAG == mlflow_tags.MLFLOW_GIT_COMMIT
    assert tags.MLFLOW_GIT_BRANCH_TAG == mlflow_tags.MLFLOW_GIT_BRANCH
    assert tags.MLFLOW_GIT_REPO_URL_TAG == mlflow_tags.MLFLOW_GIT_REPO_URL
    assert mlflow_tags.MLFLOW_LOGGED_MODELS.startswith(tags.MLFLOW_LOG_MODEL_TAG_PREFIX)
    assert tags.MLFLOW_DATASET_CONTEXT_TAG == mlflow_tags.MLFLOW_DATASET_CONTEXT
    assert tags.MLFLOW_NOTE_TAG == mlflow_tags.MLFLOW_RUN_NOTE


def test_a_ref_in_data_is_not_inlined() -> None:
    schema = {
        "properties": {
            "a": {"const": {"$ref": "#/definitions/d"}},
            "b": {"$ref": "#/definitions/d"},
        },
        "definitions": {"d": {"type": "integer"}},
    }
    inlined = record._inlined(schema)
    assert inlined["properties"]["a"] == {"const": {"$ref": "#/definitions/d"}}
    assert inlined["properties"]["b"] == {"type": "integer"}
