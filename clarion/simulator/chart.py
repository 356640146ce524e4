"""The chart of a run, like the graphs in the blog post: messages sent to each provider per minute
(and how many of them failed), and the weights that sent them there, with bad phases shaded."""

from __future__ import annotations

from pathlib import Path

from clarion.simulator.engine import Simulation

__all__ = ["draw_chart"]


def draw_chart(simulation: Simulation, path: Path) -> None:
    """Write the chart as a PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display: files only
    import matplotlib.pyplot as plt

    hours = [row.minute / 60 for row in simulation.timeline]
    figure, (sent_axis, weight_axis) = plt.subplots(2, 1, sharex=True, figsize=(11, 6.5),
                                                    gridspec_kw={"height_ratios": [3, 2]})
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for index, provider in enumerate(simulation.providers):
        colour = colours[index % len(colours)]
        requests = [row.sent[provider] + row.faults[provider] for row in simulation.timeline]
        sent_axis.plot(hours, requests, color=colour, linewidth=0.9, label=f"{provider}: sent to it")
        if any(row.faults[provider] for row in simulation.timeline):
            sent_axis.plot(hours, [row.faults[provider] for row in simulation.timeline], color=colour,
                           linewidth=0.9, linestyle=":", label=f"{provider}: failed (retried elsewhere)")
        weight_axis.step(hours, [row.weight.get(provider, 0) for row in simulation.timeline], where="post",
                         color=colour, linewidth=1.4, label=provider)
        for phase in simulation.scenario.providers[provider]:
            for axis in (sent_axis, weight_axis):
                axis.axvspan(phase.from_minute / 60, min(phase.to_minute, len(hours)) / 60, color=colour,
                             alpha=0.08, linewidth=0)
    title = simulation.scenario.title or "clarion routing simulation"
    sent_axis.set_title(f"{title}\n(shaded: a provider's bad phases)", fontsize=11)
    sent_axis.set_ylabel("messages per minute")
    sent_axis.legend(loc="upper right")
    sent_axis.grid(alpha=0.3)
    weight_axis.set_ylabel("weight (% of traffic)")
    weight_axis.set_xlabel("hours since the start")
    weight_axis.set_ylim(-3, 103)
    weight_axis.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
