"""Shared pieces of the benchmarks."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Result:
    name: str
    measured: str
    baseline: str
    ratio: float | None
    target: str
    met: bool | None
    notes: str = ""

    def line(self) -> str:
        ratio = "n/a" if self.ratio is None else f"{self.ratio:.3f}"
        met = {True: "yes", False: "NO", None: "-"}[self.met]
        return f"{self.name}: {self.measured} vs {self.baseline} -> ratio {ratio} (target {self.target}: {met})"

    def row(self) -> str:
        ratio = "-" if self.ratio is None else f"{self.ratio:.3f}"
        met = {True: "yes", False: "**no**", None: "-"}[self.met]
        return (
            f"| {self.name} | {self.measured} | {self.baseline} | {ratio} | {self.target} | {met} |"
        )


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000.0
