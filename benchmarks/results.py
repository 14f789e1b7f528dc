"""What a benchmark run measured, beside the ceiling measured in the same run, written as
`benchmarks/results/<date>.json`, a Markdown table and a PNG chart.

A scenario is one question ("how fast is the officer's inbox?"): its measurements, the ceiling
they are compared with (the same work with the layers above removed: the bare SQL query, a bare
endpoint, a direct S3 put), and the target it must meet. Ratios are to the ceiling's p50 or rate,
so a slow or busy machine moves both sides together.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).parent / "results"


@dataclass
class Measured:
    """One way of doing the scenario's work: its latencies (ms) and/or its rate (per second)."""

    name: str
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    rate: float | None = None
    unit: str = "requests/s"
    errors: int = 0
    # At a fixed offered rate: the rate completed (context only; ratios use `rate` or p50).
    achieved: float | None = None

    def percentile(self, q: float) -> float | None:
        """The q-th percentile of the latencies (q in 0..100), or None without latencies."""
        if not self.latencies_ms:
            return None
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        cuts = statistics.quantiles(self.latencies_ms, n=100, method="inclusive")
        return cuts[max(0, min(98, round(q) - 1))]

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "count": len(self.latencies_ms),
            "p50_ms": self.percentile(50),
            "p95_ms": self.percentile(95),
            "p99_ms": self.percentile(99),
            "rate": self.rate,
            "unit": self.unit,
            "errors": self.errors,
            "achieved": self.achieved,
        }


@dataclass
class Scenario:
    """A question the run answers: measurements beside their ceiling, and the target."""

    key: str
    title: str
    ceiling: Measured
    measured: list[Measured]
    target: str = ""
    met: bool | None = None
    notes: list[str] = field(default_factory=list)

    def ratio(self, measured: Measured) -> float | None:
        """How many times the ceiling's p50 (or, for rates, the share of its rate)."""
        if measured.rate is not None and self.ceiling.rate:
            return measured.rate / self.ceiling.rate
        mine, base = measured.percentile(50), self.ceiling.percentile(50)
        if mine is None or not base:
            return None
        return mine / base


@dataclass
class Report:
    """Every scenario of one run."""

    scenarios: list[Scenario] = field(default_factory=list)
    started: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    context: dict[str, Any] = field(default_factory=dict)

    def add(self, scenario: Scenario) -> None:
        self.scenarios.append(scenario)
        print(markdown_of(scenario), flush=True)

    def as_json(self) -> dict[str, Any]:
        return {
            "started": self.started.isoformat(),
            "machine": {"cpus": _cpus(), "python": platform.python_version()},
            "context": self.context,
            "scenarios": [
                {
                    "key": s.key,
                    "title": s.title,
                    "target": s.target,
                    "met": s.met,
                    "notes": s.notes,
                    "ceiling": s.ceiling.summary(),
                    "measured": [m.summary() | {"ratio": s.ratio(m)} for m in s.measured],
                }
                for s in self.scenarios
            ],
        }

    def write(self, folder: Path = FOLDER) -> list[Path]:
        """The JSON, the Markdown table and the chart; says where, and returns their paths."""
        folder.mkdir(parents=True, exist_ok=True)
        stem = folder / self.started.strftime("%Y-%m-%dT%H%M%S")
        written = [stem.with_suffix(".json"), stem.with_suffix(".md"), stem.with_suffix(".png")]
        written[0].write_text(json.dumps(self.as_json(), indent=2, default=str) + "\n")
        written[1].write_text(self.markdown())
        self.chart(written[2])
        for path in written:
            print(f"wrote {path}", flush=True)
        return written

    def markdown(self) -> str:
        heading = f"# Benchmarks of {self.started:%Y-%m-%d %H:%M} UTC ({_cpus()} cores)\n"
        context = "".join(f"- {k}: {v}\n" for k, v in self.context.items())
        return heading + "\n" + context + "\n" + "\n".join(markdown_of(s) for s in self.scenarios)

    def chart(self, path: Path) -> None:
        """Each scenario's p50 and p99 (or rate) beside its ceiling, one panel per scenario."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        count = max(1, len(self.scenarios))
        columns = min(2, count)
        rows = math.ceil(count / columns)
        figure, axes = plt.subplots(rows, columns, figsize=(7 * columns, 3.2 * rows), squeeze=False)
        for panel, scenario in zip(axes.flat, self.scenarios, strict=False):
            everything = [scenario.ceiling, *scenario.measured]
            names = [_short(m.name) for m in everything]
            colours = ["#9aa5b1"] + ["#1f6feb"] * len(scenario.measured)
            if any(m.rate is not None for m in everything):
                panel.barh(names, [m.rate or 0 for m in everything], color=colours)
                panel.set_xlabel(everything[0].unit)
            else:
                panel.barh(names, [m.percentile(50) or 0 for m in everything], color=colours)
                panel.scatter(
                    [m.percentile(99) or 0 for m in everything], names, color="#d1242f", zorder=3
                )
                panel.set_xlabel("ms (bar p50, dot p99)")
            panel.invert_yaxis()
            panel.set_title(scenario.title, fontsize=9, loc="left")
            panel.tick_params(labelsize=7)
        for panel in list(axes.flat)[count:]:
            panel.set_visible(False)
        figure.tight_layout()
        figure.savefig(path, dpi=110)
        plt.close(figure)


def markdown_of(scenario: Scenario) -> str:
    """One scenario as a Markdown table, ceiling first."""
    verdict = {True: "met", False: "MISSED", None: "no target"}[scenario.met]
    lines = [
        f"## {scenario.title}",
        "",
        f"Target: {scenario.target or '-'} — {verdict}",
        "",
        "| | p50 ms | p95 ms | p99 ms | rate | errors | vs ceiling |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for measured in [scenario.ceiling, *scenario.measured]:
        ratio = "ceiling" if measured is scenario.ceiling else _ratio(scenario.ratio(measured))
        rate = f"{measured.rate:,.0f} {measured.unit}" if measured.rate is not None else ""
        if measured.achieved is not None:
            rate = f"{measured.achieved:,.1f}/s achieved"
        lines.append(
            f"| {measured.name} | {_ms(measured.percentile(50))} | {_ms(measured.percentile(95))}"
            f" | {_ms(measured.percentile(99))} | {rate} | {measured.errors} | {ratio} |"
        )
    lines += [f"- {note}" for note in scenario.notes]
    return "\n".join(lines) + "\n"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f"{value:.2f}x"


def _short(name: str, width: int = 38) -> str:
    return name if len(name) <= width else name[: width - 1] + "…"


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))
