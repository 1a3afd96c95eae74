"""Assemble one capture: the record, its artifacts and the run's tags.

Plain inputs in, plain outputs out. The IPython glue and the headless runner
collect the executed cells, outputs and Delta reads; this module turns them
into what gets logged, with every secret removed on the way.
"""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nbrepro import record
from nbrepro._version import __version__
from nbrepro.capture import environment, gitstate, history, ipynb
from nbrepro.capture.history import ExecutedCell
from nbrepro.capture.htmlpage import render_html, render_redacted_html
from nbrepro.record import delta_reads
from nbrepro.record.bundle import LogBundle
from nbrepro.record.summary import cells_phrase
from nbrepro.record.tags import (
    CAPTURE_ID_TAG,
    CELLS_TAG,
    DELTA_READS_TAG,
    DELTA_TABLES_TAG,
    ENV_HASH_TAG,
    HIDDEN_STATE_TAG,
    MLFLOW_GIT_BRANCH_TAG,
    MLFLOW_GIT_COMMIT_TAG,
    MLFLOW_GIT_REPO_URL_TAG,
    MLFLOW_NOTE_TAG,
    MLFLOW_SOURCE_NAME_TAG,
    MLFLOW_SOURCE_TYPE_TAG,
    MODE_TAG,
    NOTEBOOK_TAG,
    SCHEMA_VERSION_TAG,
    SEED_TAG,
    VERSION_TAG,
)
from nbrepro.redact import redact_text, secret_values, strip_uri_credentials

DEFAULT_MAX_OUTPUT_BYTES = 1_000_000
DEFAULT_MAX_DIFF_BYTES = 1_000_000


@dataclass
class CaptureInput:
    """What the kernel side knows when a capture ends."""

    capture_id: str
    mode: str
    run: dict[str, Any]
    executed: list[ExecutedCell]
    capture_index: int | None = None
    notebook_path: str | None = None
    # Headless runs: the executed output notebook is the document.
    document: Mapping[str, Any] | None = None
    outputs: list[dict[str, Any]] = field(default_factory=list)
    delta_reads: list[dict[str, Any]] = field(default_factory=list)
    delta_writes: list[dict[str, Any]] = field(default_factory=list)
    delta_notes: list[str] = field(default_factory=list)
    spark_remotes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    env_allow: Sequence[str] = environment.DEFAULT_ENV_ALLOW
    max_output_bytes: int = DEFAULT_MAX_OUTPUT_BYTES
    max_diff_bytes: int = DEFAULT_MAX_DIFF_BYTES
    render_html: bool = True
    # Leave the HTML to the caller (rendered after the cell returns, see Capture.html_producer).
    defer_html: bool = False
    # A precomputed environment snapshot (headless: taken inside the kernel).
    environment: dict[str, Any] | None = None
    # Git state computed ahead (e.g. while the cell ran): a value or a Future of one.
    git: Any = None
    extra_tags: dict[str, str] = field(default_factory=dict)
    # More literal secrets to redact everywhere (secret-named papermill parameters).
    extra_secrets: list[str] = field(default_factory=list)
    # Params nbrepro logs for the run (papermill parameters), already redacted.
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class Capture:
    record: dict[str, Any]
    bundle: LogBundle
    # With CaptureInput.defer_html: the notebook to render (ipynb, already redacted, so
    # it can wait on disk for an upload), and the secrets to redact again after rendering.
    html_source: bytes | None = None
    secrets: list[str] = field(default_factory=list)

    def html_producer(self) -> functools.partial[bytes]:
        """A picklable callable making the deferred HTML artifact, redacted."""
        assert self.html_source is not None
        return functools.partial(render_redacted_html, self.html_source, self.secrets)


def load_document(
    path: str | None,
) -> tuple[Mapping[str, Any] | None, dict[str, Any], bytes | None]:
    """Read the notebook document from disk; the info dict says why when it cannot.

    Also returns the file's exact bytes: :func:`build` logs them as they are, so the
    artifact matches the recorded ``sha256``.
    """
    info: dict[str, Any] = {
        "path": path,
        "available": False,
        "sha256": None,
        "cell_count": None,
        "missing_reason": None,
        "modified_at": None,
    }
    if not path:
        info["missing_reason"] = (
            "notebook path unknown (not run from Jupyter, or unsaved); pass --notebook PATH"
        )
        return None, info, None
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        info["missing_reason"] = f"cannot read {path}: {exc.strerror or exc}"
        return None, info, None
    try:
        nb = ipynb.reads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        info["missing_reason"] = f"{path} is not a readable notebook: {exc}"
        return None, info, None
    info.update(
        available=True,
        sha256=history.notebook_sha256(raw),
        cell_count=len(nb["cells"]),
        modified_at=_iso_mtime(p),
    )
    return nb, info, raw


def _iso_mtime(p: Path) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(p.stat().st_mtime, dt.timezone.utc).isoformat()


def git_root(notebook_path: str | None) -> Path:
    """Where to look for the repository: the notebook's folder, else the working directory."""
    return Path(notebook_path).parent if notebook_path else Path.cwd()


def cap_outputs(outputs: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Keep outputs, in order, up to ``limit`` bytes of JSON.

    A text stream that does not fit keeps its head; another output that does not fit
    is left out, except the cell's result and its error, which are kept (each within
    ``limit`` itself): they are what a rerun is compared on. A note says what was cut.
    """
    kept: list[dict[str, Any]] = []
    used = 0
    shortened = dropped = 0
    for out in outputs:
        size = len(json.dumps(out, default=str))
        essential = out.get("output_type") in ("execute_result", "error")
        if used + size <= limit or (essential and size <= limit):
            kept.append(out)
            used += size
            continue
        room = limit - used
        if out.get("output_type") == "stream" and room > 0:
            head = _json_head(str(out.get("text", "")), room)
            if head:
                kept.append({**out, "text": head})
                used = limit
                shortened += 1
                continue
        dropped += 1
    if not (shortened or dropped):
        return kept, False
    # The same words whatever was cut: a rerun's outputs, cut the same way, compare equal.
    kept.append(
        {
            "output_type": "stream",
            "name": "stderr",
            "text": f"\n[nbrepro: outputs cut at {limit} bytes]\n",
        }
    )
    return kept, True


_CUT_NOTE_RE = re.compile(r"\n\[nbrepro: outputs cut at \d+ bytes\]\n$")


def cut_like(
    recorded: list[dict[str, Any]], outputs: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A cell's recorded outputs, cut by :func:`cap_outputs`, and another run's outputs
    of that cell cut to what the record kept, in one shape to compare.

    The other run keeps, in order, as many characters of each stream as the record
    kept of it, and as many outputs of each other type: equal outputs stay equal
    whatever their sizes as JSON, and a difference within what was kept shows.
    """
    note: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    for out in merge_streams(recorded):
        text = _text_of(out) if out.get("output_type") == "stream" else ""
        found = _CUT_NOTE_RE.search(text) if out.get("name") == "stderr" else None
        if found is not None:
            note = [{"output_type": "stream", "name": "stderr", "text": found.group(0)}]
            out = {**out, "text": text[: found.start()]}
            if not out["text"]:
                continue
        kept.append(out)
    chars: dict[str, int] = {}
    counts: dict[str, int] = {}
    for out in kept:
        if out.get("output_type") == "stream":
            name = str(out.get("name"))
            chars[name] = chars.get(name, 0) + len(_text_of(out))
        else:
            kind = str(out.get("output_type"))
            counts[kind] = counts.get(kind, 0) + 1
    cut: list[dict[str, Any]] = []
    for out in merge_streams(outputs):
        if out.get("output_type") == "stream":
            name = str(out.get("name"))
            text = _text_of(out)[: chars.get(name, 0)]
            if text:
                chars[name] -= len(text)
                cut.append({**out, "text": text})
        elif counts.get(kind := str(out.get("output_type")), 0) > 0:
            counts[kind] -= 1
            cut.append(out)
    return merge_streams(kept) + note, merge_streams(cut) + note


def merge_streams(outputs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive outputs of one stream as one, as a capture records them (how a
    kernel splits a stream into messages varies from run to run)."""
    merged: list[dict[str, Any]] = []
    for out in outputs:
        last = merged[-1] if merged else None
        if (
            last is not None
            and out.get("output_type") == "stream"
            and last.get("output_type") == "stream"
            and last.get("name") == out.get("name")
        ):
            merged[-1] = {**last, "text": _text_of(last) + _text_of(out)}
        else:
            merged.append(dict(out))
    return merged


def _text_of(out: Mapping[str, Any]) -> str:
    text = out.get("text", "")
    return "".join(text) if isinstance(text, list) else str(text)


def _json_head(text: str, room: int) -> str:
    """The longest head of ``text`` (nearly) that takes at most ``room`` bytes as JSON."""
    head = text[:room]
    while head and len(json.dumps(head)) > room:
        head = head[: int(len(head) * 0.9)]
    return head


def build(inp: CaptureInput) -> Capture:
    """Build the record and the bundle of artifacts and tags for a capture."""
    warnings = list(inp.warnings)
    document: Mapping[str, Any] | None
    raw_document: bytes | None = None
    if inp.document is not None:
        import nbformat  # a headless run's document, read by nbformat in that process

        document = inp.document
        doc_info: dict[str, Any] = {
            "path": inp.notebook_path,
            "available": True,
            "sha256": history.notebook_sha256(nbformat.writes(document)),
            "cell_count": len(document["cells"]),
            "missing_reason": None,
            "modified_at": None,
        }
    else:
        loaded, doc_info, raw_document = load_document(inp.notebook_path)
        document = loaded
        if loaded is None:
            warnings.append(f"notebook document not recorded: {doc_info['missing_reason']}")

    env = dict(
        inp.environment
        if inp.environment is not None
        else environment.capture_environment(env_allow=inp.env_allow)
    )
    if "kernel" not in env:
        env["kernel"] = kernel_of(document, env)

    executed = history.match_to_document(inp.executed, document)
    # A headless run ends at its last executed cell: cells below a failure never ran
    # because the run stopped, which is not hidden state.
    end = inp.capture_index
    if end is None and inp.mode == "headless" and executed:
        end = len(executed) - 1
    hidden = history.find_hidden_state(executed, document, end)
    replay = history.build_replay(executed, document, kernelspec=kernelspec_of(env["kernel"]))

    if inp.git is None:
        git = gitstate.capture_git(git_root(inp.notebook_path), max_diff_bytes=inp.max_diff_bytes)
    elif isinstance(inp.git, Future):
        git = inp.git.result()
    else:
        git = inp.git
    git_diff = git.pop("diff", None) if git else None
    env["git"] = git

    outputs, truncated = cap_outputs(inp.outputs, inp.max_output_bytes)
    if truncated:
        warnings.append(f"capture cell outputs cut at {inp.max_output_bytes} bytes")

    files: dict[str, str | bytes] = {
        record.ARTIFACT_PATHS["replay"]: notebook_json(replay),
        record.ARTIFACT_PATHS["history"]: history.history_script(executed),
        record.ARTIFACT_PATHS["outputs"]: json.dumps(outputs, default=str),
        record.ARTIFACT_PATHS["requirements"]: environment.requirements_txt(env),
        record.ARTIFACT_PATHS["python_env"]: environment.python_env_yaml(env),
    }
    if raw_document is not None:
        files[record.ARTIFACT_PATHS["document"]] = raw_document
    elif document is not None:
        import nbformat

        files[record.ARTIFACT_PATHS["document"]] = nbformat.writes(document)
    if git_diff:
        files[record.ARTIFACT_PATHS["git_diff"]] = git_diff
    html_of = None
    if inp.render_html and inp.defer_html:
        html_of = record.ARTIFACT_PATHS["document" if document is not None else "replay"]
    elif inp.render_html:
        try:
            files[record.ARTIFACT_PATHS["html"]] = render_html(
                document if document is not None else replay
            )
        except Exception as exc:  # nbconvert template or exporter failure
            warnings.append(f"HTML rendering skipped: {type(exc).__name__}: {exc}")

    run = dict(inp.run)
    run["tracking_uri"] = strip_uri_credentials(str(run.get("tracking_uri", "")))
    rec: dict[str, Any] = {
        "schema_version": record.SCHEMA_VERSION,
        "nbrepro_version": __version__,
        "capture_id": inp.capture_id,
        "mode": inp.mode,
        "created_at": record.utcnow_iso(),
        "run": run,
        "code": {
            "cells": [c.to_record() for c in executed],
            "document": doc_info,
            "hidden_state": hidden.to_record(),
            "capture_cell": inp.capture_index,
            "outputs_truncated": truncated,
            "outputs_limit": inp.max_output_bytes if truncated else None,
        },
        "environment": env,
        "data": {
            "reads": inp.delta_reads,
            "writes": inp.delta_writes,
            "notes": inp.delta_notes,
            **({"spark": {"remotes": inp.spark_remotes}} if inp.spark_remotes else {}),
        },
        "artifacts": {
            k: v for k, v in record.ARTIFACT_PATHS.items() if v in files or k == "record"
        },
        "warnings": warnings,
    }

    secrets = [*secret_values(os.environ), *inp.extra_secrets]
    # Redact the serialized record as text (secrets may hide in any field), then parse
    # it back: the text logged and the record returned are the same, redacted.
    text = redact_text(record.dumps(rec), secrets)
    rec = json.loads(text)
    record.validate(rec)
    files[record.RECORD_ARTIFACT] = text
    clean = {path: _redact_file(data, secrets) for path, data in files.items()}
    tags = run_tags(rec, inp.extra_tags)
    tags = {k: redact_text(v, secrets) for k, v in tags.items()}
    params = {k: redact_text(v, secrets) for k, v in inp.params.items()}
    bundle = LogBundle(tags=tags, files=clean, datasets=inp.delta_reads, params=params)
    html_source = clean[html_of] if html_of is not None else None
    return Capture(record=rec, bundle=bundle, html_source=html_source, secrets=secrets)


def notebook_json(nb: Mapping[str, Any]) -> str:
    """A notebook nbrepro built itself (the replay), as ``.ipynb`` JSON.

    Not ``nbformat.writes``: that validates against the schema, copies the notebook and
    indents, which makes the json module fall back to pure Python; for a long history
    that is a good part of the time a capture adds to its cell. Jupyter, nbformat and
    papermill read the result as they read any notebook.
    """
    return json.dumps(nb, sort_keys=True, ensure_ascii=False) + "\n"


def kernel_of(document: Mapping[str, Any] | None, env: dict[str, Any]) -> dict[str, Any]:
    """The kernel a magic capture ran in: the notebook names it, the kernel is this process."""
    spec = (document["metadata"].get("kernelspec") if document is not None else None) or {}
    return environment.kernel_record(
        spec.get("name"),
        display_name=spec.get("display_name"),
        language=spec.get("language"),
        interpreter=(env.get("python") or {}).get("executable"),
    )


def kernelspec_of(kernel: Mapping[str, Any]) -> dict[str, Any] | None:
    """A notebook's ``kernelspec`` metadata for the kernel a record names (None: unnamed)."""
    if not kernel.get("name"):
        return None
    return {
        "name": kernel["name"],
        "display_name": kernel.get("display_name") or kernel["name"],
        "language": kernel.get("language") or "python",
    }


def _redact_file(data: str | bytes, secrets: list[str]) -> bytes:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    return redact_text(text, secrets).encode("utf-8")


def run_tags(rec: dict[str, Any], extra: dict[str, str] | None = None) -> dict[str, str]:
    """The tags MLflow users expect, plus nbrepro's own ``nbrepro.*`` tags."""
    code = rec["code"]
    env = rec["environment"]
    doc_path = code["document"]["path"]
    tags = {
        MLFLOW_SOURCE_TYPE_TAG: "NOTEBOOK",
        MLFLOW_SOURCE_NAME_TAG: doc_path or "<unsaved notebook>",
        SCHEMA_VERSION_TAG: str(rec["schema_version"]),
        VERSION_TAG: rec["nbrepro_version"],
        CAPTURE_ID_TAG: rec["capture_id"],
        MODE_TAG: rec["mode"],
        ENV_HASH_TAG: env["hash"],
        HIDDEN_STATE_TAG: "true" if code["hidden_state"]["hidden"] else "false",
        CELLS_TAG: str(len(code["cells"])),
        DELTA_TABLES_TAG: str(len(rec["data"]["reads"])),
        # What the runs list needs to tell whether the data moved, without the record.
        DELTA_READS_TAG: delta_reads.encode(rec["data"]["reads"]),
    }
    if doc_path:
        tags[NOTEBOOK_TAG] = doc_path
    if rec["run"].get("seed") is not None:
        tags[SEED_TAG] = str(rec["run"]["seed"])
    git = env.get("git") or {}
    if git.get("commit"):
        tags[MLFLOW_GIT_COMMIT_TAG] = git["commit"]
    if git.get("branch"):
        tags[MLFLOW_GIT_BRANCH_TAG] = git["branch"]
    origin = (git.get("remotes") or {}).get("origin")
    if origin:
        tags[MLFLOW_GIT_REPO_URL_TAG] = origin
    tags[MLFLOW_NOTE_TAG] = summary_markdown(rec)
    tags.update(extra or {})
    return tags


def summary_markdown(rec: dict[str, Any]) -> str:
    """A short run description for the MLflow UI."""
    code = rec["code"]
    lines = [
        f"Captured by nbrepro {rec['nbrepro_version']} ({rec['mode']}): "
        f"{cells_phrase(code)} from `{code['document']['path'] or 'unsaved notebook'}`.",
    ]
    for read in rec["data"]["reads"]:
        lines.append(f"- Delta `{read['uri']}` at version {read['version']}")
    if code["hidden_state"]["hidden"]:
        lines.append("")
        lines.extend(f"Hidden state: {e}" for e in code["hidden_state"]["explanations"])
    return "\n".join(lines)
