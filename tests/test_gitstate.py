"""capture_git against real repositories made with `git init`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from nbrepro.capture.gitstate import capture_git, truncate_diff


@pytest.fixture(autouse=True)
def _isolated_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the user's and the system's git configuration out of these tests."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{name}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{name}_EMAIL", "test@example.com")


def git(repo: Path, *args: str) -> str:
    out = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True)
    return out.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    (root / "analysis.py").write_text("x = 1\n")
    (root / "notebooks").mkdir()
    (root / "notebooks" / "nb.ipynb").write_text("{}\n")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_clean_repo(repo: Path) -> None:
    state = capture_git(repo / "notebooks")
    assert state is not None
    assert Path(state["root"]) == repo.resolve()
    assert state["commit"] == git(repo, "rev-parse", "HEAD")
    assert state["branch"] == "main"
    assert state["dirty"] is False
    assert state["untracked_count"] == 0
    assert state["remotes"] == {}
    assert state["diff"] == "" and state["diff_bytes"] == 0 and not state["diff_truncated"]
    assert state["notes"] == []


def test_file_path_is_accepted(repo: Path) -> None:
    state = capture_git(repo / "notebooks" / "nb.ipynb")
    assert state is not None and Path(state["root"]) == repo.resolve()


def test_dirty_tracked_and_untracked(repo: Path) -> None:
    (repo / "analysis.py").write_text("x = 2\n")
    (repo / "scratch.txt").write_text("new\n")
    (repo / "newdir").mkdir()
    (repo / "newdir" / "a.txt").write_text("a\n")
    (repo / "newdir" / "b.txt").write_text("b\n")
    state = capture_git(repo)
    assert state is not None
    assert state["dirty"] is True
    assert state["untracked_count"] == 2  # scratch.txt and newdir/, as git status shows them
    assert "-x = 1\n+x = 2\n" in state["diff"]
    assert "scratch.txt" not in state["diff"]  # untracked files are not in `git diff HEAD`
    assert state["diff_bytes"] == len(state["diff"].encode())
    assert state["diff"] == git(repo, "diff", "HEAD") + "\n"


def test_untracked_only_is_dirty_without_diff(repo: Path) -> None:
    (repo / "scratch.txt").write_text("new\n")
    state = capture_git(repo)
    assert state is not None
    assert state["dirty"] is True and state["untracked_count"] == 1 and state["diff"] == ""


def test_staged_rename_is_dirty(repo: Path) -> None:
    git(repo, "mv", "analysis.py", "1 renamed.py")  # a name that looks like a status record
    state = capture_git(repo)
    assert state is not None
    assert state["dirty"] is True and state["untracked_count"] == 0
    assert "renamed.py" in state["diff"]


def test_detached_head(repo: Path) -> None:
    first = git(repo, "rev-parse", "HEAD")
    (repo / "analysis.py").write_text("x = 3\n")
    git(repo, "commit", "-q", "-am", "second")
    git(repo, "checkout", "-q", "--detach", first)
    state = capture_git(repo)
    assert state is not None
    assert state["branch"] is None
    assert state["commit"] == first
    assert state["dirty"] is False


def test_remotes_have_credentials_stripped(repo: Path) -> None:
    git(repo, "remote", "add", "origin", "https://user:ghp_secret@github.example/x.git")
    git(repo, "remote", "add", "upstream", "git@github.example:org/x.git")
    git(repo, "remote", "add", "my.fork", "https://ghp_tokenonly@github.example/me/x.git")
    state = capture_git(repo)
    assert state is not None
    assert state["remotes"] == {
        "origin": "https://github.example/x.git",
        "upstream": "git@github.example:org/x.git",
        "my.fork": "https://github.example/me/x.git",
    }
    assert "ghp_" not in repr(state)


def test_repo_without_commits(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    git(root, "init", "-q", "-b", "trunk")
    state = capture_git(root)
    assert state is not None
    assert state["commit"] is None
    assert state["branch"] == "trunk"
    assert state["dirty"] is False and state["diff"] == ""

    (root / "a.py").write_text("print('hi')\n")
    (root / "b.py").write_text("untracked\n")
    git(root, "add", "a.py")
    (root / "a.py").write_text("print('hi')\nprint('there')\n")  # unstaged edit on top
    state = capture_git(root)
    assert state is not None
    assert state["commit"] is None and state["dirty"] is True
    assert state["untracked_count"] == 1
    assert "+print('there')" in state["diff"]  # the working tree against an empty tree
    assert state["notes"] == []


def test_not_a_repo(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    assert capture_git(plain) is None
    assert capture_git(tmp_path / "does-not-exist") is None


def test_inside_git_dir_is_not_a_work_tree(repo: Path) -> None:
    assert capture_git(repo / ".git") is None


def test_git_not_installed(repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    assert capture_git(repo) is None


def test_diff_truncated_on_line_boundary(repo: Path) -> None:
    (repo / "analysis.py").write_text("".join(f"line number {i}\n" for i in range(2000)))
    full = capture_git(repo, max_diff_bytes=10_000_000)
    cut = capture_git(repo, max_diff_bytes=500)
    assert full is not None and cut is not None
    assert not full["diff_truncated"]
    assert cut["diff_truncated"] is True
    assert cut["diff_bytes"] == full["diff_bytes"] == len(full["diff"].encode()) > 500
    assert 0 < len(cut["diff"].encode()) <= 500
    assert cut["diff"].endswith("\n")
    assert full["diff"].startswith(cut["diff"])


def test_truncate_diff_edge_cases() -> None:
    assert truncate_diff(b"abc\n", 4) == ("abc\n", False)
    assert truncate_diff(b"a long single line", 5) == ("", True)
    assert truncate_diff(b"one\ntwo\nthree\n", 9) == ("one\ntwo\n", True)
    assert truncate_diff(b"x\n", 0) == ("", True)
