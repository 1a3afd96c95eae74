"""Rebuilding a recorded environment: what can and cannot be rebuilt."""

from __future__ import annotations

import pytest

from nbrepro.reproduce import envbuild


def env_with(*packages: dict) -> dict:
    return {"python": {"version": "3.11.7"}, "packages": list(packages)}


def test_requirement_set_pins_index_packages_and_lists_unrebuildable() -> None:
    env = env_with(
        {"name": "numpy", "version": "2.0.0", "source": {"kind": "index"}},
        {
            "name": "mylib",
            "version": "0.3",
            "source": {"kind": "editable", "url": "file:///src/mylib"},
        },
        {
            "name": "tool",
            "version": "1.0",
            "source": {"kind": "local", "url": "file:///w/tool.whl"},
        },
        {"name": "pip", "version": "24", "source": {"kind": "index"}},
        {"name": "nbrepro", "version": "0.1.0", "source": {"kind": "editable", "url": "file:///x"}},
    )
    lines, missing = envbuild.requirement_set(env)
    assert lines == ["ipykernel", "numpy==2.0.0"]  # ipykernel added; pip, nbrepro handled apart
    assert missing == [
        "mylib==0.3 (editable install from file:///src/mylib)",
        "tool==1.0 (local install from file:///w/tool.whl)",
    ]


def test_unrebuildable_packages_stop_the_build_with_the_way_out(nbrepro_home) -> None:
    env = env_with(
        {
            "name": "mylib",
            "version": "0.3",
            "source": {"kind": "editable", "url": "file:///src/mylib"},
        }
    )
    with pytest.raises(envbuild.EnvironmentNotRebuildable) as info:
        envbuild.ensure_environment(env)
    message = str(info.value)
    assert "mylib==0.3" in message and "--allow-missing" in message and "--env current" in message


def test_key_depends_on_python_and_requirements() -> None:
    a = envbuild.environment_key("3.11.7", ["numpy==2.0.0"])
    assert a == envbuild.environment_key("3.11.7", ["numpy==2.0.0"])
    assert a != envbuild.environment_key("3.11.7", ["numpy==2.0.1"])
    assert a != envbuild.environment_key("3.12.1", ["numpy==2.0.0"])
