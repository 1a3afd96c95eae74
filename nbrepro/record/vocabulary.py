"""The words every part of nbrepro shares: verdicts, rerun modes, exit codes.

The CLI, the server, the jobs and the card import these; none restates them. The REST
schema (``nbrepro/schema/api-1.schema.json``) spells the same values, and a test checks
that they agree.
"""

from __future__ import annotations

from typing import Final, Literal

# A reproduction report's verdict.
Verdict = Literal["reproduced", "differs", "failed"]
REPRODUCED: Final = "reproduced"
DIFFERS: Final = "differs"
FAILED: Final = "failed"
VERDICTS: Final = (REPRODUCED, DIFFERS, FAILED)

# Which data a rerun reads: the versions the run read, or each table's latest.
DataMode = Literal["pinned", "latest"]
PINNED: Final = "pinned"
LATEST: Final = "latest"
DATA_MODES: Final = (PINNED, LATEST)

# Which Python a rerun uses: this one, or the recorded packages rebuilt with uv.
EnvMode = Literal["current", "recorded"]
CURRENT: Final = "current"
RECORDED: Final = "recorded"
ENV_MODES: Final = (CURRENT, RECORDED)

# Exit codes of the command line (docs/verdict.md and the README list them).
EXIT_OK: Final = 0  # run: the notebook ran to its end; rerun, diff: reproduced
EXIT_DIFFERS: Final = 1  # rerun, diff: the results differ
EXIT_FAILED: Final = 1  # run: a cell failed (or the kernel died); sync: an upload failed
EXIT_INPUT: Final = 2  # a usage or input error: nothing ran
EXIT_RERUN_FAILED: Final = 3  # rerun: a cell raised, the kernel died, or it could not run
EXIT_INTERRUPTED: Final = 130  # interrupted or cancelled (the shells' 128 + SIGINT)
VERDICT_EXIT: Final = {REPRODUCED: EXIT_OK, DIFFERS: EXIT_DIFFERS, FAILED: EXIT_RERUN_FAILED}
# What a rerun's exit code means to a job watching it.
REPORT_EXITS: Final = frozenset(VERDICT_EXIT.values())  # a report was printed
INTERRUPTED_EXITS: Final = (EXIT_INTERRUPTED, 143)  # SIGINT, SIGTERM (a cancel)
KILLED_EXITS: Final = (-9, 137)  # SIGKILL: most often the out-of-memory killer

# Why a version a run read can no longer be pinned (nbrepro.capture.delta.tables): its
# data files were deleted (a vacuum), its log entries cleaned up, the table re-created
# or gone. Not proof either way: not_checked (object-store files could not be asked
# for), unreachable (the table cannot be opened from here).
PinProblemKind = Literal[
    "files_missing",
    "version_unavailable",
    "table_replaced",
    "table_missing",
    "not_checked",
    "unreachable",
]
FILES_MISSING: Final = "files_missing"
VERSION_UNAVAILABLE: Final = "version_unavailable"
TABLE_REPLACED: Final = "table_replaced"
TABLE_MISSING: Final = "table_missing"
NOT_CHECKED: Final = "not_checked"
UNREACHABLE: Final = "unreachable"
PIN_PROBLEM_KINDS: Final = (
    FILES_MISSING,
    VERSION_UNAVAILABLE,
    TABLE_REPLACED,
    TABLE_MISSING,
    NOT_CHECKED,
    UNREACHABLE,
)
# Of these, the ones that prove a pinned rerun cannot read the data as it was.
UNPINNABLE: Final = frozenset({FILES_MISSING, VERSION_UNAVAILABLE, TABLE_REPLACED, TABLE_MISSING})

# Why a rerun could not run, for a client to act on (a job's error_reason): a version
# it pins can no longer be read (the same rerun on the latest data can run), or a table
# it read is gone (no rerun can).
RerunErrorCode = Literal["pinned-data-unavailable", "data-gone"]
PINNED_DATA_UNAVAILABLE: Final = "pinned-data-unavailable"
DATA_GONE: Final = "data-gone"
RERUN_ERROR_CODES: Final = (PINNED_DATA_UNAVAILABLE, DATA_GONE)
