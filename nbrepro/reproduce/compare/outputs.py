"""Compare cell outputs of two notebook runs the way nbval does: sanitize, then compare.

Outputs are nbformat v4 output dicts. Only *noise* is removed before comparing: what
cannot be a result of the notebook (memory addresses in reprs, temporary paths,
progress-bar redraws and timings, Python warnings, MLflow's and nbrepro's own lines,
well-known library chatter). Anything the notebook printed is compared, stderr
included: a loss written with ``logging`` is a result.

A difference that goes away when times, dates and durations are masked is labelled
*volatile* (with the kinds: ``times``, ``durations``), so a reader
sees at once why a run "differs"; ``ignore_volatile`` makes such differences not count.
docs/verdict.md has the full list and the reasons.
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

# Noise: replaced before comparing, always. Never a value the notebook computed.
DEFAULT_SANITIZERS: list[tuple[str, str]] = [
    (rf"(?<![\w.])(?:/private)?/(?:tmp|var/folders)/{_PATH_CHARS}*", "TMPPATH"),
    (
        rf"(?i)\b[A-Z]:\\(?:Users\\[^\\\s'\"]+\\AppData\\Local\\|Windows\\)Temp\\{_PATH_CHARS}*",
        "TMPPATH",
    ),
    # A repr's address: "<Model object at 0x7f3a2b1c9d10>". A bare hex number may be a
    # checksum the notebook printed, so only the "at 0x..." form goes.
    (r"(?<=\bat )0x[0-9a-fA-F]+\b", "0xADDRESS"),
    # tqdm's timing: "[00:01<00:00, 9.87it/s, loss=0.12]" keeps "loss=0.12]"; only the
    # clock and the rate go.
    (
        rf"\[{_CLOCK}(?:<(?:{_CLOCK}|\?))?, *(?:\?|\d+(?:\.\d+)?) ?"
        r"(?:[kMGT]?[A-Za-z]+/s|s/[A-Za-z]+)",
        "[PROGRESS",
    ),
    # Keras: "32/32 ━━━━━━━━━━ 0s 2ms/step - loss: 0.1200": the loss stays, the speed goes.
    (r"(?<![\w.])(?:\d+m?s )?\d+(?:\.\d+)?[mµu]?s/(?:step|sample|epoch)\b", "DURATION/step"),
]

# Whole lines of noise, dropped from streams before comparing (multiline patterns).
NOISE_LINES: list[tuple[str, str]] = [
    # A Python warning as warnings.showwarning prints it, "path.py:12: FutureWarning:
    # message", with the one source line after it; and the same routed through logging.
    # A warning the notebook's own code raises (ipykernel's cell files) is its output.
    (
        "warnings",
        r"^(?![^\n]*(?:ipykernel_\d+/|<ipython-input-))[^\n]*\.py:\d+: [A-Z]\w*Warning: "
        r"[^\n]*\n(?:  \S[^\n]*\n)?",
    ),
    ("warnings", r"^WARNING:py\.warnings:[^\n]*\n(?:  \S[^\n]*\n)?"),
    # MLflow's own lines: its logger, its links, the model registry's notices.
    (
        "mlflow",
        r"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} (?:DEBUG|INFO|WARNING|ERROR) (?:mlflow|alembic)[\w.]*: [^\n]*\n",
    ),
    ("mlflow", r"^INFO  \[alembic[^\]]*\] [^\n]*\n"),
    ("mlflow", r"^(?:🏃 View run|🧪 View experiment) [^\n]*\n"),
    (
        "mlflow",
        r"^(?:Successfully registered model|Created version '\d+' of model|Registered model '[^'\n]*' already exists)[^\n]*\n",
    ),
    # %timeit's remark on how the machine's timings varied.
    (
        "chatter",
        r"^The slowest run took [\d.]+ times longer than the fastest\. This could mean that "
        r"an intermediate result is being cached\.\n",
    ),
    # nbrepro's own lines.
    ("nbrepro", r"^nbrepro(?: warning)?: [^\n]*\n"),
    # IPython's answer to `%load_ext nbrepro` in the kernels nbrepro started before
    # they loaded nbrepro under a name of its own (nbrepro/kernel/started.py).
    (
        "nbrepro",
        r"^The nbrepro extension is already loaded\. To reload it, use:\n  %reload_ext nbrepro\n",
    ),
    # Library chatter: glog lines of C++ code (TensorFlow, JAX, XLA; a notebook's own
    # absl logging comes from .py files and stays), Spark's log4j start-up lines.
    ("chatter", r"^[IWE]\d{4} [\d:.]+ +\d+ [\w/.-]+\.(?:cc|cpp|h):\d+\] [^\n]*\n"),
    ("chatter", r"^WARNING: All log messages before absl::InitializeLog\(\) is called [^\n]*\n"),
    (
        "chatter",
        r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d+: [IWE] (?:tensorflow|external/)[^\n]*\n",
    ),
    (
        "chatter",
        r"^(?:Setting default log level to|To adjust logging level use sc\.setLogLevel)[^\n]*\n",
    ),
    (
        "chatter",
        r"^\d{2}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} (?:WARN|INFO) "
        r"(?:org\.apache|org\.sparkproject|util\.NativeCodeLoader)[\w.$]*: [^\n]*\n",
    ),
]
_NOISE_LINES = [(kind, re.compile(p, re.MULTILINE)) for kind, p in NOISE_LINES]

# Volatile: compared, but a difference they explain is labelled with their kind.
VOLATILE_PATTERNS: dict[str, list[str]] = {
    "times": [
        r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?",
        r"\b\d{4}[-/]\d{2}[-/]\d{2}\b",
        r"\bdatetime\.(?:datetime|date|time)\([^)]*\)",
        r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
        r"[ \d]\d \d{2}:\d{2}:\d{2} \d{4}\b",
        r"(?<![\w.:])\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b",
    ],
    "durations": [
        # %timeit: "1.2 ms ± 3 µs per loop (mean ± std. dev. of 7 runs, 1,000 loops each)".
        r"[\d.]+ \S?s ± [\d.]+ \S?s per loop \(mean ± std\. dev\. of \d+ runs?, [\d,]+ loops? each\)",
        r"(?:(?<![\w.])\d+(?:\.\d+)?|\?)\s?(?:it|[kMG]?B)/s\b",
        r"(?<![\w.])\d+(?:\.\d+)?\s?s/it\b",
        # IPython's long timings: "1min 2s", "1h 2min 3s" (units glued to the number).
        r"(?<![\w.])\d+(?:\.\d+)?(?:h|min)(?: \d+(?:\.\d+)?(?:min|s))*\b",
        # Not a bare "min" or "h" ("mean 0.53 min 0.12" is not a duration).
        r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ns|us|µs|μs|ms|s|sec|secs|seconds?|mins|minutes?|hours?)\b(?!\s*=)",
    ],
}
VOLATILE_KINDS = tuple(VOLATILE_PATTERNS)
_VOLATILE = {
    kind: [re.compile(p) for p in patterns] for kind, patterns in VOLATILE_PATTERNS.items()
}

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
    """What a terminal (and JupyterLab) finally shows of lines redrawn with ``\r``.

    Progress bars redraw a line; how many redraws land in the output depends on timing.
    Each redraw overwrites the line from its start, so ``"acc 0.91\rdone"`` shows as
    ``"done0.91"``, as JupyterLab shows it. A ``"\r"`` ending a line is a CRLF line end
    (csv.writer's), not a redraw.
    """
    lines = []
    for line in text.split("\n"):
        shown = ""
        for part in line.rstrip("\r").split("\r"):
            shown = part + shown[len(part) :]
        lines.append(shown)
    return "\n".join(lines)


def _is_ignored(output: Mapping[str, Any]) -> bool:
    # A widget's text/plain is a snapshot of its state at display time, not a result.
    data = output.get("data") or {}
    if any(mime in data for mime in IGNORED_MIMES):
        return True
    return _text(data.get("text/plain", "")).startswith(NBREPRO_PREFIX)


def drop_noise_lines(text: str) -> str:
    """Remove whole lines of noise (warnings, progress bars, MLflow's and nbrepro's lines)."""
    if not text:
        return text
    ended = text if text.endswith("\n") else text + "\n"
    for _kind, pattern in _NOISE_LINES:
        ended = pattern.sub("", ended)
    return ended if text.endswith("\n") else ended[:-1]


def output_signature(
    output: Mapping[str, Any], sanitizers: Sequence[tuple[str, str]] = DEFAULT_SANITIZERS
) -> dict[str, Any]:
    """What is compared for one output.

    Args:
        output: An nbformat v4 output dict.
        sanitizers: Patterns applied to text content.

    Returns:
        ``{}`` for ignored outputs (widget views, nbrepro's ``"nbrepro:"`` summary, a
        stream left empty once its noise lines are gone); for streams ``output_type``,
        ``name`` and sanitized ``text``; for rich outputs ``output_type`` and ``data``
        mapping each mime type to sanitized text (text mimes) or ``sha256:<hex>``
        (images, other mimes); for errors ``ename`` and sanitized ``evalue``.
    """
    kind = output.get("output_type", "")
    if kind == "stream":
        text = drop_noise_lines(_resolve_carriage_returns(_text(output.get("text", ""))))
        if not text.strip():
            return {}
        return {
            "output_type": kind,
            "name": output.get("name", ""),
            "text": sanitize(text, sanitizers),
        }
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


def mask_volatile(text: str, kinds: Sequence[str] = VOLATILE_KINDS) -> str:
    """``text`` with the volatile values of ``kinds`` replaced by ``<times>`` etc."""
    for kind in kinds:
        for pattern in _VOLATILE[kind]:
            text = pattern.sub(f"<{kind}>", text)
    return text


def volatile_kinds(lines_a: Sequence[str], lines_b: Sequence[str]) -> list[str]:
    """The fewest volatile kinds whose masking makes two renderings equal; [] if none do.

    Masking every kind must make them equal, else the difference is real. Then each
    kind that can be left unmasked, with the rest still equal, is not needed.
    """
    text_a, text_b = "\n".join(lines_a), "\n".join(lines_b)
    if mask_volatile(text_a) != mask_volatile(text_b):
        return []
    needed = list(VOLATILE_KINDS)
    for kind in VOLATILE_KINDS:
        rest = [k for k in needed if k != kind]
        if mask_volatile(text_a, rest) == mask_volatile(text_b, rest):
            needed = rest
    return needed


def _stops_short(lines_a: Sequence[str], lines_b: Sequence[str]) -> bool:
    """Whether one rendering is the other cut short (its last line possibly cut too)."""
    text_a, text_b = "\n".join(lines_a), "\n".join(lines_b)
    return text_a.startswith(text_b) or text_b.startswith(text_a)


def compare_outputs(
    a: Mapping[int, Sequence[Mapping[str, Any]]],
    b: Mapping[int, Sequence[Mapping[str, Any]]],
    extra_sanitizers: Sequence[tuple[str, str]] = (),
    *,
    ignore_volatile: bool = False,
    labels: Mapping[int, str] | None = None,
) -> dict[str, Any]:
    """Compare the outputs of two runs cell by cell.

    Args:
        a: Cell key (the cell's identity: its position in the original's executed
            sequence) to that cell's outputs, run A.
        b: The same for run B.
        extra_sanitizers: User patterns, applied before :data:`DEFAULT_SANITIZERS` so
            they can be written against the raw output.
        ignore_volatile: a difference explained by volatile values (see
            :func:`volatile_kinds`) does not count; it is still listed.
        labels: how to name each cell for a reader (``In [3] (cell 4)``, see
            :meth:`nbrepro.store.runs.CapturedRun.cell_labels`).

    Returns:
        ``{"same", "compared", "with_outputs", "cells", "only_in_a", "only_in_b",
        "volatile_only"}``. ``with_outputs`` counts the compared cells that showed
        anything in either run. ``cells`` lists only differing cells as ``{"cell",
        "label", "same", "diff", "images_differ", "volatile", "counted",
        "truncation"}``, where ``diff`` is a unified diff of the sanitized signatures
        capped at 40 lines, ``volatile`` the kinds of volatile values that explain the
        difference ([] when they do not) and ``truncation`` whether one side is the
        other cut short. ``same`` is False if any counted cell differs or any key is
        present on one side only; ``volatile_only`` is True when every differing cell
        is volatile.
    """
    sanitizers = [*extra_sanitizers, *DEFAULT_SANITIZERS]
    common = sorted(set(a) & set(b))
    cells: list[dict[str, Any]] = []
    with_outputs = 0
    for key in common:
        sig_a = _cell_signatures(a[key], sanitizers)
        sig_b = _cell_signatures(b[key], sanitizers)
        if sig_a or sig_b:
            with_outputs += 1
        if sig_a == sig_b:
            continue
        lines_a, lines_b = _render(sig_a), _render(sig_b)
        images_differ = _images(sig_a) != _images(sig_b)
        kinds = [] if images_differ else volatile_kinds(lines_a, lines_b)
        diff = list(difflib.unified_diff(lines_a, lines_b, "original", "rerun", lineterm=""))
        if len(diff) > MAX_DIFF_LINES:
            diff = [*diff[:MAX_DIFF_LINES], f"... ({len(diff) - MAX_DIFF_LINES} more lines)"]
        cells.append(
            {
                "cell": key,
                # Without a label: the cell's place among the executions, from 1.
                "label": (labels or {}).get(key) or f"execution {key + 1}",
                "same": False,
                "diff": "\n".join(diff),
                "images_differ": images_differ,
                "volatile": kinds,
                "counted": not (ignore_volatile and kinds),
                "truncation": _stops_short(lines_a, lines_b),
            }
        )
    only_in_a = sorted(set(a) - set(b))
    only_in_b = sorted(set(b) - set(a))
    return {
        "same": not any(c["counted"] for c in cells) and not only_in_a and not only_in_b,
        "compared": len(common),
        "with_outputs": with_outputs,
        "cells": cells,
        "only_in_a": only_in_a,
        "only_in_b": only_in_b,
        "volatile_only": bool(cells) and all(c["volatile"] for c in cells),
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
