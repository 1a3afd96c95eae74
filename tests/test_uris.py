"""Which tracking stores a request may name (nbrepro/store/uris.py): checked before MLflow
opens them, so that naming a store never creates one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from nbrepro.store.uris import (
    StoreUriNotAllowed,
    StoreUriRefused,
    canonical_uri,
    check_allowed,
    check_request_store,
)


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """An existing MLflow SQLite store (its tables, as MLflow makes them)."""
    from mlflow import MlflowClient

    db = tmp_path / "stores" / "mlflow.db"
    db.parent.mkdir()
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments(max_results=1)
    return db


def tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_an_existing_store_is_accepted_and_nothing_is_written(store: Path) -> None:
    before = tree(store.parent)
    uri = f"sqlite:///{store}"
    assert check_request_store(uri) == uri
    assert check_request_store("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert check_request_store("https://u:p@mlflow.example.com/x/") == (
        "https://u:p@mlflow.example.com/x/"
    )
    assert tree(store.parent) == before


@pytest.mark.parametrize(
    ("uri", "fragment"),
    [
        ("", "empty"),
        ("garbage://x", "unknown scheme 'garbage'"),
        ("mlruns", "not a tracking URI"),
        ("C:\\Users\\me\\mlruns", "not a tracking URI"),
        ("sqlite+pysqlite:///x.db", "unknown scheme"),
        ("databricks-uc", "not a tracking URI"),
        ("http://", "names no host"),
        ("http://host:port/", "malformed"),
        ("http://a\x00b", "control"),
        ("sqlite://", "sqlite:/// followed by"),
        ("sqlite:///", "sqlite:/// followed by"),
        ("databricks:x", "databricks or databricks://PROFILE"),
        ("postgresql://u:secret@127.0.0.1:1/", "names no database"),
        ("postgresql+nodriver://h/db", "malformed"),
        ("file:relative/mlruns", "must be absolute"),
        ("file://otherhost/mlruns", "on this machine"),
        ("x" * 5000, "too long"),
    ],
)
def test_what_is_not_a_usable_tracking_uri_is_refused(uri: str, fragment: str) -> None:
    with pytest.raises(StoreUriRefused) as info:
        check_request_store(uri)
    assert fragment in str(info.value)
    assert "secret" not in str(info.value)  # credentials are never shown
    assert len(str(info.value)) < 600  # a long value is quoted short


def test_a_store_must_exist_and_be_an_mlflow_store(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "mlflow.db"
    with pytest.raises(StoreUriRefused, match="no SQLite store at"):
        check_request_store(f"sqlite:///{missing}")
    with pytest.raises(StoreUriRefused, match="no SQLite store at"):
        check_request_store(f"sqlite:///{tmp_path}")  # a folder
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(StoreUriRefused, match="not a SQLite database"):
        check_request_store(f"sqlite:///{text}")
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("create table t (x)").connection.close()
    with pytest.raises(StoreUriRefused, match="not an MLflow store"):
        check_request_store(f"sqlite:///{other}")
    with pytest.raises(StoreUriRefused, match="no MLflow file store"):
        check_request_store(f"file://{tmp_path}")
    # Nothing was created by looking.
    assert not missing.parent.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "other.db"]


def test_databricks_needs_credentials_on_the_server(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("DATABRICKS_HOST", "DATABRICKS_CONFIG_FILE", "DATABRICKS_CONFIG_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(StoreUriRefused, match="no Databricks credentials"):
        check_request_store("databricks")
    with pytest.raises(StoreUriRefused, match="profile 'team'"):
        check_request_store("databricks://team")
    (tmp_path / ".databrickscfg").write_text("[team]\nhost = https://x.cloud.databricks.com\n")
    assert check_request_store("databricks://team") == "databricks://team"
    monkeypatch.setenv("DATABRICKS_HOST", "https://example.cloud.databricks.com")
    assert check_request_store("databricks") == "databricks"


def test_a_database_server_needs_its_driver_here() -> None:
    with pytest.raises(StoreUriRefused, match="lacks the driver"):
        check_request_store("mssql+pyodbc://u:secret@127.0.0.1:1/db")


def test_the_policy_matches_canonical_uris(store: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert canonical_uri("https://u:p@MLflow.Example.com") == "https://mlflow.example.com/"
    assert canonical_uri(f"sqlite:///{store.parent}/../stores/mlflow.db") == f"sqlite:///{store}"
    assert canonical_uri("sqlite:///stores/mlflow.db") == f"sqlite:///{store}"

    check_allowed("garbage", ["*"])
    server = ["https://mlflow.example.com/*"]
    check_allowed("https://user:tok@mlflow.example.com", server)
    check_allowed("https://mlflow.example.com/team/", server)
    for uri in (
        "https://mlflow.example.com.evil.org/",
        "https://mlflow.example.com@evil.org/",
        "http://mlflow.example.com/",
    ):
        with pytest.raises(StoreUriNotAllowed, match="allowed_tracking_uris"):
            check_allowed(uri, server)

    folder = [f"sqlite:///{store.parent}/*"]
    check_allowed(f"sqlite:///{store}", folder)
    escape = tmp_path / "elsewhere.db"
    with pytest.raises(StoreUriNotAllowed):
        check_allowed(f"sqlite:///{store.parent}/../elsewhere.db", folder)
    link = store.parent / "link.db"
    link.symlink_to(escape)
    with pytest.raises(StoreUriNotAllowed):
        check_allowed(f"sqlite:///{link}", folder)
    with pytest.raises(StoreUriNotAllowed, match="allows none"):
        check_allowed(f"sqlite:///{store}", [])
