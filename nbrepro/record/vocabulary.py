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
