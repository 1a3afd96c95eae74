"""The state of the git work tree a notebook lives in: commit, branch, dirtiness, diff.

This runs the ``git`` command line rather than using GitPython: a capture needs three
or four fast calls (a few milliseconds each), GitPython would add import time to every
kernel and spawns the same ``git`` processes underneath anyway.

Every call runs with ``GIT_OPTIONAL_LOCKS=0`` so that ``git status`` never takes the
index lock (a capture must not disturb a concurrent ``git commit`` in a terminal) and
with a timeout, so a huge or hung repository cannot stall a notebook.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import TypedDict

from nbrepro.redact import strip_uri_credentials

GIT_TIMEOUT_S = 5.0

log = logging.getLogger(__name__)


class GitState(TypedDict, total=False):
    """What :func:`capture_git` found; every key is present in its result.

    ``diff`` is the text of ``git diff HEAD`` (tracked files only, no untracked ones),
    cut to ``max_diff_bytes`` on a line boundary; ``diff_bytes`` is the size before the
    cut. ``notes`` says which probes failed (their fields are then None or empty).
    """

    root: str
    commit: str | None
    branch: str | None
    dirty: bool
    untracked_count: int
    remotes: dict[str, str]
    diff: str
    diff_truncated: bool
    diff_bytes: int
    notes: list[str]


class _GitFailed(Exception):
    """A git call could not run or exited with an error (``returncode`` None: did not run)."""

    def __init__(self, message: str, returncode: int | None = None) -> None:
        super().__init__(message)
        self.returncode = returncode


def _git(cwd: Path, *args: str, stdin: bytes | None = None) -> bytes:
    env = dict(os.environ)
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise _GitFailed(f"git {args[0]} timed out after {GIT_TIMEOUT_S:g} s") from exc
    except OSError as exc:
        raise _GitFailed(f"git {args[0]} could not run: {exc}") from exc
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        detail = err[-1] if err else f"exit status {proc.returncode}"
        raise _GitFailed(f"git {args[0]} failed: {detail}", proc.returncode)
    return proc.stdout


def _parse_status(out: bytes) -> tuple[str | None, str | None, bool, int]:
    """``(commit, branch, tracked_changes, untracked_count)`` from porcelain v2 output."""
    commit: str | None = None
    branch: str | None = None
    tracked = False
    untracked = 0
    fields = iter(out.decode("utf-8", "replace").split("\0"))
    for line in fields:
        if line.startswith("# branch.oid "):
            oid = line[len("# branch.oid ") :]
            commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line[len("# branch.head ") :]
            branch = None if head == "(detached)" else head
        elif line.startswith("? "):
            untracked += 1
        elif line[:2] in ("1 ", "u "):
            tracked = True
        elif line.startswith("2 "):
            tracked = True
            next(fields, None)  # a rename's original path, which could look like a record
    return commit, branch, tracked, untracked


def _empty_tree(root: Path) -> str:
    # Asked of git rather than hard-coded: the id differs in SHA-256 repositories.
    return _git(root, "hash-object", "-t", "tree", "--stdin", stdin=b"").decode().strip()


def _parse_remotes(out: bytes) -> dict[str, str]:
    remotes: dict[str, str] = {}
    # -z output: "remote.<name>.url\n<value>\0" for each match; names may contain dots.
    for item in out.decode("utf-8", "replace").split("\0"):
        key, _, url = item.partition("\n")
        if key.startswith("remote.") and key.endswith(".url"):
            remotes.setdefault(key[len("remote.") : -len(".url")], strip_uri_credentials(url))
    return remotes


def truncate_diff(data: bytes, max_bytes: int) -> tuple[str, bool]:
    """Cut a diff to at most ``max_bytes`` on a line boundary.

    Args:
        data: The full diff.
        max_bytes: The largest size to keep; 0 or less keeps nothing.

    Returns:
        The kept text (UTF-8, invalid bytes replaced) and whether anything was cut.
    """
    if len(data) <= max_bytes:
        return data.decode("utf-8", "replace"), False
    cut = data[: max(max_bytes, 0)]
    newline = cut.rfind(b"\n")
    cut = cut[: newline + 1] if newline != -1 else b""
    return cut.decode("utf-8", "replace"), True


def capture_git(path: str | os.PathLike[str], max_diff_bytes: int = 1_000_000) -> GitState | None:
    """Describe the git work tree containing ``path``.

    Args:
        path: A file or folder inside the work tree (usually the notebook's folder).
        max_diff_bytes: Largest diff text to keep.

    Returns:
        The state, or None when ``path`` is not inside a git work tree, git is not
        installed or the repository cannot be read at all (e.g. "dubious ownership").
        ``commit`` is None in a repository without commits, ``branch`` None on a
        detached HEAD. ``dirty`` counts tracked changes and untracked files (ignored
        files do not count); ``untracked_count`` counts entries as ``git status`` shows
        them, so a new folder full of files is one entry.
    """
    start = Path(path)
    if start.is_file():
        start = start.parent
    if not start.is_dir():
        return None
    try:
        root_out = _git(start, "rev-parse", "--show-toplevel")
    except _GitFailed as exc:
        log.debug("no git state for %s: %s", start, exc)
        return None
    root_text = root_out.decode("utf-8", "replace").strip()
    if not root_text:
        return None  # inside a .git folder or a bare repository: no work tree
    root = Path(root_text)
    notes: list[str] = []
    state = GitState(
        root=str(root),
        commit=None,
        branch=None,
        dirty=False,
        untracked_count=0,
        remotes={},
        diff="",
        diff_truncated=False,
        diff_bytes=0,
        notes=notes,
    )

    tracked_changes = False
    try:
        status = _git(
            root, "status", "--porcelain=v2", "--branch", "-z", "--untracked-files=normal"
        )
        commit, branch, tracked_changes, untracked = _parse_status(status)
        state["commit"], state["branch"] = commit, branch
        state["dirty"] = tracked_changes or untracked > 0
        state["untracked_count"] = untracked
    except _GitFailed as exc:
        notes.append(str(exc))

    try:
        state["remotes"] = _parse_remotes(
            _git(root, "config", "-z", "--get-regexp", r"^remote\..*\.url$")
        )
    except _GitFailed as exc:
        # `git config --get-regexp` exits 1 when nothing matches: no remotes is not a failure.
        if exc.returncode != 1:
            notes.append(str(exc))

    if tracked_changes:
        try:
            # An unborn branch has no HEAD to diff against; the empty tree stands in for it.
            base = state["commit"] or _empty_tree(root)
            data = _git(root, "diff", "--no-color", "--no-ext-diff", "--no-textconv", base, "--")
            state["diff"], state["diff_truncated"] = truncate_diff(data, max_diff_bytes)
            state["diff_bytes"] = len(data)
        except _GitFailed as exc:
            notes.append(str(exc))
    return state
