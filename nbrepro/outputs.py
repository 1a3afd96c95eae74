"""Compare cell outputs of two notebook runs the way nbval does: sanitize, then compare.

Outputs are nbformat v4 output dicts. Volatile content (memory addresses, timestamps,
durations, temporary paths, run ids) is replaced by placeholders before comparing, so
only changes that matter for reproducibility remain. Plain numbers are left alone: a
metric that moved from ``0.10`` to ``0.12`` is exactly what a reproduction report is for.
"""

from __future__ import annotations

import configparser
import difflib
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

_CLOCK = r"\d+:\d{2}(?::\d{2})?"
_PATH_CHARS = r"""[^\s'"<>|:,;()\[\]{}]"""

DEFAULT_SANITIZERS: list[tuple[str, str]] = [
    # Temp paths first: id patterns would eat only parts of their random names.
    (rf"(?<![\w.])(?:/private)?/(?:tmp|var/folders)/{_PATH_CHARS}*", "TMPPATH"),
    (
        rf"(?i)\b[A-Z]:\\(?:Users\\[^\\\s'\"]+\\AppData\\Local\\|Windows\\)Temp\\{_PATH_CHARS}*",
        "TMPPATH",
    ),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "ID"),
    # 32-hex ids (MLflow run ids); at least one letter so long decimal results survive.
    (r"\b(?=[0-9]*[a-fA-F])[0-9a-fA-F]{32}\b", "ID"),
    (r"\b0x[0-9a-fA-F]{6,}\b", "0xADDRESS"),
    (
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
        "TIMESTAMP",
    ),
    # tqdm: "[00:01<00:00, 4.99it/s]" and "[00:00<?, ?it/s]".
    (rf"\[{_CLOCK}(?:<(?:{_CLOCK}|\?))?", "[DURATION"),
    (r"(?:(?<![\w.])\d+(?:\.\d+)?|\?)\s?(?:it|[kMG]?B)/s\b", "DURATION"),
    (r"(?<![\w.])\d+(?:\.\d+)?\s?s/it\b", "DURATION"),
    (r"(?<![\w.:])\d+:\d{2}:\d{2}(?:\.\d+)?\b", "DURATION"),
    (
        r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ns|us|µs|μs|ms|s|sec|secs|seconds?|min|mins|minutes?|h)\b(?!\s*=)",
        "DURATION",
    ),
    # %timeit picks its loop count from how fast the machine happens to be.
    (r"\d[\d,]*\s+loops?\s+each", "N loops each"),
]

TEXT_MIMES = ("text/plain", "text/html", "text/markdown", "application/json")
IMAGE_MIMES = ("image/png", "image/jpeg", "image/svg+xml")
IGNORED_MIMES = ("application/vnd.jupyter.widget-view+json",)
# nbrepro's own summary output carries run ids and would differ on every rerun.
NBREPRO_PREFIX = "nbrepro:"
MAX_DIFF_LINES = 40


def sanitize(text: str, sanitizers: Sequence[tuple[str, str]] = DEFAULT_SANITIZERS) -> str:
    """Replace volatile substrings of ``text``.

    Args:
        text: The text to clean.
        sanitizers: ``(regex, replacement)`` pairs applied in order.

    Returns:
        The text with every pattern replaced.
    """
    for pattern, replacement in sanitizers:
        text = re.sub(pattern, replacement, text)
    return text


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "".join(value)
    return json.dumps(value, sort_keys=True, indent=1, default=str)


def _sha(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()


def _resolve_carriage_returns(text: str) -> str:
    # Progress bars redraw a line with "\r"; how many redraws land in the output depends
    # on timing, so keep only what a terminal would finally show.
    return "\n".join(line.rsplit("\r", 1)[-1] for line in text.split("\n"))


def _is_ignored(output: Mapping[str, Any]) -> bool:
    # A widget's text/plain is a snapshot of its state at display time, not a result.
    data = output.get("data") or {}
    if any(mime in data for mime in IGNORED_MIMES):
        return True
    return _text(data.get("text/plain", "")).startswith(NBREPRO_PREFIX)


def output_signature(
    output: Mapping[str, Any], sanitizers: Sequence[tuple[str, str]] = DEFAULT_SANITIZERS
) -> dict[str, Any]:
    """What is compared for one output.

    Args:
        output: An nbformat v4 output dict.
        sanitizers: Patterns applied to text content.

    Returns:
        ``{}`` for ignored outputs (widget views, nbrepro's ``"nbrepro:"`` summary);
        for streams ``output_type``, ``name`` and sanitized ``text``; for rich outputs
        ``output_type`` and ``data`` mapping each mime type to sanitized text (text
        mimes) or ``sha256:<hex>`` (images, other mimes); for errors ``ename`` and
        sanitized ``evalue``.
    """
    kind = output.get("output_type", "")
    if kind == "stream":
        text = sanitize(_resolve_carriage_returns(_text(output.get("text", ""))), sanitizers)
        return {"output_type": kind, "name": output.get("name", ""), "text": text}
    if kind == "error":
        # Tracebacks carry file paths and ANSI colour codes; ename + evalue say what failed.
        evalue = sanitize(_text(output.get("evalue", "")), sanitizers)
        return {"output_type": kind, "ename": output.get("ename", ""), "evalue": evalue}
    if _is_ignored(output):
        return {}
    data: dict[str, str] = {}
    for mime, value in sorted((output.get("data") or {}).items()):
        if mime in TEXT_MIMES:
            data[mime] = sanitize(_text(value), sanitizers)
        elif mime in IMAGE_MIMES and mime != "image/svg+xml":
            # Base64 line wrapping is not part of the image.
            data[mime] = _sha(re.sub(r"\s", "", _text(value)))
        else:
            data[mime] = _sha(_text(value))
    return {"output_type": kind, "data": data}


def _cell_signatures(
    outputs: Sequence[Mapping[str, Any]], sanitizers: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    # One print can arrive as several stream messages, and stdout/stderr interleave by
    # timing: join each stream name's text, then list the other outputs in order.
    streams: dict[str, str] = {}
    others: list[Mapping[str, Any]] = []
    for out in outputs:
        if out.get("output_type") == "stream":
            name = str(out.get("name", ""))
            streams[name] = streams.get(name, "") + _text(out.get("text", ""))
        else:
            others.append(out)
    merged = [{"output_type": "stream", "name": n, "text": t} for n, t in sorted(streams.items())]
    sigs = [output_signature(o, sanitizers) for o in [*merged, *others]]
    return [s for s in sigs if s]


def _render(sigs: list[dict[str, Any]]) -> list[str]:
    lines: list[str] = []
    for sig in sigs:
        kind = sig["output_type"]
        if kind == "stream":
            lines.append(f"[stream {sig['name']}]")
            lines.extend(sig["text"].splitlines())
        elif kind == "error":
            lines.append(f"[error] {sig['ename']}: {sig['evalue']}")
        else:
            for mime, value in sig["data"].items():
                lines.append(f"[{kind} {mime}]")
                lines.extend(value.splitlines())
    return lines


def _images(sigs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(m, v) for sig in sigs for m, v in sig.get("data", {}).items() if m in IMAGE_MIMES]


def compare_outputs(
    a: Mapping[int, Sequence[Mapping[str, Any]]],
    b: Mapping[int, Sequence[Mapping[str, Any]]],
    extra_sanitizers: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Compare the outputs of two runs cell by cell.

    Args:
        a: Cell key (position in the executed sequence) to that cell's outputs, run A.
        b: The same for run B.
        extra_sanitizers: User patterns, applied before :data:`DEFAULT_SANITIZERS` so
            they can be written against the raw output.

    Returns:
        ``{"same", "compared", "cells", "only_in_a", "only_in_b"}``. ``cells`` lists only
        differing cells as ``{"cell", "same", "diff", "images_differ"}`` where ``diff``
        is a unified diff of the sanitized signatures capped at 40 lines. ``same`` is
        False if any compared cell differs or any key is present on one side only.
    """
    sanitizers = [*extra_sanitizers, *DEFAULT_SANITIZERS]
    common = sorted(set(a) & set(b))
    cells: list[dict[str, Any]] = []
    for key in common:
        sig_a = _cell_signatures(a[key], sanitizers)
        sig_b = _cell_signatures(b[key], sanitizers)
        if sig_a == sig_b:
            continue
        diff = list(
            difflib.unified_diff(
                _render(sig_a), _render(sig_b), f"a/cell {key}", f"b/cell {key}", lineterm=""
            )
        )
        if len(diff) > MAX_DIFF_LINES:
            diff = [*diff[:MAX_DIFF_LINES], f"... ({len(diff) - MAX_DIFF_LINES} more lines)"]
        cells.append(
            {
                "cell": key,
                "same": False,
                "diff": "\n".join(diff),
                "images_differ": _images(sig_a) != _images(sig_b),
            }
        )
    only_in_a = sorted(set(a) - set(b))
    only_in_b = sorted(set(b) - set(a))
    return {
        "same": not cells and not only_in_a and not only_in_b,
        "compared": len(common),
        "cells": cells,
        "only_in_a": only_in_a,
        "only_in_b": only_in_b,
    }


def load_sanitizers(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Read user sanitizers from a file in nbval's ``--sanitize-with`` format.

    Each section holds one pattern::

        [timestamps]
        regex: \\d{2}:\\d{2}:\\d{2}
        replace: TIME

    Args:
        path: The file to read.

    Returns:
        ``(regex, replacement)`` pairs in file order.

    Raises:
        ValueError: The file is malformed, a section lacks ``regex`` or ``replace``, or
            a regex does not compile (the message names the section).
        OSError: The file cannot be read.
    """
    # No interpolation: "%" is an ordinary character in regexes and replacements.
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except configparser.Error as exc:
        raise ValueError(f"cannot parse sanitizer file {os.fspath(path)!r}: {exc}") from exc
    result: list[tuple[str, str]] = []
    for section in parser.sections():
        if not parser.has_option(section, "regex") or not parser.has_option(section, "replace"):
            raise ValueError(f"sanitizer section [{section}] needs both 'regex' and 'replace'")
        regex = parser.get(section, "regex")
        try:
            re.compile(regex)
        except re.error as exc:
            raise ValueError(f"invalid regex in sanitizer section [{section}]: {exc}") from exc
        result.append((regex, parser.get(section, "replace")))
    return result
