"""The run record: one versioned JSON document (``repro.json``) per captured run.

The JSON Schema in ``nbrepro/schema/repro-<version>.schema.json`` is the single
definition of the contract; writers validate against it before logging and
readers refuse a record of a version they do not know.
"""

from __future__ import annotations

import datetime as _dt
import json
import uuid
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

from nbrepro._version import __version__
from nbrepro.errors import RecordError

SCHEMA_VERSION = 1
RECORD_ARTIFACT = "nbrepro/repro.json"

# Where each artifact lives in the run, relative to the run's artifact root.
ARTIFACT_PATHS: dict[str, str] = {
    "record": RECORD_ARTIFACT,
    "replay": "nbrepro/replay.ipynb",
    "document": "nbrepro/notebook.ipynb",
    "html": "nbrepro/notebook.html",
    "history": "nbrepro/history.py",
    "outputs": "nbrepro/capture_outputs.json",
    "requirements": "nbrepro/environment/requirements.txt",
    "python_env": "nbrepro/environment/python_env.yaml",
    "git_diff": "nbrepro/environment/git.diff",
}


@lru_cache(maxsize=4)
def load_schema(version: int = SCHEMA_VERSION) -> dict[str, Any]:
    """Return the JSON Schema of a record version."""
    name = f"repro-{version}.schema.json"
    try:
        text = resources.files("nbrepro.schema").joinpath(name).read_text("utf-8")
    except FileNotFoundError as exc:
        raise RecordError(
            f"record schema version {version} is unknown to nbrepro {__version__}"
        ) from exc
    schema: dict[str, Any] = json.loads(text)
    return schema


@lru_cache(maxsize=4)
def _validator(version: int) -> Callable[[Any], Any]:
    import fastjsonschema

    return fastjsonschema.compile(_inlined(load_schema(version)))


# Keywords whose value is data, not a schema: a "$ref" in them is not one.
_VALUES = frozenset({"const", "enum", "default", "examples"})


def _inlined(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with each ``{"$ref": "#/definitions/NAME"}`` replaced by that
    definition (the same schema, for validation).

    fastjsonschema validates a ``$ref`` by a call whose error path it builds first with
    ``str.format(**locals())``: for every cell of a long history, most of a
    capture's validation time. A definition that refers to itself keeps its ``$ref``.
    """
    definitions = schema.get("definitions") or {}

    def inline(node: Any, within: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [inline(item, within) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and len(node) == 1 and ref.startswith("#/definitions/"):
            name = ref.removeprefix("#/definitions/")
            if name in definitions and name not in within:
                return inline(definitions[name], (*within, name))
            return node
        return {
            key: value if key in _VALUES else inline(value, within) for key, value in node.items()
        }

    return {
        key: (value if key == "definitions" else inline(value, ())) for key, value in schema.items()
    }


def validate(record: dict[str, Any]) -> None:
    """Raise :class:`RecordError` if ``record`` does not match its schema.

    The schema is compiled once (fastjsonschema): a capture validates its record
    before logging, so this must stay cheap.
    """
    from fastjsonschema import JsonSchemaValueException

    version = record.get("schema_version")
    if not isinstance(version, int):
        raise RecordError("record has no integer schema_version")
    try:
        _validator(version)(record)
    except JsonSchemaValueException as exc:
        where = "/".join(str(p) for p in exc.path[1:]) or "(top)"
        raise RecordError(f"invalid record at {where}: {exc.message}") from exc


def loads(text: str | bytes) -> dict[str, Any]:
    """Parse and validate a ``repro.json``; errors say what is wrong with it."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecordError(f"repro.json is corrupted: {exc}") from exc
    if not isinstance(record, dict):
        raise RecordError("repro.json is not a JSON object")
    version = record.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RecordError(
            f"repro.json has schema version {version!r}; nbrepro {__version__} reads version "
            f"{SCHEMA_VERSION}. Upgrade nbrepro to read it."
        )
    validate(record)
    return record


def dumps(record: dict[str, Any]) -> str:
    """Serialize a record deterministically (sorted keys, UTF-8 friendly).

    Not indented: ``indent`` makes the json module fall back from its C encoder
    to pure Python, ~10x slower on a record with a long history.
    """
    return json.dumps(record, sort_keys=True, ensure_ascii=False, default=str)


def new_capture_id() -> str:
    """A fresh capture id (hex uuid4); it also names the capture's spool entry."""
    return uuid.uuid4().hex


def utcnow_iso() -> str:
    """Current UTC time, ISO-8601 with timezone."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")
