"""Where nbrepro keeps things on this machine.

Every process that touches nbrepro (a kernel in any folder, the CLI, the Jupyter
server) must find the same store without configuration. MLflow's own default,
``sqlite:///<cwd>/mlflow.db``, depends on each process's working directory and
would scatter runs, so nbrepro uses one per-user home instead:

``$NBREPRO_HOME``, else ``$XDG_DATA_HOME/nbrepro``, else ``~/.local/share/nbrepro``.

Inside it: ``mlflow.db`` (the default tracking store), ``mlartifacts/`` (its
artifacts), ``spool/`` (captures waiting to be uploaded) and ``jobs/`` (rerun jobs
started from JupyterLab or a capture card).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

# Environment variables by which `nbrepro run` / `rerun` talk to the kernel they start.
CAPTURE_DIR_ENV = "NBREPRO_CAPTURE_DIR"  # folder for the kernel's environment and Delta events
PINS_ENV = "NBREPRO_PINS"  # JSON {uri: {"version", "table_id"}} to pin Delta reads to
# Set by a rerun job for `nbrepro rerun`: the file it appends JSON progress lines to.
PROGRESS_FILE_ENV = "NBREPRO_PROGRESS_FILE"


def nbrepro_home() -> Path:
    """The per-user folder that holds the default store and the spool."""
    explicit = os.environ.get("NBREPRO_HOME")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return (base / "nbrepro").resolve()


def default_tracking_uri() -> str:
    """The embedded default store: a SQLite file in :func:`nbrepro_home`."""
    return f"sqlite:///{nbrepro_home() / 'mlflow.db'}"


def artifact_root_for(tracking_uri: str) -> str | None:
    """Artifact folder for experiments nbrepro creates on a local SQLite store.

    MLflow would put them under ``./mlruns`` of whichever process created the
    experiment; nbrepro puts them next to the database instead. Returns None for
    remote stores, whose server decides.
    """
    db_path = sqlite_path(tracking_uri)
    return None if db_path is None else str(db_path.parent / "mlartifacts")


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` tracking URI; None for other stores."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri[len("sqlite:///") :])


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (created if missing), across processes.

    Locks do not nest: a second ``file_lock`` on the same path, even in the same
    process, waits for the first. Without ``fcntl`` (Windows) nothing is locked.
    """
    try:
        import fcntl
    except ImportError:
        yield
        return
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def try_lock(path: Path) -> IO[str] | None:
    """Take an exclusive advisory lock on ``path`` (created if missing) if no one holds it.

    Returns the open file that holds the lock (closing it releases the lock, as the
    process's end does), or None when another open file holds it. Without ``fcntl``
    (Windows) the file is returned unlocked.
    """
    fh = open(path, "a")  # noqa: SIM115 - the caller keeps it open as the lock
    try:
        import fcntl
    except ImportError:
        return fh
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON so that a reader in another process sees the old or the new file.

    The file is readable by this user only (mode 0600, from before it appears): a
    job's or a spooled capture's state may name a store with credentials.

    Args:
        path: the file; its folder must exist.
        data: anything ``json.dump`` takes (other values are written as ``str``).
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, default=str, indent=1)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def spool_dir() -> Path:
    """Folder of captures that could not be logged yet (``nbrepro sync`` uploads them)."""
    return nbrepro_home() / "spool"


def jobs_dir() -> Path:
    """Folder of rerun jobs, shared by the Jupyter server and kernels' capture cards."""
    return nbrepro_home() / "jobs"


def digest_key() -> bytes:
    """This machine's key for :func:`nbrepro.redact.keyed_digest`, made on first use.

    Readable by the user only; it never leaves the machine.
    """
    path = nbrepro_home() / "digest.key"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        # Written whole under another name, then linked into place: a reader never sees a
        # half-written key, and of two first uses at once one key wins, for both.
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".digest.key.{os.getpid()}.{os.urandom(4).hex()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(os.urandom(32))
            # Another process may have made it first: then use theirs.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink()
        key = path.read_bytes()
    if len(key) != 32:
        raise ValueError(f"{path} is not a key nbrepro made (delete it to make a new one)")
    return key


@contextmanager
def environ(values: Mapping[str, str]) -> Iterator[None]:
    """Environment variables set for the block, then restored exactly.

    For settings read from the environment at each call (MLflow's HTTP limits, the
    environment papermill's kernel inherits). The whole process sees them meanwhile.
    """
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def skip_iri_format_checker() -> None:
    """Keep jsonschema's optional IRI format checker out of this process.

    nbformat's validator imports jsonschema, whose IRI checker (``rfc3987_syntax``)
    compiles 39 Lark grammars at import: about two seconds of CPU in every process that
    imports nbformat, for a check that nbformat, nbconvert and papermill never make. For
    nbrepro's own processes only (the ``nbrepro`` command, its worker), never the user's
    (a kernel, a Jupyter server), whose code may check IRIs.
    """
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
