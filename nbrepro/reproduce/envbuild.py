"""Rebuild a recorded environment with uv, for ``nbrepro rerun --env recorded``.

Environments live in ``$NBREPRO_HOME/envs/<key>``, keyed by the hash of the
Python version and the requirement set, so a second rerun of any run with the
same packages reuses them. A folder is used only once a ``.complete`` marker is
written, so an interrupted build is rebuilt rather than trusted. Each gets a
kernelspec in its own ``share/jupyter`` (added to ``JUPYTER_PATH`` for the
rerun), not in the user's Jupyter folders.

The current nbrepro is always installed (the rerun's kernel captures itself),
and ipykernel if the recorded environment lacked it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from nbrepro import paths
from nbrepro._version import __version__
from nbrepro.capture import environment
from nbrepro.errors import NbreproError

ALWAYS_SKIPPED = {"pip", "setuptools", "wheel", "nbrepro"}


class EnvironmentNotRebuildable(NbreproError):
    """The recorded environment cannot be rebuilt from a package registry."""


class EnvironmentBuildFailed(NbreproError):
    """uv could not create or populate the environment."""


@dataclass
class BuiltEnvironment:
    path: Path
    python: Path
    kernel_name: str
    jupyter_path: Path
    reused: bool
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "kernel_name": self.kernel_name,
            "reused": self.reused,
            "skipped": self.skipped,
            "notes": self.notes,
        }


def requirement_set(env: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """Installable requirement lines, and the packages no registry can rebuild."""
    lines: list[str] = []
    missing: list[str] = []
    for pkg in env["packages"]:
        name = environment.canonical_name(pkg["name"])
        if name in ALWAYS_SKIPPED:
            continue
        source = pkg.get("source") or {"kind": "index"}
        kind = source.get("kind")
        if kind == "index":
            lines.append(f"{pkg['name']}=={pkg['version']}")
        elif kind == "vcs" and source.get("url") and source.get("commit"):
            lines.append(f"{pkg['name']} @ git+{source['url']}@{source['commit']}")
        else:
            where = source.get("url") or "unknown origin"
            missing.append(f"{pkg['name']}=={pkg['version']} ({kind} install from {where})")
    if not any(environment.canonical_name(line.split("==")[0]) == "ipykernel" for line in lines):
        lines.append("ipykernel")
    return sorted(lines, key=str.lower), missing


def environment_key(python_version: str, lines: list[str]) -> str:
    digest = hashlib.sha256(json.dumps([python_version, lines]).encode()).hexdigest()
    return digest[:16]


def nbrepro_requirement() -> str:
    """How to install the nbrepro running now: its source folder, or its release."""
    try:
        dist = metadata.distribution("nbrepro")
        direct = dist.read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    if direct:
        url = json.loads(direct).get("url", "")
        if url.startswith("file://"):
            return unquote(urlsplit(url).path)
    return f"nbrepro=={__version__}"


def _uv() -> str:
    try:
        from uv import find_uv_bin

        return str(find_uv_bin())
    except (ImportError, FileNotFoundError):
        found = shutil.which("uv")
        if found:
            return found
    raise EnvironmentBuildFailed("uv is not installed: pip install uv")


def _run(cmd: list[str], log: Callable[[str], None]) -> None:
    env = dict(os.environ, UV_PYTHON_DOWNLOADS="never", UV_NO_PROGRESS="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise EnvironmentBuildFailed(f"{' '.join(cmd[:3])} ... failed:\n{tail}")
    log(" ".join(cmd[:3]) + " ... done")


def ensure_environment(
    env: Mapping[str, Any],
    *,
    allow_missing: bool = False,
    log: Callable[[str], None] = lambda _: None,
) -> BuiltEnvironment:
    """The recorded environment, built with uv or reused from the cache."""
    lines, missing = requirement_set(env)
    if missing and not allow_missing:
        listed = "\n".join(f"  - {m}" for m in missing)
        raise EnvironmentNotRebuildable(
            f"{len(missing)} recorded package(s) cannot be rebuilt from a registry:\n{listed}\n"
            "Rerun with --allow-missing to rebuild without them, or with --env current."
        )
    version = str(env["python"]["version"])
    key = environment_key(version, lines)
    root = paths.nbrepro_home() / "envs" / key
    python = root / "bin" / "python"
    kernel_name = f"nbrepro-{key}"
    jupyter_path = root / "share" / "jupyter"
    built = BuiltEnvironment(root, python, kernel_name, jupyter_path, reused=True, skipped=missing)
    if (root / ".complete").exists() and python.exists():
        return built
    built.reused = False
    if root.exists():
        shutil.rmtree(root)  # an interrupted build: start again
    uv = _uv()
    try:
        _run([uv, "venv", "--quiet", "--python", version, str(root)], log)
    except EnvironmentBuildFailed:
        short = ".".join(version.split(".")[:2])
        built.notes.append(f"Python {version} is not installed here; used Python {short}")
        _run([uv, "venv", "--quiet", "--python", short, str(root)], log)
    req = root / "requirements.txt"
    req.write_text("\n".join(lines) + "\n", "utf-8")
    # Bytecode compiled at build time: otherwise the first reruns in a fresh
    # environment spend seconds compiling every module they import.
    install = [uv, "pip", "install", "--compile-bytecode", "--python", str(python)]
    _run([*install, "-r", str(req)], log)
    _run([*install, nbrepro_requirement()], log)
    spec = jupyter_path / "kernels" / kernel_name
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"nbrepro recorded env {key}",
                "language": "python",
            }
        ),
        "utf-8",
    )
    (root / ".complete").write_text(json.dumps({"python": version, "requirements": len(lines)}))
    return built
