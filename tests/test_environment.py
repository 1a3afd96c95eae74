"""capture_environment against the real installed packages and this machine."""

from __future__ import annotations

import copy
import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest
import yaml

from nbrepro.capture import environment
from nbrepro.capture.environment import (
    DEFAULT_ENV_ALLOW,
    canonical_name,
    capture_environment,
    diff_environments,
    environment_hash,
    python_env_yaml,
    requirements_txt,
)


def fake_dist(
    site: Path, name: str, version: str, direct_url: dict[str, Any] | str | None = None
) -> Path:
    """A minimal installed distribution, as pip leaves it in site-packages."""
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n\nLong description.\n"
    )
    if direct_url is not None:
        text = direct_url if isinstance(direct_url, str) else json.dumps(direct_url)
        (info / "direct_url.json").write_text(text)
    return info


def by_name(env: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {canonical_name(p["name"]): p for p in env["packages"]}


@pytest.fixture(scope="module")
def env() -> dict[str, Any]:
    return capture_environment()


def test_python_and_packages(env: dict[str, Any]) -> None:
    assert env["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert env["python"]["implementation"] == "CPython"
    assert env["python"]["executable"] == sys.executable
    pkgs = by_name(env)
    for name in ("pytest", "mlflow", "psutil", "numpy"):
        assert pkgs[name]["version"] == importlib.metadata.version(name)
        assert pkgs[name]["source"] == {"kind": "index"}
    names = [canonical_name(p["name"]) for p in env["packages"]]
    assert names == sorted(names) and len(names) == len(set(names))
    json.dumps(env)  # JSON-serializable as it is


def test_os_hardware_threading(env: dict[str, Any]) -> None:
    assert env["os"]["system"] and env["os"]["machine"]
    hw = env["hardware"]
    assert hw["logical_cores"] >= 1 and hw["memory_bytes"] > 0
    assert isinstance(hw["gpus"], list)
    assert set(env["threading"]) == {*environment.THREAD_VARS, "blas"}


def test_blas_recorded_once_numpy_is_imported() -> None:
    import numpy  # noqa: F401  (the notebook would have imported it)

    blas = capture_environment()["threading"]["blas"]
    assert blas, "numpy links a BLAS library"
    assert set(blas[0]) == {"user_api", "internal_api", "version", "num_threads", "filepath"}
    assert "/" not in blas[0]["filepath"]


def test_nothing_heavy_is_imported() -> None:
    code = textwrap.dedent(
        """
        import sys
        from nbrepro.capture.environment import capture_environment
        capture_environment()
        heavy = {"numpy", "torch", "threadpoolctl", "mlflow", "IPython", "tornado"}
        print(sorted(heavy & set(sys.modules)))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_direct_url_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    fake_dist(
        site, "my-editable", "0.1", {"url": "file:///src/proj", "dir_info": {"editable": True}}
    )
    fake_dist(site, "my-local", "1.0", {"url": "file:///src/other", "dir_info": {}})
    fake_dist(
        site,
        "my-vcs",
        "2.0",
        {
            "url": "https://user:ghp_secret@github.example/org/repo.git",
            "vcs_info": {"vcs": "git", "commit_id": "a" * 40, "requested_revision": "main"},
        },
    )
    fake_dist(site, "my-archive", "3.0", {"url": "https://files.example/a.whl", "archive_info": {}})
    fake_dist(site, "my-broken", "4.0", "{not json")
    monkeypatch.syspath_prepend(str(site))

    env = capture_environment()
    pkgs = by_name(env)
    assert pkgs["my-editable"]["source"] == {"kind": "editable", "url": "file:///src/proj"}
    assert pkgs["my-local"]["source"] == {"kind": "local", "url": "file:///src/other"}
    assert pkgs["my-vcs"]["source"] == {
        "kind": "vcs",
        "url": "https://github.example/org/repo.git",
        "vcs": "git",
        "commit": "a" * 40,
    }
    assert pkgs["my-archive"]["source"] == {"kind": "archive", "url": "https://files.example/a.whl"}
    assert pkgs["my-broken"]["source"] == {"kind": "unknown"}
    assert any("my-broken" in note for note in env["notes"])
    assert "ghp_secret" not in json.dumps(env)

    req = requirements_txt(env)
    assert f"my-vcs @ git+https://github.example/org/repo.git@{'a' * 40}\n" in req
    assert "my-archive @ https://files.example/a.whl\n" in req
    assert (
        "# my-editable==0.1  (editable install from file:///src/proj; "
        "not installable from an index)\n" in req
    )
    assert "\n# my-local==1.0  (local install from file:///src/other;" in req


def test_first_seen_distribution_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    fake_dist(site, "pytest", "0.0.1")
    monkeypatch.syspath_prepend(str(site))
    assert by_name(capture_environment())["pytest"]["version"] == "0.0.1"
    monkeypatch.undo()
    assert by_name(capture_environment())["pytest"]["version"] == importlib.metadata.version(
        "pytest"
    )


def test_package_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    info = fake_dist(site, "cached-pkg", "1.0")
    monkeypatch.syspath_prepend(str(site))
    assert by_name(capture_environment())["cached-pkg"]["version"] == "1.0"

    # Rewriting a file inside a dist-info folder leaves the signature alone, so the cached
    # list is served: proof that the second call does not read metadata again.
    metadata = info / "METADATA"
    metadata.write_text(metadata.read_text().replace("Version: 1.0", "Version: 9.9"))
    assert by_name(capture_environment())["cached-pkg"]["version"] == "1.0"

    fake_dist(site, "new-pkg", "0.5")  # a new install changes the folder: cache invalidated
    pkgs = by_name(capture_environment())
    assert pkgs["new-pkg"]["version"] == "0.5"
    assert pkgs["cached-pkg"]["version"] == "9.9"


def test_callers_cannot_corrupt_the_cache() -> None:
    first = capture_environment()
    first["packages"][0]["version"] = "tampered"
    first["packages"][0]["source"]["kind"] = "tampered"
    first["hardware"]["gpus"].append({"name": "tampered"})
    second = capture_environment()
    assert second["packages"][0]["version"] != "tampered"
    assert second["packages"][0]["source"]["kind"] != "tampered"
    assert {"name": "tampered"} not in second["hardware"]["gpus"]


def test_env_vars_drop_secrets() -> None:
    environ = {
        "MY_API_TOKEN": "s3cr3t-value",
        "MLFLOW_TRACKING_PASSWORD": "hunter2-pw",
        "MLFLOW_TRACKING_URI": "https://user:pw@host/",
        "OMP_NUM_THREADS": "3",
        "PYTHONHASHSEED": "0",
        "HOME": "/root",
    }
    env = capture_environment(env_allow=[*DEFAULT_ENV_ALLOW, "MY_*"], environ=environ)
    assert env["env_vars"] == {
        "MLFLOW_TRACKING_URI": "https://host/",
        "OMP_NUM_THREADS": "3",
        "PYTHONHASHSEED": "0",
    }
    assert env["threading"]["OMP_NUM_THREADS"] == "3"
    text = json.dumps(env)
    assert "s3cr3t-value" not in text and "hunter2-pw" not in text and "user:pw" not in text


def test_requirements_txt(env: dict[str, Any]) -> None:
    req = requirements_txt(env)
    lines = req.splitlines()
    assert lines[0].startswith("# generated by nbrepro") and env["python"]["version"] in lines[0]
    assert f"pytest=={importlib.metadata.version('pytest')}" in lines
    assert f"mlflow=={importlib.metadata.version('mlflow')}" in lines
    assert not any(line.startswith(("pip==", "setuptools==", "wheel==")) for line in lines)
    assert any(line.startswith("# nbrepro==") and "editable" in line for line in lines)
    assert req.endswith("\n")


def test_python_env_yaml(env: dict[str, Any]) -> None:
    text = python_env_yaml(env)
    doc = yaml.safe_load(text)
    assert doc["python"] == env["python"]["version"]
    assert f"pip=={importlib.metadata.version('pip')}" in doc["build_dependencies"]
    assert doc["dependencies"] == ["-r requirements.txt"]
    assert text.startswith(f"python: {env['python']['version']}\n")

    odd = {"python": {"version": "3.10"}, "packages": []}
    assert yaml.safe_load(python_env_yaml(odd)) == {
        "python": "3.10",
        "build_dependencies": ["pip"],
        "dependencies": ["-r requirements.txt"],
    }


def test_hash(env: dict[str, Any]) -> None:
    again = capture_environment()
    assert env["hash"] == again["hash"] == environment_hash(env)
    assert len(env["hash"]) == 64 and int(env["hash"], 16) >= 0

    changed = copy.deepcopy(env)
    next(p for p in changed["packages"] if p["name"] == "pytest")["version"] = "0.0.1"
    assert environment_hash(changed) != env["hash"]

    moved = copy.deepcopy(env)  # another machine: other paths, hardware and variables
    for p in moved["packages"]:
        if p["source"]["kind"] == "editable":
            p["source"]["url"] = "file:///elsewhere"
    moved["hardware"]["cpu_model"] = "other"
    moved["env_vars"] = {"TZ": "UTC"}
    assert environment_hash(moved) == env["hash"]

    other_python = copy.deepcopy(env)
    other_python["python"]["version"] = "3.99.0"
    assert environment_hash(other_python) != env["hash"]


NVIDIA_SMI = """#!/bin/sh
case "$1" in
  --query-gpu=*)
    echo "NVIDIA A100-SXM4-40GB, 535.104.05, 40960"
    echo "Tesla T4, 535.104.05, [N/A]"
    ;;
  *)
    echo "+-----------------------------------------------------------------------------+"
    echo "| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2     |"
    ;;
esac
"""


def fake_tool(bin_dir: Path, name: str, script: str) -> None:
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text(script)
    tool.chmod(0o755)


def test_fake_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tool(tmp_path / "bin", "nvidia-smi", NVIDIA_SMI)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(environment, "_hardware_cache", None)
    hw = capture_environment()["hardware"]
    assert hw["gpus"] == [
        {"name": "NVIDIA A100-SXM4-40GB", "driver_version": "535.104.05", "memory_mib": 40960},
        {"name": "Tesla T4", "driver_version": "535.104.05", "memory_mib": None},
    ]
    assert hw["cuda_version"] == "12.2" and hw["cuda_version_source"] == "nvidia-smi"


def test_failing_nvidia_smi_is_a_note(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_tool(tmp_path / "bin", "nvidia-smi", "#!/bin/sh\necho 'driver not loaded' >&2\nexit 9\n")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(environment, "_hardware_cache", None)
    env = capture_environment()
    assert env["hardware"]["gpus"] == [] and env["hardware"]["cuda_version"] is None
    assert any(note.startswith("nvidia-smi failed") for note in env["notes"])


def test_cuda_from_an_already_imported_torch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch is not installed here; a stand-in module carries the one attribute read.
    fake_torch = types.ModuleType("torch")
    fake_torch.version = types.SimpleNamespace(cuda="12.1")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    monkeypatch.setattr(environment, "_hardware_cache", None)
    hw = capture_environment()["hardware"]
    assert hw["cuda_version"] == "12.1" and hw["cuda_version_source"] == "torch"


def test_diff_environments(env: dict[str, Any]) -> None:
    assert diff_environments(env, copy.deepcopy(env)) == {
        "same": True,
        "python": None,
        "added": [],
        "removed": [],
        "changed": [],
    }
    new = copy.deepcopy(env)
    new["python"]["version"] = "3.12.1"
    new["packages"] = [p for p in new["packages"] if p["name"] != "pytest"]
    new["packages"].append({"name": "Brand_New", "version": "1.0", "source": {"kind": "index"}})
    mlflow = next(p for p in new["packages"] if p["name"] == "mlflow")
    mlflow["version"] = "0.1"
    psutil = next(p for p in new["packages"] if p["name"] == "psutil")
    psutil["source"] = {
        "kind": "vcs",
        "url": "https://g.example/p.git",
        "vcs": "git",
        "commit": "b",
    }
    for p in new["packages"]:
        if p["source"]["kind"] == "editable":
            p["source"]["url"] = "file:///elsewhere"  # same requirement, another folder

    d = diff_environments(env, new)
    assert d["same"] is False
    assert d["python"] == {"old": f"CPython {env['python']['version']}", "new": "CPython 3.12.1"}
    assert d["added"] == [{"name": "brand-new", "version": "1.0"}]
    assert d["removed"] == [{"name": "pytest", "version": importlib.metadata.version("pytest")}]
    old_mlflow = importlib.metadata.version("mlflow")
    old_psutil = importlib.metadata.version("psutil")
    assert d["changed"] == [
        {"name": "mlflow", "old": old_mlflow, "new": "0.1"},
        {
            "name": "psutil",
            "old": old_psutil,
            "new": old_psutil,
            "old_source": {"kind": "index"},
            "new_source": psutil["source"],
        },
    ]


def test_the_hash_seed_is_recorded_as_the_process_hashes() -> None:
    def seed_in(value: str | None, then: str = "") -> dict[str, object]:
        code = f"import json, os\n{then}\nfrom nbrepro.capture import environment as e\n"
        code += "print(json.dumps(e.hash_seed()))"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}
        if value is not None:
            env["PYTHONHASHSEED"] = value
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        return dict(json.loads(out.stdout))

    assert seed_in(None) == {"fixed": False, "seed": None}
    assert seed_in("random") == {"fixed": False, "seed": None}
    assert seed_in("0") == {"fixed": True, "seed": "0"}
    assert seed_in("1234") == {"fixed": True, "seed": "1234"}
    assert seed_in("007") == {"fixed": True, "seed": "7"}  # the same seed as 7
    # A notebook's seed-everything recipe sets the variable: its own hashing is unchanged.
    if Path("/proc/self/environ").is_file():
        recipe = "os.environ['PYTHONHASHSEED'] = '42'"
        assert seed_in(None, recipe) == {"fixed": False, "seed": None}
        assert seed_in("5", "del os.environ['PYTHONHASHSEED']") == {"fixed": True, "seed": "5"}

    def rec(seed: object) -> dict[str, object]:
        return {"environment": {"python": {"hash_seed": seed}}}

    assert environment.recorded_hash_seed(rec({"fixed": True, "seed": "1234"})) == "1234"
    assert environment.recorded_hash_seed(rec({"fixed": False, "seed": None})) is None
    assert environment.recorded_hash_seed({"environment": {"python": {}}}) is None
    # A record is checked: what PYTHONHASHSEED cannot take would stop the kernel starting.
    for bad in ("-1", "4294967296", "1; rm", None):
        assert environment.recorded_hash_seed(rec({"fixed": True, "seed": bad})) is None
    assert environment.recorded_hash_seed(rec("fixed")) is None
    assert environment.recorded_hash_seed(rec({"fixed": "yes", "seed": "3"})) is None
