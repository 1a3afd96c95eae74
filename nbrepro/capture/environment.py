"""The kernel's environment, for a reproducibility record: Python, packages, OS, hardware.

:func:`capture_environment` runs on every capture, so it is kept cheap. Packages are cached
under a signature of the ``*.dist-info``/``*.egg-info`` names on ``sys.path`` and the
folders' mtimes (about a millisecond to compute), and their name and version are read from
the first lines of METADATA, not by ``importlib.metadata``'s full parse (ten times slower).
OS and hardware are probed once per process. torch and numpy are never imported here, only
looked at when the notebook already did. Failed probes leave None or empty values and a line
in ``notes``; the result is JSON-serializable.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import psutil

from nbrepro.record.summary import python_label
from nbrepro.redact import redact_env, strip_uri_credentials

# Secret-named variables (MLFLOW_TRACKING_PASSWORD) are dropped whatever this says. SPARK_*
# is left out: mostly install paths, and Spark settings live in the session's configuration.
# fmt: off
DEFAULT_ENV_ALLOW: tuple[str, ...] = (
    "PYTHONHASHSEED", "PYTHONPATH", "CUDA_VISIBLE_DEVICES", "CUDA_DEVICE_ORDER",
    "CUDA_LAUNCH_BLOCKING", "CUBLAS_WORKSPACE_CONFIG", "NVIDIA_TF32_OVERRIDE", "OMP_*", "MKL_*",
    "OPENBLAS_*", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_*", "KMP_*", "TF_*", "TORCH_*", "JAX_*",
    "XLA_FLAGS", "NUMBA_*", "TOKENIZERS_PARALLELISM", "HF_HUB_OFFLINE", "LANG", "LC_ALL", "TZ",
    "MLFLOW_*",
)
THREAD_VARS: tuple[str, ...] = (
    "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
# fmt: on
BUILD_DEPENDENCIES = ("pip", "setuptools", "wheel")
NVIDIA_SMI_TIMEOUT_S = 5.0

_packages_cache: tuple[tuple[Any, ...], list[dict[str, Any]], list[str]] | None = None
_hardware_cache: tuple[dict[str, Any], list[str]] | None = None


@functools.lru_cache(maxsize=4096)
def canonical_name(name: str) -> str:
    """The PEP 503 normalized form of a distribution name (``Foo_Bar`` -> ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


_folder_cache: dict[str, tuple[int, tuple[str, ...]]] = {}


def _path_signature() -> tuple[Any, ...]:
    """The distribution metadata names on sys.path: changes on install, upgrade or removal.

    Folder mtimes are not part of it (the working directory on sys.path changes
    whenever any file is written there); they only let an unchanged folder skip
    its rescan.
    """
    sig: list[Any] = []
    for entry in sys.path:
        folder = entry or os.getcwd()  # "" on sys.path means the working directory
        try:
            st = os.stat(folder)
            if not stat.S_ISDIR(st.st_mode):  # a zip file
                sig.append((folder, st.st_mtime_ns, st.st_size))
                continue
            cached = _folder_cache.get(folder)
            if cached is not None and cached[0] == st.st_mtime_ns:
                names = cached[1]
            else:
                with os.scandir(folder) as it:
                    names = tuple(
                        sorted(e.name for e in it if e.name.endswith((".dist-info", ".egg-info")))
                    )
                _folder_cache[folder] = (st.st_mtime_ns, names)
            sig.append((folder, names))
        except OSError:
            sig.append((folder, None))
    return tuple(sig)


def _name_version(dist: importlib.metadata.Distribution) -> tuple[str | None, str | None]:
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = None
    for line in text.splitlines():
        if not line:
            break  # end of the headers; the long description follows
        if line.startswith("Name:"):
            name = line[5:].strip()
        elif line.startswith("Version:"):
            version = line[8:].strip()
        if name and version:
            return name, version
    # Unusual layouts (folded headers, no METADATA file): let importlib parse them.
    return dist.metadata["Name"], dist.version


def _source(dist: importlib.metadata.Distribution, name: str, notes: list[str]) -> dict[str, Any]:
    """Where a distribution was installed from, per its PEP 610 ``direct_url.json``."""
    text = dist.read_text("direct_url.json")
    if not text:
        return {"kind": "index"}
    try:
        info = json.loads(text)
    except ValueError:
        info = None
    if not isinstance(info, dict):
        notes.append(f"{name}: unreadable direct_url.json")
        return {"kind": "unknown"}
    url = strip_uri_credentials(str(info.get("url", "")))
    source: dict[str, Any] = {"kind": "archive", "url": url}  # a wheel or sdist from a URL
    if "vcs_info" in info:
        vcs = info["vcs_info"]
        source = {"kind": "vcs", "url": url, "vcs": vcs.get("vcs"), "commit": vcs.get("commit_id")}
    elif info.get("dir_info", {}).get("editable"):
        source["kind"] = "editable"
    elif url.startswith("file:") or "dir_info" in info:
        source["kind"] = "local"
    if info.get("subdirectory"):
        source["subdirectory"] = info["subdirectory"]
    return source


def _read_packages(notes: list[str]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for dist in importlib.metadata.distributions():
        try:
            name, version = _name_version(dist)
            if not name or version is None:
                notes.append(f"distribution without a name or version skipped: {dist!r}")
            elif canonical_name(name) not in found:  # else shadowed, as importlib resolves it
                found[canonical_name(name)] = {
                    "name": name,
                    "version": version,
                    "source": _source(dist, name, notes),
                }
        except (OSError, ValueError) as exc:
            notes.append(f"unreadable distribution {dist!r}: {exc}")
    return [found[key] for key in sorted(found)]


def _packages(notes: list[str]) -> list[dict[str, Any]]:
    """Fresh copies (callers may modify them) of the cached or newly read package list."""
    global _packages_cache
    sig = _path_signature()
    if _packages_cache is None or _packages_cache[0] != sig:
        read_notes: list[str] = []
        _packages_cache = (sig, _read_packages(read_notes), read_notes)
    notes.extend(_packages_cache[2])
    return [{**p, "source": dict(p["source"])} for p in _packages_cache[1]]


def _cpu_model(notes: list[str]) -> str | None:
    if sys.platform.startswith("linux"):
        fields: dict[str, str] = {}
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
                for key, colon, value in (line.partition(":") for line in f):
                    if colon:
                        fields.setdefault(key.strip(), value.strip())
        except OSError as exc:
            notes.append(f"/proc/cpuinfo unreadable: {exc}")
        # x86 has "model name"; many ARM kernels only "Hardware" or "Model".
        for key in ("model name", "Hardware", "Model"):
            if fields.get(key):
                return fields[key]
    return platform.processor() or None


def _nvidia(notes: list[str]) -> tuple[list[dict[str, Any]], str | None]:
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return [], None
    query = ["--query-gpu=name,driver_version,memory.total", "--format=csv,noheader,nounits"]
    gpus: list[dict[str, Any]] = []
    try:
        run = functools.partial(
            subprocess.run, capture_output=True, text=True, timeout=NVIDIA_SMI_TIMEOUT_S
        )
        for line in run([exe, *query], check=True).stdout.splitlines():
            if line.strip():
                name, driver, memory = (f.strip() for f in line.rsplit(",", 2))
                mib = int(float(memory)) if re.fullmatch(r"[\d.]+", memory) else None
                gpus.append({"name": name, "driver_version": driver, "memory_mib": mib})
        m = re.search(r"CUDA Version:\s*([\d.]+)", run([exe], check=False).stdout)
        return gpus, m.group(1) if m else None
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        notes.append(f"nvidia-smi failed: {exc}")
        return gpus, None


def _hardware() -> tuple[dict[str, Any], list[str]]:
    """CPU, memory and GPUs, probed once per process (a copy, and the probes' notes)."""
    global _hardware_cache
    if _hardware_cache is None:
        notes: list[str] = []
        gpus, cuda = _nvidia(notes)
        hw = {
            "cpu_model": _cpu_model(notes),
            "physical_cores": psutil.cpu_count(logical=False),
            "logical_cores": psutil.cpu_count(logical=True),
            "memory_bytes": psutil.virtual_memory().total,
            "gpus": gpus,
            "cuda_version": cuda,
            "cuda_version_source": "nvidia-smi" if cuda else None,
        }
        lib, lib_version = platform.libc_ver()
        system = {
            "system": platform.system(),
            "release": platform.release(),
            "version": platform.version(),
            "machine": platform.machine(),
            "platform": platform.platform(),
            "libc": f"{lib} {lib_version}" if lib else None,
        }
        _hardware_cache = ({"os": system, "hardware": hw}, notes)
    return json.loads(json.dumps(_hardware_cache[0])), list(_hardware_cache[1])


_blas_cache: dict[int, list[dict[str, Any]]] = {}


def _blas_info() -> list[dict[str, Any]]:
    """BLAS libraries loaded in this process (threadpoolctl, ~20 ms a call).

    Cached by the number of loaded modules: a new native library usually comes
    with a new import.
    """
    key = len(sys.modules)
    if key not in _blas_cache:
        from threadpoolctl import threadpool_info

        keys = ("user_api", "internal_api", "version", "num_threads")
        _blas_cache.clear()
        _blas_cache[key] = [
            {**{k: lib.get(k) for k in keys}, "filepath": os.path.basename(lib["filepath"])}
            for lib in threadpool_info()
        ]
    return _blas_cache[key]


def _threading(environ: Mapping[str, str], notes: list[str]) -> dict[str, Any]:
    info: dict[str, Any] = {name: environ.get(name) for name in THREAD_VARS}
    info["blas"] = None  # unknown until numpy has loaded a BLAS
    if "numpy" in sys.modules:
        try:
            info["blas"] = [dict(lib) for lib in _blas_info()]
        except ImportError:
            notes.append("threadpoolctl is not installed: BLAS threads not recorded")
        except Exception as exc:  # threadpoolctl pokes loaded libraries through ctypes
            notes.append(f"threadpoolctl failed: {type(exc).__name__}: {exc}")
    return info


HASH_SEED_ENV = "PYTHONHASHSEED"
# What `nbrepro run` starts a kernel with when the environment sets no seed.
DEFAULT_HASH_SEED = "0"
MAX_HASH_SEED = 4_294_967_295


def hash_seed() -> dict[str, Any]:
    """Whether this process hashes ``str`` and ``bytes`` with a fixed seed (then set and
    dict-of-set orderings replay run after run), and which: ``{"fixed", "seed"}``.

    ``sys.flags.hash_randomization`` is off only for ``PYTHONHASHSEED=0``; a fixed
    non-zero seed is told by the variable the process was started with. That is read as
    it was at start (``/proc/self/environ`` on Linux): a notebook that sets
    ``os.environ["PYTHONHASHSEED"]`` (as seed-everything recipes do) changes nothing of
    its own hashing. Elsewhere ``os.environ`` is read, believed as it is.
    """
    return dict(_hash_seed())


@functools.lru_cache(maxsize=1)
def _hash_seed() -> tuple[tuple[str, Any], ...]:
    if not sys.flags.hash_randomization:
        return (("fixed", True), ("seed", "0"))
    return tuple(seed_record((_start_value(HASH_SEED_ENV) or "").strip()).items())


def seed_record(value: str | None) -> dict[str, Any]:
    """``{"fixed", "seed"}`` of a process started with ``PYTHONHASHSEED=value``."""
    if value is not None and value.isdigit() and int(value) <= MAX_HASH_SEED:
        return {"fixed": True, "seed": str(int(value))}
    return {"fixed": False, "seed": None}


def _start_value(name: str) -> str | None:
    """An environment variable as this process was started with it."""
    try:
        with open("/proc/self/environ", "rb") as fh:
            block = fh.read()
    except OSError:
        return os.environ.get(name)
    prefix = f"{name}=".encode()
    for item in block.split(b"\0"):
        if item.startswith(prefix):
            return item[len(prefix) :].decode("utf-8", errors="replace")
    return None


def recorded_hash_seed(rec: Mapping[str, Any]) -> str | None:
    """The fixed hash seed a record's run had (None: randomized, or not recorded), as
    ``PYTHONHASHSEED`` takes it (a record's value is checked, not trusted)."""
    seed = ((rec.get("environment") or {}).get("python") or {}).get("hash_seed")
    if not isinstance(seed, Mapping) or seed.get("fixed") is not True:
        return None
    return seed_record(str(seed.get("seed"))).get("seed")


def capture_environment(
    *, env_allow: Sequence[str] = DEFAULT_ENV_ALLOW, environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Snapshot this process's environment.

    Args:
        env_allow: Names or ``PREFIX*`` patterns of environment variables to record.
        environ: The variables to read; ``os.environ`` when None.

    Returns:
        A fresh JSON-serializable dict: ``python``, ``packages`` (``{"name", "version",
        "source"}``, ``source["kind"]`` one of index, editable, local, archive, vcs,
        unknown), ``os``, ``hardware``, ``threading``, ``env_vars``, ``hash`` (see
        :func:`environment_hash`) and ``notes``.
    """
    environ = os.environ if environ is None else environ
    fixed, notes = _hardware()
    torch = sys.modules.get("torch")
    torch_cuda = getattr(getattr(torch, "version", None), "cuda", None)
    if fixed["hardware"]["cuda_version"] is None and isinstance(torch_cuda, str):
        fixed["hardware"].update(cuda_version=torch_cuda, cuda_version_source="torch")
    env: dict[str, Any] = {
        "python": {
            "version": platform.python_version(),
            "implementation": platform.python_implementation(),
            "executable": sys.executable,
            "sys_version": sys.version,
            "prefix": sys.prefix,
            "hash_seed": hash_seed(),
        },
        "packages": _packages(notes),
        **fixed,
        "threading": _threading(environ, notes),
        "env_vars": redact_env(environ, env_allow),
    }
    env["hash"] = environment_hash(env)
    env["notes"] = notes
    return env


def _requirement_key(pkg: Mapping[str, Any]) -> str:
    src = pkg.get("source") or {}
    key = f"{canonical_name(pkg['name'])}=={pkg['version']}"
    kind = src.get("kind", "index")
    if kind == "vcs":
        return f"{key} @ {src.get('url')}@{src.get('commit')}#{src.get('subdirectory') or ''}"
    if kind == "archive":
        return f"{key} @ {src.get('url')}"
    # Editable and local paths differ between machines and say nothing about the content.
    return key if kind == "index" else f"{key} ({kind})"


def environment_hash(env: Mapping[str, Any]) -> str:
    """SHA-256 hex of the requirement set: Python implementation and version, and each
    package's ``name==version`` plus, for vcs and URL installs, the URL and commit.

    Not OS, hardware or variables, nor the paths of editable and local installs: two
    checkouts of a project with the same packages hash the same.

    Args:
        env: A :func:`capture_environment` result (``python`` and ``packages`` are used).

    Returns:
        64 hex characters.
    """
    py = env.get("python") or {}
    payload = {
        "python": [py.get("implementation"), py.get("version")],
        "requirements": sorted(_requirement_key(p) for p in env.get("packages") or []),
    }
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def requirements_txt(env: Mapping[str, Any]) -> str:
    """A pip requirements file for the packages, following MLflow's conventions.

    Index installs are pinned ``name==version``, vcs installs ``name @ git+URL@commit``.
    Editable and local installs cannot be installed elsewhere and become comment lines.
    pip, setuptools and wheel are left to :func:`python_env_yaml`.

    Args:
        env: A :func:`capture_environment` result.

    Returns:
        The file's text.
    """
    py = env.get("python") or {}
    lines = [
        f"# generated by nbrepro for {py.get('implementation', 'Python')} "
        f"{py.get('version', '?')}; build tools are pinned in python_env.yaml"
    ]
    for pkg in env.get("packages") or []:
        name, version = pkg["name"], pkg["version"]
        src = pkg.get("source") or {}
        kind = src.get("kind", "index")
        if canonical_name(name) in BUILD_DEPENDENCIES:
            continue
        if kind == "vcs":
            vcs, url = src.get("vcs") or "git", src.get("url", "")
            spec = url if url.startswith(f"{vcs}+") else f"{vcs}+{url}"
            if src.get("commit"):
                spec += f"@{src['commit']}"
            if src.get("subdirectory"):
                spec += f"#subdirectory={src['subdirectory']}"
            lines.append(f"{name} @ {spec}")
        elif kind == "archive":
            lines.append(f"{name} @ {src.get('url')}")
        elif kind in ("editable", "local"):
            lines.append(
                f"# {name}=={version}  ({kind} install from {src.get('url')}; "
                "not installable from an index)"
            )
        else:
            lines.append(f"{name}=={version}")
    return "\n".join(lines) + "\n"


def python_env_yaml(env: Mapping[str, Any]) -> str:
    """MLflow's ``python_env.yaml`` for the environment (used with ``requirements.txt``).

    Args:
        env: A :func:`capture_environment` result.

    Returns:
        The YAML text: ``python``, ``build_dependencies`` (pip, setuptools and wheel at
        their installed versions; bare ``pip`` when none is installed) and
        ``dependencies: [-r requirements.txt]``.
    """
    versions = {canonical_name(p["name"]): p["version"] for p in env.get("packages") or []}
    build = [f"{n}=={versions[n]}" for n in BUILD_DEPENDENCIES if n in versions] or ["pip"]
    version = str((env.get("python") or {}).get("version", ""))
    # Quoted unless plainly X.Y.Z, which YAML reads as a string (3.10 would be a float).
    python = version if re.fullmatch(r"\d+\.\d+\.\d+", version) else json.dumps(version)
    lines = [f"python: {python}", "build_dependencies:", *(f"  - {b}" for b in build)]
    return "\n".join([*lines, "dependencies:", "  - -r requirements.txt", ""])


def diff_environments(a: Mapping[str, Any], b: Mapping[str, Any]) -> dict[str, Any]:
    """What changed from environment ``a`` (recorded) to ``b`` (current).

    Args:
        a: The earlier :func:`capture_environment` result.
        b: The later one.

    Returns:
        ``same`` (no Python or package change), ``python`` (None or ``{"old", "new"}``,
        as "implementation version"), ``added`` and ``removed`` (``{"name", "version"}``)
        and ``changed`` (``{"name", "old", "new"}`` versions, plus ``old_source`` and
        ``new_source`` when the install source differs). Names are canonical. A change
        of editable or local install path alone is not a change, as in the hash.
    """

    def by_name(env: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
        return {canonical_name(p["name"]): p for p in env.get("packages") or []}

    old, new = by_name(a), by_name(b)
    added = [{"name": n, "version": new[n]["version"]} for n in sorted(new.keys() - old.keys())]
    removed = [{"name": n, "version": old[n]["version"]} for n in sorted(old.keys() - new.keys())]
    changed: list[dict[str, Any]] = []
    for n in sorted(old.keys() & new.keys()):
        o, c = old[n], new[n]
        if _requirement_key(o) == _requirement_key(c):
            continue  # an editable install moved to another folder is the same requirement
        entry: dict[str, Any] = {"name": n, "old": o["version"], "new": c["version"]}
        if o.get("source") != c.get("source"):
            entry["old_source"], entry["new_source"] = o.get("source"), c.get("source")
        changed.append(entry)
    py_change = (
        None
        if python_label(a) == python_label(b)
        else {"old": python_label(a), "new": python_label(b)}
    )
    return {
        "same": py_change is None and not (added or removed or changed),
        "python": py_change,
        "added": added,
        "removed": removed,
        "changed": changed,
    }


def _interpreter(argv: Sequence[str]) -> str | None:
    """The program a kernelspec's argv starts: jupyter_client runs its own Python for
    ``python``, ``python3`` and ``python3.X`` (see ``KernelManager.format_kernel_cmd``)."""
    if not argv:
        return None
    major, minor = sys.version_info[:2]
    if argv[0] in ("python", f"python{major}", f"python{major}.{minor}"):
        return sys.executable
    return shutil.which(argv[0]) or argv[0]


def installed_kernels() -> dict[str, str]:
    """Kernel name -> display name, for every kernel installed here."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().get_all_specs()
    return {name: str(s.get("spec", {}).get("display_name", name)) for name, s in specs.items()}


def kernel_record(
    name: str | None,
    *,
    display_name: str | None = None,
    language: str | None = None,
    interpreter: str | None = None,
) -> dict[str, Any]:
    """What the record says of the kernel a run used.

    Args:
        name: the kernelspec name (``python3``); None when nobody knows it.
        display_name, language: as the notebook's metadata gives them; the installed
            kernelspec's own values win when it is found here.
        interpreter: the Python the kernel ran (its ``sys.executable``), when known.

    Returns:
        ``{"name", "display_name", "language", "argv", "interpreter", "installed"}``:
        ``argv`` is the kernelspec's command line with ``{connection_file}`` left as is,
        ``installed`` whether a kernel of that name exists on this machine.
    """
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    rec: dict[str, Any] = {
        "name": name,
        "display_name": display_name,
        "language": language,
        "argv": None,
        "interpreter": interpreter,
        "installed": False,
    }
    if not name:
        return rec
    try:
        spec = KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        return rec
    except Exception as exc:  # a broken kernelspec must not cost the capture
        rec["note"] = f"kernelspec {name!r} could not be read: {type(exc).__name__}: {exc}"
        return rec
    rec.update(
        display_name=spec.display_name or display_name,
        language=spec.language or language,
        argv=list(spec.argv),
        installed=True,
    )
    if rec["interpreter"] is None:
        rec["interpreter"] = _interpreter(spec.argv)
    return rec
