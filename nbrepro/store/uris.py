"""Which tracking stores a request may name: checked before MLflow opens them.

MLflow opens whatever URI it is handed, and creates what is missing: a SQLite file and
its tables, a file store's folders. That suits the store a user configures for their own
processes; a store named by a request (the sidebar's tracking URI override) must instead
already exist, so that a read creates nothing and a typo is told as one. This module
says whether a request's URI names such a store, and whether a server's policy (a list
of patterns) allows it. It never opens a store for writing.
"""

from __future__ import annotations

import configparser
import fnmatch
import os
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote, urlsplit

from nbrepro import paths
from nbrepro.errors import NbreproError, clipped_repr
from nbrepro.redact import strip_uri_credentials

# The schemes of MLflow's tracking stores (its tracking store registry), database
# servers with or without a SQLAlchemy driver (``postgresql+psycopg2``).
HTTP_SCHEMES = ("http", "https")
DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")
TRACKING_SCHEMES = (*HTTP_SCHEMES, "sqlite", "file", "databricks", *DATABASE_SCHEMES)
ALLOW_ANY = "*"
MAX_URI_CHARS = 4096
# The first bytes of every SQLite 3 database file.
_SQLITE_HEADER = b"SQLite format 3\x00"
# Tables every MLflow SQL store has; a database without them would be set up by MLflow.
_MLFLOW_TABLES = ("alembic_version", "experiments")
_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_EXISTING_HINT = (
    "a request may only name a store that exists: create it first (a capture with "
    "MLFLOW_TRACKING_URI set to it does), or set c.NbreproServer.tracking_uri"
)


class StoreUriRefused(NbreproError):
    """A request named a tracking store nbrepro will not open (HTTP 400): not a
    tracking URI, an unknown scheme, or a store that does not exist."""


class StoreUriNotAllowed(NbreproError):
    """The server's policy does not allow requests to name this store (HTTP 403)."""


def check_request_store(uri: str) -> str:
    """Check that ``uri`` names an existing tracking store MLflow can open.

    Nothing is created or written: a SQLite store must be an existing MLflow database, a
    file store an existing MLflow folder; an HTTP store must name a host (whether it
    answers is :func:`nbrepro.store.tracking.check_reachable`'s business). A database
    server's store needs its driver installed here; MLflow sets up the tables of an
    empty database, so restrict those with :func:`check_allowed` if that matters.

    Args:
        uri: the URI as the request sent it.

    Returns:
        ``uri`` unchanged.

    Raises:
        StoreUriRefused: saying what is wrong (the URI shown without credentials, capped).
    """
    shown = clipped_repr(strip_uri_credentials(uri))
    if not uri:
        raise StoreUriRefused("the tracking URI is empty")
    if len(uri) > MAX_URI_CHARS:
        raise StoreUriRefused(
            f"tracking URI {shown} is too long ({len(uri)} characters, at most {MAX_URI_CHARS})"
        )
    if any(not ch.isprintable() for ch in uri):
        raise StoreUriRefused(f"tracking URI {shown} holds control or unprintable characters")
    found = _SCHEME_RE.match("databricks:" if uri == "databricks" else uri)
    if found is None or len(found.group(1)) == 1:  # "C:\..." is a Windows path
        raise StoreUriRefused(
            f"{shown} is not a tracking URI: name its scheme, one of "
            f"{', '.join(s + ':' for s in TRACKING_SCHEMES)}"
        )
    scheme = found.group(1).lower()
    base = scheme.split("+", 1)[0]
    if base not in TRACKING_SCHEMES or (base != scheme and base not in DATABASE_SCHEMES):
        raise StoreUriRefused(
            f"tracking URI {shown}: unknown scheme {scheme!r} (known: "
            f"{', '.join(TRACKING_SCHEMES)})"
        )
    if base in HTTP_SCHEMES:
        _check_http(uri, shown)
    elif base == "sqlite":
        _check_sqlite(uri, shown)
    elif base == "file":
        _check_file_store(uri, shown)
    elif base == "databricks":
        _check_databricks(uri, shown)
    else:
        _check_database(uri, shown)
    return uri


def check_allowed(uri: str, patterns: Sequence[str]) -> None:
    """Refuse ``uri`` unless one of ``patterns`` matches its :func:`canonical_uri`.

    Patterns are shell-style (``fnmatch``, case-sensitive, ``*`` crosses ``/``): ``*``
    allows every store, ``https://mlflow.example.com/*`` one server,
    ``sqlite:////srv/stores/*`` the SQLite files under a folder. No pattern: no store.

    Raises:
        StoreUriNotAllowed: naming the setting to change.
    """
    if ALLOW_ANY in patterns:
        return
    canonical = canonical_uri(uri)
    if any(fnmatch.fnmatchcase(canonical, pattern) for pattern in patterns):
        return
    allowed = ", ".join(repr(p) for p in patterns) or "none"
    raise StoreUriNotAllowed(
        f"this server does not let requests name the tracking store "
        f"{clipped_repr(canonical)}: c.NbreproServer.allowed_tracking_uris allows {allowed}"
    )


def canonical_uri(uri: str) -> str:
    """The form patterns are matched against: no credentials, a local store's path
    absolute and resolved (``..`` and symlinks cannot step out of a folder), an HTTP
    store's host in lower case with a path ending in ``/``.

    ``https://u:p@MLflow.example.com`` is ``https://mlflow.example.com/``;
    ``sqlite:///runs/../x.db`` (relative to the working folder ``/srv``) is
    ``sqlite:////srv/x.db``.
    """
    scheme = uri.split(":", 1)[0].lower()
    if scheme in HTTP_SCHEMES:
        parts = urlsplit(uri)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port is not None else ""
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        return f"{scheme}://{host}{port}{path}"
    db = paths.sqlite_path(uri)
    if db is not None:
        return f"sqlite:///{db.resolve()}"
    if scheme == "file":
        return f"file://{_file_store_path(uri).resolve()}"
    return strip_uri_credentials(uri)


def _check_http(uri: str, shown: str) -> None:
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError as exc:
        raise StoreUriRefused(f"tracking URI {shown} is malformed: {exc}") from None
    if not parts.hostname:
        raise StoreUriRefused(f"tracking URI {shown} names no host")


def _check_sqlite(uri: str, shown: str) -> None:
    db = paths.sqlite_path(uri)
    if db is None or uri == "sqlite:///":
        raise StoreUriRefused(
            f"tracking URI {shown}: a SQLite store is sqlite:/// followed by the database "
            "file's path (sqlite:////abs/path/mlflow.db)"
        )
    try:
        if not db.is_file():
            raise StoreUriRefused(
                f"tracking URI {shown}: there is no SQLite store at {db}; " + _EXISTING_HINT
            )
        with open(db, "rb") as fh:
            header = fh.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreUriRefused(f"tracking URI {shown}: cannot read {db}: {exc}") from None
    if header != _SQLITE_HEADER:
        raise StoreUriRefused(f"tracking URI {shown}: {db} is not a SQLite database")
    try:
        # Read-only: a check must not take a write lock nor create a journal.
        conn = sqlite3.connect(f"file:{quote(str(db.resolve()))}?mode=ro", uri=True, timeout=5)
        try:
            names = {
                row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise StoreUriRefused(f"tracking URI {shown}: cannot read {db}: {exc}") from None
    if not set(_MLFLOW_TABLES) <= names:
        raise StoreUriRefused(
            f"tracking URI {shown}: {db} is a SQLite database but not an MLflow store; "
            + _EXISTING_HINT
        )


def _file_store_path(uri: str) -> Path:
    from urllib.parse import unquote

    rest = uri.split(":", 1)[1]
    if rest.startswith("//"):
        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise StoreUriRefused(
                f"tracking URI {clipped_repr(strip_uri_credentials(uri))}: a file store "
                "is on this machine (file:///path)"
            )
        return Path(unquote(parts.path))
    return Path(unquote(rest))


def _check_file_store(uri: str, shown: str) -> None:
    folder = _file_store_path(uri)
    if not folder.is_absolute():
        raise StoreUriRefused(f"tracking URI {shown}: a file store's path must be absolute")
    # MLflow creates the folder, a default experiment and a trash folder when missing.
    if not (folder / ".trash").is_dir():
        raise StoreUriRefused(
            f"tracking URI {shown}: there is no MLflow file store at {folder}; " + _EXISTING_HINT
        )
    if os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() not in ("1", "true"):
        raise StoreUriRefused(
            f"tracking URI {shown}: MLflow opens file stores only with "
            "MLFLOW_ALLOW_FILE_STORE=true set for the Jupyter server"
        )


def _check_databricks(uri: str, shown: str) -> None:
    if uri != "databricks" and not uri.startswith("databricks://"):
        raise StoreUriRefused(
            f"tracking URI {shown}: a Databricks store is databricks or databricks://PROFILE"
        )
    # Where MLflow looks for credentials, looked at without asking Databricks (which
    # may wait on the network): its environment, else the profile of a config file.
    if os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_RUNTIME_VERSION"):
        return
    profile = uri[len("databricks://") :].split(":", 1)[0] if uri != "databricks" else ""
    profile = profile or os.environ.get("DATABRICKS_CONFIG_PROFILE") or "DEFAULT"
    config = Path(
        os.environ.get("DATABRICKS_CONFIG_FILE") or Path.home() / ".databrickscfg"
    ).expanduser()
    parser = configparser.ConfigParser(interpolation=None)
    unreadable = ""
    try:
        parser.read(config, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError) as exc:
        unreadable = f", which cannot be read: {exc}"
    if not parser.has_option(profile, "host"):
        raise StoreUriRefused(
            f"tracking URI {shown}: no Databricks credentials on this server (neither "
            f"DATABRICKS_HOST nor a profile {clipped_repr(profile)} with a host in "
            f"{config}{unreadable})"
        )


def _check_database(uri: str, shown: str) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(uri)
        dialect = url.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError) as exc:
        raise StoreUriRefused(f"tracking URI {shown} is malformed: {exc}") from None
    if not url.database:
        raise StoreUriRefused(f"tracking URI {shown} names no database")
    try:
        dialect.import_dbapi()
    except ImportError as exc:
        raise StoreUriRefused(
            f"tracking URI {shown}: this server cannot open {url.drivername} stores "
            f"(its Python lacks the driver: {exc})"
        ) from None
