"""What a simulation shows: the timeline CSV, the changes file, and the times that matter.

- drain: from the start of a provider's first bad phase until its weight first reaches its lowest;
- return: from the end of the last bad phase of any provider until every weight is back at its
  resting point (and stays there to the end of the run, or to the next bad phase).
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import orjson

from clarion.simulator.engine import Simulation

__all__ = ["summary", "write_changes", "write_timeline"]


def write_timeline(simulation: Simulation, path: Path) -> None:
    """One row per simulated minute: `minute`, then `weight_<id>`, `sent_<id>`, `faults_<id>` per provider."""
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["minute", *(f"{column}_{p}" for p in simulation.providers
                                     for column in ("weight", "sent", "faults"))])
        for row in simulation.timeline:
            writer.writerow([row.minute, *(value for p in simulation.providers
                                           for value in (row.weight.get(p, 0), row.sent[p], row.faults[p]))])


def write_changes(simulation: Simulation, path: Path) -> None:
    """One JSON object per weight change: `minute`, `provider`, `old`, `new`, `reason`."""
    with path.open("wb") as file:
        for minute, change in simulation.changes:
            file.write(orjson.dumps({"minute": round(minute, 3), "provider": change.provider, "old": change.old,
                                     "new": change.new, "reason": change.reason}) + b"\n")


def summary(simulation: Simulation) -> dict[str, Any]:
    """The run in numbers: messages and their final statuses, changes by kind, drain and return times."""
    return {
        "title": simulation.scenario.title,
        "minutes": len(simulation.timeline),
        "messages": simulation.accepted,
        "attempts": simulation.attempts,
        "final_statuses": dict(sorted(simulation.outcomes.items())),
        "lost": simulation.lost,
        "weight_changes": dict(sorted(Counter(str(c.kind) for _, c in simulation.changes).items())),
        "largest_step": max((abs(c.new - c.old) for _, c in simulation.changes), default=0),
        "weights_always_sum_to_100": not simulation.invariant_breaks,
        "drain_minutes": drain_minutes(simulation),
        "return_minutes": return_minutes(simulation),
    }


def drain_minutes(simulation: Simulation) -> dict[str, dict[str, float] | None]:
    """Per provider with bad phases: minutes from its first bad phase until its weight was lowest.

    Usually the lowest is 0. With a fault threshold (Notify's more than 50 a minute) a provider can
    stop at a few points, where it gets too few texts to reach the threshold again.
    """
    drained: dict[str, dict[str, float] | None] = {}
    for provider, phases in simulation.scenario.providers.items():
        if not phases:
            continue
        start, end = min(p.from_minute for p in phases), max(p.to_minute for p in phases)
        during = [(minute, c.new) for minute, c in simulation.changes
                  if c.provider == provider and start <= minute <= end + simulation_lag(simulation)]
        lowest = min((weight for _, weight in during), default=None)
        if lowest is None or lowest >= simulation.resting.get(provider, 0):
            drained[provider] = None  # it never lost weight
            continue
        first = next(minute for minute, weight in during if weight == lowest)
        drained[provider] = {"minutes": round(first - start, 2), "to_weight": lowest}
    return drained


def simulation_lag(simulation: Simulation) -> float:
    """Minutes after a bad phase in which its effects still move weights (the slow-delivery window)."""
    settings = simulation.scenario.settings_for("sqlite://")
    return (settings.sms_slow_window_s + settings.sms_slow_after_s) / 60


def return_minutes(simulation: Simulation) -> float | None:
    """Minutes from the end of the last bad phase until the weights were at their resting points."""
    ends = [phase.to_minute for phases in simulation.scenario.providers.values() for phase in phases]
    if not ends:
        return None
    recovered = max(ends)
    at_rest = dict(simulation.resting)
    weights = dict(simulation.resting)
    later = []
    for minute, change in simulation.changes:
        if minute < recovered:
            weights[change.provider] = change.new
        else:
            later.append((minute, change))
    back: float | None = recovered if weights == at_rest else None
    for minute, change in later:
        weights[change.provider] = change.new
        if weights == at_rest:
            back = minute if back is None else back
        else:
            back = None
    if back is None:
        return None
    return round(max(back - recovered, 0.0), 2)
