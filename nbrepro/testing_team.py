"""The team deployment's parts for tests: a private PostgreSQL cluster and an S3-compatible
store (moto's server), both on 127.0.0.1 (see docs/deploy.md).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

from nbrepro.testing import free_port, spawn, stop_group, wait_until_up


def _postgres_bin_dir() -> Path:
    """Where PostgreSQL's server programs are: Debian keeps them off PATH, one folder per
    major version, so take the highest version there, else PATH."""

    def major(folder: Path) -> tuple[int, str]:
        name = folder.parent.name
        return (int(name), name) if name.isdigit() else (-1, name)

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: major(p.parent))
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).resolve().parent
    raise RuntimeError(
        "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH)"
    )


class PostgresCluster:
    """A private PostgreSQL cluster on a free port of 127.0.0.1.

    Superuser ``postgres`` connects without a password, and only through the Unix socket;
    over TCP every role needs its password (scram-sha-256), so a URL with a wrong password
    fails as it would in a team deployment. As root, the programs run as the ``postgres``
    user (initdb refuses root), on folders that user owns. Started once, stopped once.
    """

    SERVER_USER = "postgres"
    _SOCKET_PATH_MAX = 80  # a Unix socket path must fit in 107 bytes, with ".s.PGSQL.PORT"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.bin_dir = _postgres_bin_dir()
        self.as_root = os.geteuid() == 0
        self.cluster_dir: Path | None = None  # the cluster's folder: data, socket and log
        self._own_dir = False  # made outside root, so removed on stop
        self.passwords: dict[str, str] = {}

    @property
    def data_dir(self) -> Path:
        return self._dir / "data"

    @property
    def socket_dir(self) -> Path:
        return self._dir

    @property
    def log_file(self) -> Path:
        return self._dir / "postgres.log"

    @property
    def _dir(self) -> Path:
        if self.cluster_dir is None:
            raise RuntimeError("the cluster was not started")
        return self.cluster_dir

    def _as_server_user(self, cmd: list[str]) -> list[str]:
        if not self.as_root:
            return cmd
        return ["runuser", "-u", self.SERVER_USER, "--", *cmd]

    def _run(self, cmd: list[str], timeout: float = 120) -> str:
        done = subprocess.run(
            self._as_server_user(cmd),
            capture_output=True,
            text=True,
            cwd=self._dir,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{Path(cmd[0]).name} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def _reachable(self, folder: Path) -> bool:
        """Whether the server's user could use a folder made here (as root, pytest's
        temp folders are private to root)."""
        if len(str(folder)) > self._SOCKET_PATH_MAX:
            return False
        if not self.as_root:
            return True
        check = self._as_server_user(["test", "-x", str(folder)])
        return subprocess.run(check, capture_output=True, check=False).returncode == 0

    def _make_dir(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if self._reachable(self.root):
            self.cluster_dir = self.root / "cluster"
            self.cluster_dir.mkdir()
        else:
            self.cluster_dir = Path(tempfile.mkdtemp(prefix="nbrepro-pg-"))
            self._own_dir = True
            (self.root / "cluster-dir.txt").write_text(f"{self.cluster_dir}\n")
        if self.as_root:
            shutil.chown(self.cluster_dir, self.SERVER_USER, self.SERVER_USER)
        self.cluster_dir.chmod(0o700)

    def start(self, timeout: float = 60) -> PostgresCluster:
        self._make_dir()
        try:
            self._run(
                [
                    str(self.bin_dir / "initdb"),
                    "-D",
                    str(self.data_dir),
                    "-U",
                    "postgres",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            )
            options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
            self._run(
                [
                    str(self.bin_dir / "pg_ctl"),
                    "-D",
                    str(self.data_dir),
                    "-l",
                    str(self.log_file),
                    "-o",
                    options,
                    "-w",
                    "-t",
                    str(int(timeout)),
                    "start",
                ],
                timeout=timeout + 30,
            )
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            log = self.log_file.read_text()[-3000:] if self.log_file.exists() else ""
            self.stop()
            raise RuntimeError(f"PostgreSQL did not start: {exc}\n{log}") from exc
        return self

    def stop(self) -> None:
        if self.cluster_dir is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            self._run(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"]
            )
        if self._own_dir:
            shutil.rmtree(self.cluster_dir, ignore_errors=True)
            self.cluster_dir = None

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL as the superuser, through the Unix socket; returns psql's output."""
        return self._run(
            [
                *self._as_superuser("psql"),
                "-d",
                db,
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ]
        )

    def create_database(self, db: str, user: str = "mlflow", password: str | None = None) -> str:
        """Make a database owned by a login role (made if new, with ``password`` or a fresh
        distinctive one); returns its URL."""
        if not (_SQL_NAME.fullmatch(db) and _SQL_NAME.fullmatch(user)):
            raise ValueError(f"database and role names must be plain identifiers: {db!r}, {user!r}")
        if user not in self.passwords:
            secret = password or f"nbrepro-test-pg-{secrets.token_hex(8)}"
            self.psql(f"CREATE ROLE {user} LOGIN PASSWORD {_sql_literal(secret)}")
            self.passwords[user] = secret
        elif password is not None and password != self.passwords[user]:
            raise ValueError(f"role {user!r} already has another password")
        self.psql(f"CREATE DATABASE {db} OWNER {user}")
        return self.url(db, user)

    def url(self, db: str = "mlflow", user: str = "mlflow", password: str | None = None) -> str:
        """The SQLAlchemy URL of a database, for a role made by `create_database` (its
        password is remembered) or with the ``password`` given."""
        secret = password if password is not None else self.passwords[user]
        return f"postgresql+psycopg2://{user}:{quote(secret, safe='')}@127.0.0.1:{self.port}/{db}"

    def dump(self, db: str) -> str:
        """The whole database as SQL text (``pg_dump``), schema and rows."""
        return self._run([*self._as_superuser("pg_dump"), db])

    def _as_superuser(self, program: str) -> list[str]:
        """``program`` connecting as ``postgres`` through the cluster's Unix socket."""
        socket_args = ["-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres"]
        return [str(self.bin_dir / program), *socket_args]


_SQL_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


def _sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class S3Server:
    """An S3-compatible store on 127.0.0.1: moto's server, in its own session.

    The keys are fake but fixed, the secret distinctive so a test can search any dump for it.
    """

    access_key = "nbrepro-test-access-key"
    secret_key = "nbrepro-test-secret-3f9c1a7e"
    region = "us-east-1"

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> S3Server:

        self.root.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = spawn(cmd, self.root / "moto.log")
        if not wait_until_up(self.proc, self.endpoint + "/moto-api/", timeout):
            self.stop()
            raise RuntimeError(
                "moto server did not start: " + (self.root / "moto.log").read_text()[-3000:]
            )
        return self

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_group(self.proc)
        self.proc = None

    def env(self) -> dict[str, str]:
        """The variables an S3 client (boto3, mlflow, deltalake) needs to reach this store."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT_URL": self.endpoint,
            "MLFLOW_S3_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def storage_options(self) -> dict[str, str]:
        """deltalake's ``storage_options`` for a table on this store."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
            "AWS_REGION": self.region,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
        }

    def client(self) -> Any:
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
        )

    def create_bucket(self, name: str) -> None:
        self.client().create_bucket(Bucket=name)

    def all_objects(self) -> list[tuple[str, str, bytes]]:
        """Every object in every bucket, as (bucket, key, content)."""
        s3 = self.client()
        found = []
        for bucket in s3.list_buckets()["Buckets"]:
            pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket["Name"])
            for page in pages:
                for item in page.get("Contents", []):
                    body = s3.get_object(Bucket=bucket["Name"], Key=item["Key"])["Body"].read()
                    found.append((bucket["Name"], item["Key"], body))
        return found
