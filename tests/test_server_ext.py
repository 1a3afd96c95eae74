"""The server extension's REST API through a real Jupyter server (jp_fetch)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import tornado
from deltalake import write_deltalake
from helpers import latest_run, write_notebook

from nbrepro import paths

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture
def jp_server_config(jp_server_config):
    return {"ServerApp": {"jpserver_extensions": {"nbrepro": True}}}


@pytest.fixture
def captured(kernel_factory, jp_root_dir: Path, nbrepro_home: Path) -> tuple[str, Path, Path]:
    table = jp_root_dir / "t"
    write_deltalake(str(table), pd.DataFrame({"x": [1, 2]}))
    nb = write_notebook(jp_root_dir / "a.ipynb", [("l", "%load_ext nbrepro")])
    k = kernel_factory(cwd=jp_root_dir, env={"JPY_SESSION_NAME": str(nb)})
    k.ok("%load_ext nbrepro", "l")
    k.ok(
        f"%%repro --name api\nfrom deltalake import DeltaTable\nDeltaTable({str(table)!r}).to_pandas()"
    )
    return latest_run(paths.default_tracking_uri()).info.run_id, table, nb


async def get(jp_fetch, *parts: str, **params: str) -> tuple[int, dict]:
    try:
        resp = await jp_fetch("nbrepro", *parts, params=params)
    except tornado.httpclient.HTTPClientError as exc:
        assert exc.response is not None
        return exc.code, json.loads(exc.response.body)
    return resp.code, json.loads(resp.body)


async def test_version(jp_fetch) -> None:
    from nbrepro import __version__

    assert await get(jp_fetch, "version") == (200, {"version": __version__})


async def test_every_endpoint_refuses_unauthenticated(jp_fetch, jp_http_port, captured) -> None:
    run_id = captured[0]
    client = tornado.httpclient.AsyncHTTPClient()
    for path in ("version", "runs", f"runs/{run_id}", f"compare?a={run_id}&b={run_id}"):
        with pytest.raises(tornado.httpclient.HTTPClientError) as info:
            await client.fetch(f"http://localhost:{jp_http_port}/a%40b/nbrepro/{path}")
        assert info.value.code == 403, path


async def test_runs_of_a_notebook_paged_and_details_with_drift(jp_fetch, captured) -> None:
    run_id, table, nb = captured
    code, body = await get(jp_fetch, "runs", notebook=nb.name, max_results="1")
    assert code == 200
    assert [r["run_id"] for r in body["runs"]] == [run_id]
    write_deltalake(str(table), pd.DataFrame({"x": [3]}), mode="append")
    code, details = await get(jp_fetch, "runs", run_id)
    assert code == 200
    assert details["drift"][0]["state"] == "moved"
    assert details["drift"][0]["detail"] == "v0 read, table now at v1"
    assert details["environment"]["packages"] > 10
    code, report = await get(jp_fetch, "compare", a=run_id, b=run_id)
    assert code == 200 and report["verdict"] == "reproduced"


async def test_bad_requests(jp_fetch, captured) -> None:
    code, body = await get(jp_fetch, "runs", "0" * 32)
    assert code == 404 and "no run" in body["message"]
    code, body = await get(jp_fetch, "runs", "nope")
    assert code == 400 and "not an MLflow run id" in body["message"]
    code, body = await get(jp_fetch, "runs", max_results="x")
    assert code == 400
    code, body = await get(jp_fetch, "runs", notebook="../../etc/passwd")
    assert code == 400 and "outside the server's root" in body["message"]
