"""The REST API against bad and hostile input, through a real Jupyter server (jp_fetch).

A request the client must fix is a 400 (403 for a store the server's policy refuses),
never a 500; a store a request names must already exist, so that a GET creates nothing;
a value quoted back is cut short, in the answer and in the log. The last test fuzzes
every endpoint from the API's JSON Schema and watches the disk outside the server root.
"""

from __future__ import annotations

import json
import logging
import os
import random
import tempfile
import time
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import tornado
from helpers import api_check as check

from nbrepro import paths

pytest_plugins = ["pytest_jupyter.jupyter_server"]

SHORT_MESSAGE = 300  # a refused value is quoted in at most ~80 characters


@pytest.fixture
def jp_server_config(jp_server_config, tmp_path: Path):
    return {
        "ServerApp": {"jpserver_extensions": {"nbrepro": True}},
        "NbreproServer": {"max_concurrent_reruns": 1, "jobs_dir": str(tmp_path / "jobs")},
    }


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A folder outside the server root, with an existing MLflow store in it."""
    from mlflow import MlflowClient

    folder = tmp_path / "outside"
    folder.mkdir()
    MlflowClient(tracking_uri=f"sqlite:///{folder / 'store.db'}").search_experiments()
    return folder


@pytest.fixture
def server_log(jp_serverapp) -> Iterator[list[str]]:
    """The lines the Jupyter server logs while the test runs."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Keep(logging.DEBUG)
    loggers = [jp_serverapp.log, logging.getLogger("tornado.access")]
    for logger in loggers:
        logger.addHandler(handler)
    yield lines
    for logger in loggers:
        logger.removeHandler(handler)


async def send(
    jp_fetch,
    method: str,
    *parts: str,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
    **params: Any,
) -> tuple[int, Any]:
    """One request; ``(status, JSON answer)``, an error body checked against the schema."""
    kwargs: dict[str, Any] = {"method": method, "params": params, "headers": headers or {}}
    if method in ("POST", "PUT"):
        kwargs["body"] = raw if raw is not None else json.dumps(body if body is not None else {})
    try:
        resp = await jp_fetch("nbrepro", *parts, **kwargs)
    except tornado.httpclient.HTTPClientError as exc:
        assert exc.response is not None, exc
        return exc.code, check(json.loads(exc.response.body), "ErrorBody")
    return resp.code, json.loads(resp.body)


def tree(root: Path, skip: Path) -> dict[str, tuple[int, int]]:
    """Every file and folder under ``root`` but ``skip``: its size and modification time."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        if Path(dirpath) == skip or skip in Path(dirpath).parents:
            dirnames[:] = []
            continue
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            if path == skip:
                continue
            st = path.lstat()
            # A lock file is touched by each use of its store; it is not data.
            stamp = 0 if name.endswith(".lock") or path.is_dir() else st.st_mtime_ns
            found[str(path.relative_to(root))] = (0 if path.is_dir() else st.st_size, stamp)
    return found


async def test_control_characters_in_a_path_or_a_store_are_a_400(
    jp_fetch, nbrepro_home: Path
) -> None:
    """Once a 500 (embedded null byte) or, through tornado's cleaning of arguments, a
    filter silently dropped (the whole list answered for notebook=%00)."""
    cases = [
        ("POST", ("capture",), {"notebook": "\u0000"}, {}),
        ("POST", ("capture",), {"notebook": "a\u0000.ipynb"}, {}),
        ("POST", ("capture",), {"notebook": "\ud800.ipynb"}, {}),  # half a UTF-16 pair
        ("POST", ("capture",), {"notebook": "a.ipynb", "tracking_uri": "sqlite:///\u0000"}, {}),
        ("POST", ("reruns",), {"run_id": "0" * 32, "tracking_uri": "http://h\u0000"}, {}),
        ("POST", ("runs", "0" * 32, "open"), {"which": "replay\u0000"}, {}),
        ("GET", ("runs",), None, {"notebook": "\x00"}),
        ("GET", ("runs",), None, {"notebook": "a.ipynb\n"}),
        ("GET", ("runs",), None, {"experiment": "\x1b[31m"}),
        ("GET", ("runs",), None, {"tracking_uri": "\x7f"}),
        ("GET", ("reruns",), None, {"run_id": "\x00"}),
        ("GET", ("compare",), None, {"a": "0" * 32 + "\x00", "b": "0" * 32}),
    ]
    for method, parts, body, params in cases:
        code, answer = await send(jp_fetch, method, *parts, body=body, **params)
        assert (code, answer["code"]) == (400, "bad-request"), (parts, body, params, answer)
        assert "control character" in answer["message"], answer
    code, answer = await send(jp_fetch, "GET", "runs", notebook=b"\xff\xfe")
    assert code == 400 and "not UTF-8" in answer["message"], answer


async def test_an_unknown_scheme_is_a_400(jp_fetch, nbrepro_home: Path) -> None:
    for uri in ("garbage://x", "mlruns", "sqlite://", "http://"):
        code, answer = await send(jp_fetch, "GET", "runs", tracking_uri=uri)
        assert (code, answer["code"]) == (400, "tracking-uri-refused"), (uri, answer)
    code, answer = await send(jp_fetch, "GET", "runs", tracking_uri="garbage://x")
    assert "unknown scheme 'garbage'" in answer["message"]


async def test_a_store_a_request_names_must_exist(
    jp_fetch, nbrepro_home: Path, outside: Path, tmp_path: Path
) -> None:
    """Naming a store once created a 954 KB SQLite database wherever the URI said."""
    missing = tmp_path / "elsewhere" / "new.db"
    uri = f"sqlite:///{missing}"
    requests = [
        ("GET", ("runs",), None, {"tracking_uri": uri}, None),
        ("GET", ("runs",), None, {}, {"X-Nbrepro-Tracking-Uri": uri}),
        ("GET", ("runs", "0" * 32), None, {"tracking_uri": uri}, None),
        ("POST", ("reruns",), {"run_id": "0" * 32, "tracking_uri": uri}, {}, None),
        ("POST", ("capture",), {"notebook": "a.ipynb", "tracking_uri": uri}, {}, None),
        ("POST", ("runs", "0" * 32, "open"), {"which": "replay", "tracking_uri": uri}, {}, None),
    ]
    for method, parts, body, params, headers in requests:
        code, answer = await send(jp_fetch, method, *parts, body=body, headers=headers, **params)
        assert (code, answer["code"]) == (400, "tracking-uri-refused"), (parts, answer)
        assert "no SQLite store at" in answer["message"]
    assert not missing.parent.exists()
    text = outside / "notes.txt"
    text.write_text("not a store")
    code, answer = await send(jp_fetch, "GET", "runs", tracking_uri=f"sqlite:///{text}")
    assert code == 400 and "not a SQLite database" in answer["message"], answer

    # An existing store is read; nothing is added beside it but nbrepro's lock file.
    before = sorted(p.name for p in outside.iterdir())
    store = f"sqlite:///{outside / 'store.db'}"
    code, page = await send(jp_fetch, "GET", "runs", tracking_uri=store)
    assert code == 200 and check(page, "RunsPage")["runs"] == []
    assert sorted(p.name for p in outside.iterdir() if p.suffix != ".lock") == before


async def test_the_server_setting_restricts_the_stores_requests_name(
    jp_fetch, jp_serverapp, nbrepro_home: Path, outside: Path
) -> None:
    settings = jp_serverapp.web_app.settings["nbrepro"]
    store = f"sqlite:///{outside / 'store.db'}"
    # The server's own store is not the request's: it is made on first use.
    assert not nbrepro_home.exists()
    settings.allowed_tracking_uris = []
    code, page = await send(jp_fetch, "GET", "runs")
    assert code == 200 and page["runs"] == []
    assert (nbrepro_home / "mlflow.db").is_file()
    # Named explicitly, it is still the server's own store.
    code, _ = await send(jp_fetch, "GET", "runs", tracking_uri=paths.default_tracking_uri())
    assert code == 200

    code, answer = await send(jp_fetch, "GET", "runs", tracking_uri=store)
    assert (code, answer["code"]) == (403, "tracking-uri-not-allowed"), answer
    assert "allowed_tracking_uris allows none" in answer["message"]
    headers = {"X-Nbrepro-Tracking-Uri": store}
    code, answer = await send(jp_fetch, "GET", "runs", headers=headers)
    assert code == 403, answer

    settings.allowed_tracking_uris = [f"sqlite:///{outside}/*", "https://mlflow.example.com/*"]
    code, page = await send(jp_fetch, "GET", "runs", tracking_uri=store)
    assert code == 200, page
    sneaky = f"sqlite:///{outside}/../nbrepro-home/mlflow.db"
    code, answer = await send(jp_fetch, "GET", "runs", tracking_uri=sneaky)
    assert (code, answer["code"]) == (403, "tracking-uri-not-allowed"), answer
    code, answer = await send(
        jp_fetch, "POST", "reruns", body={"run_id": "0" * 32, "tracking_uri": "http://127.0.0.1:1"}
    )
    assert code == 403, answer
    # Validity first: a store that does not exist is a 400 whatever the policy.
    code, answer = await send(jp_fetch, "GET", "runs", tracking_uri=f"sqlite:///{outside}/x.db")
    assert (code, answer["code"]) == (400, "tracking-uri-refused"), answer


async def test_a_huge_value_is_quoted_short_in_the_answer_and_the_log(
    jp_fetch, nbrepro_home: Path, server_log: list[str]
) -> None:
    """A 5 MB run_id once came back whole in the 400 and as one 5 MB log line."""
    huge = "a" * (5 * 1024 * 1024)
    bodies = [
        ("reruns", {"run_id": huge}),
        ("reruns", {"run_id": "0" * 32, "env": huge}),
        ("reruns", {"run_id": "0" * 32, huge: 1}),
        ("capture", {"notebook": "a.ipynb", huge[:100]: 1}),
        ("runs/" + "0" * 32 + "/open", {"which": huge[:5000]}),
    ]
    for path, body in bodies:
        code, answer = await send(jp_fetch, "POST", *path.split("/"), body=body)
        assert code == 400, answer
        assert len(answer["message"]) < SHORT_MESSAGE, answer["message"][:500]
    code, answer = await send(jp_fetch, "GET", "reruns", run_id="b" * 5000)
    assert code == 400 and len(answer["message"]) < SHORT_MESSAGE
    assert "…(5000 chars)" in answer["message"]
    code, answer = await send(jp_fetch, "GET", "runs", experiment="e" * 9000)
    assert code == 400 and "too long" in answer["message"]
    code, answer = await send(jp_fetch, "GET", "runs", "x" * 20000)
    assert code == 400 and len(answer["message"]) < SHORT_MESSAGE
    # nbrepro's own lines (the access log's line is Jupyter's: the URL as requested,
    # which tornado bounds at 64 KB with the headers).
    ours = [line for line in server_log if line.startswith("nbrepro:")]
    assert len(ours) >= len(bodies) + 3, server_log
    assert max(len(line) for line in ours) < 500, max(ours, key=len)[:300]


# --- fuzzing the whole API from its schema ---------------------------------------------

API = json.loads(resources.files("nbrepro.schema").joinpath("api-1.schema.json").read_text())
# Each endpoint: method, path (``{run}`` / ``{job}`` filled in), its query arguments and
# their kind, its body's schema. The bodies' shapes are the schema's; query arguments are
# documented in docs/rest-api.md.
ENDPOINTS: list[tuple[str, str, dict[str, str], str | None]] = [
    ("GET", "version", {}, None),
    (
        "GET",
        "runs",
        {
            "notebook": "path",
            "experiment": "text",
            "max_results": "count",
            "page_token": "text",
            "tracking_uri": "store",
        },
        None,
    ),
    ("GET", "runs/{run}", {"tracking_uri": "store"}, None),
    ("GET", "runs/{run}/environment", {"notebook": "path", "tracking_uri": "store"}, None),
    ("GET", "compare", {"a": "run", "b": "run", "tracking_uri": "store"}, None),
    (
        "GET",
        "compare/images",
        {"a": "run", "b": "run", "cells": "count", "tracking_uri": "store"},
        None,
    ),
    ("POST", "reruns", {}, "RerunRequest"),
    ("GET", "reruns", {"run_id": "run"}, None),
    ("GET", "reruns/{job}", {}, None),
    ("DELETE", "reruns/{job}", {}, None),
    ("POST", "capture", {}, "CaptureRequest"),
    ("POST", "runs/{run}/open", {}, "OpenRequest"),
]
FUZZ_REQUESTS = 2000  # about 10 s
FUZZ_SEED = 20261203
# What a request may be answered, and the shape of each success.
SUCCESS = {
    "version": "Version",
    "runs": "RunsPage",
    "reruns": "JobsList",
    "compare/images": "CellImages",
}
STATUSES = {200, 400, 403, 404, 409, 503}


class Values:
    """Values for each kind of argument: valid ones, and what a hostile client sends."""

    def __init__(self, rng: random.Random, outside: Path, run_id: str) -> None:
        self.rng = rng
        hostile_text = [
            "",
            " ",
            "\x00",
            "a\x00b",
            "\n",
            "\t",
            "\x7f",
            "\x85",
            "\ud800",
            "%00",
            "%2e%2e%2f",
            "😀",
            "'; DROP TABLE runs; --",
            "`tags`",
            "*",
            "x" * 300,
            "y" * 9000,
        ]
        self.pools: dict[str, list[Any]] = {
            "path": [
                "a.ipynb",
                "sub/b.ipynb",
                "../x.ipynb",
                "../../etc/passwd",
                "/etc/passwd",
                str(outside / "x.ipynb"),
                "nbrepro-runs/../../outside",
                "..",
                ".",
                "~",
                "x/" * 2000,
                "😀.ipynb",
                *hostile_text,
            ],
            "store": [
                "garbage://x",
                "mlruns",
                "sqlite://",
                "sqlite:///",
                "sqlite:///relative.db",
                f"sqlite:///{outside / 'new.db'}",
                f"sqlite:////{outside / 'new2.db'}",
                f"sqlite:///{outside / 'deep' / 'er' / 'new.db'}",
                f"sqlite:///{outside / 'store.db'}",
                f"sqlite:///{outside / 'sub' / '..' / 'store.db'}",
                f"sqlite:///{outside / 'notes.txt'}",
                f"sqlite:///{outside}",
                f"file://{outside / 'mlruns'}",
                "file:///",
                "http://",
                "http://127.0.0.1:1",
                "http://user:secret@127.0.0.1:1/",
                "https://[::1",
                "http://h:port/",
                "postgresql://u:p@127.0.0.1:1/db",
                "mysql://127.0.0.1:1/x",
                "databricks",
                "databricks://nope",
                "databricks-uc",
                paths.default_tracking_uri(),
                "sqlite:///\x00",
                "sqlite:///" + "d" * 5000 + ".db",
                *hostile_text,
            ],
            "run": [run_id, "0" * 32, "A" * 32, "0" * 33, "nope", *hostile_text],
            "job": ["b" * 32, "nope", "0" * 31, *hostile_text],
            "count": ["1", "50", "500", "501", "0", "-1", "x", "1e3", "١", "9" * 30, ""],
            "text": ["nbrepro", "Default", "missing", *hostile_text],
            "which": ["replay", "document", "html", *hostile_text],
        }
        self.junk: list[Any] = [
            None,
            True,
            0,
            -1,
            1.5,
            1e308,
            [],
            ["x"],
            {},
            {"a": {"b": []}},
            "z" * (1024 * 1024),
        ]

    def pick(self, kind: str) -> Any:
        return self.rng.choice(self.pools[kind])

    def query_value(self, kind: str) -> Any:
        value = self.pick(kind)
        if isinstance(value, str) and len(value) > 9000:
            value = value[:9000]
        if self.rng.random() < 0.03:
            return b"\xff\xfe"  # not UTF-8
        if isinstance(value, str) and not is_utf8(value):
            return value.encode("utf-8", "surrogatepass")  # what a lax client sends
        return value

    def for_field(self, name: str, schema: dict[str, Any]) -> Any:
        """A value of the field ``name``, following its schema (mostly) or not."""
        if self.rng.random() < 0.25:
            return self.rng.choice(self.junk + self.pools["text"])
        schema = self.resolve(schema)
        if "enum" in schema:
            return self.rng.choice([*schema["enum"], *self.pools["text"][:4]])
        types = schema.get("type", "string")
        kind = self.rng.choice(types) if isinstance(types, list) else types
        if kind == "null":
            return None
        if kind == "boolean":
            return self.rng.choice([True, False])
        if kind in ("number", "integer"):
            return self.rng.choice([0, 0.01, 1, 2.5, -1, -0.0, 1e300])
        pool = {
            "run_id": "run",
            "notebook": "path",
            "tracking_uri": "store",
            "which": "which",
        }.get(name, "text")
        return self.pick(pool)

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while True:
            if "$ref" in schema:
                schema = API["$defs"][schema["$ref"].rsplit("/", 1)[1]]
            elif "allOf" in schema and len(schema["allOf"]) == 1:
                schema = {**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}
            else:
                return schema

    def body(self, definition: str) -> Any:
        """A JSON body for ``definition``: an object of its fields, some missing or
        extra, now and then not an object at all."""
        roll = self.rng.random()
        if roll < 0.04:
            return self.rng.choice([[1], "x", 3, None, []])
        schema = API["$defs"][definition]
        body = {}
        for name, field in schema["properties"].items():
            if name in schema.get("required", []) or self.rng.random() < 0.5:
                body[name] = self.for_field(name, field)
        if self.rng.random() < 0.1:
            body.pop(self.rng.choice(list(body) or ["x"]), None)
        if self.rng.random() < 0.1:
            body[self.rng.choice(["path", "\x00", "x" * 200, "notebook "])] = 1
        return body


def is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def raw_body(rng: random.Random, body: Any) -> bytes:
    if rng.random() < 0.03:
        return rng.choice([b"{not json", b"\xff\xfe", b"[" * 5000, b'{"a": 1e999}', b""])
    return json.dumps(body).encode()


async def test_fuzzing_every_endpoint_never_fails_nor_writes_outside_the_root(
    jp_fetch,
    jp_root_dir: Path,
    nbrepro_home: Path,
    outside: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mlflow import MlflowClient

    # Whatever the server writes by accident lands where it is watched: relative paths
    # under a working folder, temporary files in a folder of the test.
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (outside / "notes.txt").write_text("not a store")
    (jp_root_dir / "a.ipynb").write_text("{}")
    # The server's own store, made on first use, with a run nbrepro did not capture.
    assert (await send(jp_fetch, "GET", "runs"))[0] == 200
    client = MlflowClient(tracking_uri=paths.default_tracking_uri())
    run_id = client.create_run(client.search_experiments()[0].experiment_id).info.run_id
    store = f"sqlite:///{outside / 'store.db'}"
    assert (await send(jp_fetch, "GET", "runs", tracking_uri=store))[0] == 200
    assert (await send(jp_fetch, "GET", "reruns"))[0] == 200
    before = tree(tmp_path, skip=jp_root_dir)

    rng = random.Random(FUZZ_SEED)
    values = Values(rng, outside, run_id)
    seen: dict[tuple[str, str], set[int]] = {}
    started = time.monotonic()
    for _ in range(FUZZ_REQUESTS):
        method, template, arguments, definition = rng.choice(ENDPOINTS)
        path = template.format(run=values.pick("run"), job=values.pick("job"))
        if not is_utf8(path):
            path = path.encode("utf-8", "replace").decode()
        params = {
            name: values.query_value(kind) for name, kind in arguments.items() if rng.random() < 0.5
        }
        headers = {}
        if rng.random() < 0.1:
            header = values.pick("store")
            if header.isprintable() and header.isascii() and header.strip() == header:
                headers["X-Nbrepro-Tracking-Uri"] = header
        raw = raw_body(rng, values.body(definition)) if definition else None
        # Path segments are sent as they are: "/" in a value is a segment of its own.
        parts = path.split("/")
        if any(part in ("", ".", "..") for part in parts):
            continue  # names another route, or none
        what = f"{method} {path[:120]} {urlencode(params)[:300]} {headers} {(raw or b'')[:300]!r}"
        code, answer = await send(jp_fetch, method, *parts, raw=raw, headers=headers, **params)
        assert code in STATUSES, (code, answer, what)
        if code == 200:
            shape = SUCCESS.get(template)
            if shape:
                check(answer, shape)
        else:
            assert len(answer["message"]) <= 2100, what
        seen.setdefault((method, template), set()).add(code)
    elapsed = time.monotonic() - started

    assert set(seen) == {(m, t) for m, t, _, _ in ENDPOINTS}, "an endpoint was never tried"
    assert tree(tmp_path, skip=jp_root_dir) == before, "a file changed outside the root"
    assert elapsed < 60, f"the fuzz took {elapsed:.0f} s"
