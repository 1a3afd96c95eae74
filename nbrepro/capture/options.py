"""The ``%%repro`` options, defined once.

The magic builds its parser (and ``%%repro?``) from :data:`REPRO_OPTIONS`; ``nbrepro
run`` reads the ``%%repro`` cells of a notebook with the same definitions, so a cell's
``--experiment``, ``--name``, ``--tag`` and ``--seed`` mean the same under papermill as
in JupyterLab (there, the whole notebook is one run: the options come from its first
``%%repro`` cell, and what the command line says wins).
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

REPRO_OPTIONS: list[tuple[tuple[str, ...], dict[str, Any]]] = [
    (("--experiment", "-e"), {"default": None, "help": "MLflow experiment name."}),
    (("--name", "-n"), {"default": None, "help": "Run name."}),
    (
        ("--tag", "-t"),
        {
            "action": "append",
            "default": [],
            "metavar": "KEY=VALUE",
            "help": "Run tag (repeatable).",
        },
    ),
    (
        ("--seed",),
        {"type": int, "default": None, "help": "Seed random, numpy and torch; recorded."},
    ),
    (("--notebook",), {"default": None, "help": "Notebook path, when the kernel cannot tell."}),
    (("--tracking-uri",), {"default": None, "help": "MLflow tracking URI for this run."}),
]


def parse_tags(items: Iterable[str]) -> dict[str, str]:
    """``["owner=ana"]`` -> ``{"owner": "ana"}``.

    Raises:
        ValueError: an item is not ``KEY=VALUE``.
    """
    tags = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--tag takes KEY=VALUE, got {item!r}")
        tags[key] = value
    return tags


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the process
        raise ValueError(message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%%repro", add_help=False)
    for flags, kwargs in REPRO_OPTIONS:
        parser.add_argument(*flags, **kwargs)
    return parser


@dataclass
class CellOptions:
    """What the ``%%repro`` cells of a notebook ask of its run."""

    experiment: str | None = None
    name: str | None = None
    seed: int | None = None
    tags: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def from_cells(sources: Iterable[str]) -> CellOptions:
    """The options of the first ``%%repro`` cell among ``sources``.

    A cell whose options do not parse is skipped here: the kernel raises its
    ``UsageError`` when it runs it. Later cells naming another experiment or run name
    are noted, since one headless run cannot follow them.
    """
    found = CellOptions()
    seen = False
    for source in sources:
        first = source.lstrip().split("\n", 1)[0]
        if not first.startswith("%%repro"):
            continue
        try:
            args = _parser().parse_args(shlex.split(first[len("%%repro") :]))
            tags = parse_tags(args.tag)
        except ValueError:
            continue
        if not seen:
            found = CellOptions(args.experiment, args.name, args.seed, tags)
            seen = True
            continue
        for what, mine, theirs in (
            ("experiment", found.experiment, args.experiment),
            ("run name", found.name, args.name),
        ):
            if theirs and theirs != mine:
                found.notes.append(
                    f"a later %%repro cell names the {what} {theirs!r}; the whole notebook is "
                    f"one run, which uses the first cell's ({mine!r})"
                )
    return found
