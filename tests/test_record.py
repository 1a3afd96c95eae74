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


def test_artifact_paths_live_under_one_folder() -> None:
    assert all(p.startswith("nbrepro/") for p in record.ARTIFACT_PATHS.values())
