"""PNG plots of a routing simulation (``calmline simulate routing --plots DIR``), drawn with matplotlib (Agg).

Three figures, one panel per question the issue asks: how long did each tier wait under each policy
(``waits_by_tier.png``), how evenly was the emotional load spread (``exposure_per_agent.png``), and how did
the service level move over the day (``service_level_by_hour.png``). The files carry no timestamps or
software metadata, so the same report draws the same bytes.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from calmline.routing.model import INTENSITIES
from calmline.routing.simulator import Simulation, iter_waits

_COLOURS = {"fifo": "#7f7f7f", "skills_priority": "#1f77b4", "calmline": "#2ca02c"}
_META = {"Software": None}


def write_plots(sim: Simulation, out_dir: str | Path) -> list[Path]:
    """Draw the three figures into ``out_dir`` (created if missing); return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    policies = list(sim.runs)
    paths = [
        _waits(sim, policies, out / "waits_by_tier.png"),
        _exposure(sim, policies, out / "exposure_per_agent.png"),
        _service_level(sim, policies, out / "service_level_by_hour.png"),
    ]
    plt.close("all")
    return paths


def _waits(sim: Simulation, policies: list[str], path: Path) -> Path:
    fig, axes = plt.subplots(1, len(INTENSITIES), figsize=(13, 3.8), sharey=True)
    for ax, kind in zip(axes, INTENSITIES, strict=True):
        data = [sorted(iter_waits(sim.runs[p], [kind])) or [0.0] for p in policies]
        box = ax.boxplot(data, whis=(5, 95), showfliers=False, patch_artist=True)
        for patch, name in zip(box["boxes"], policies, strict=True):
            patch.set_facecolor(_COLOURS.get(name, "#cccccc"))
        ax.set_xticks(range(1, len(policies) + 1), [p.replace("_", "\n") for p in policies], fontsize=8)
        ax.set_title(f"{kind} calls")
        ax.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("wait before answer (s), 5th-95th percentile whiskers")
    fig.suptitle(f"Waits by tier (seed {sim.report['seed']}, {sim.report['days']} days)")
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    return path


def _exposure(sim: Simulation, policies: list[str], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(10, 4))
    last_day = {p: sim.runs[p][-1] for p in policies}
    budget = sim.report[policies[0]]["exposure_minutes"]["budget"]
    width = 0.8 / len(policies)
    for i, name in enumerate(policies):
        values = sorted(a.state.exposure_minutes for a in last_day[name].agents)
        xs = [x + i * width for x in range(len(values))]
        gini = sim.report[name]["exposure_minutes"]["gini"]
        ax.bar(
            xs, values, width=width, color=_COLOURS.get(name, "#cccccc"), label=f"{name} (Gini {gini:.3f})"
        )
    ax.axhline(budget, color="#d62728", linestyle="--", linewidth=1, label=f"budget {budget:g} min")
    ax.set_xlabel("agents, least to most exposed (last simulated day)")
    ax.set_ylabel("intensity-weighted minutes")
    ax.set_title("Exposure per agent")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    return path


def _service_level(sim: Simulation, policies: list[str], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(8, 4))
    for name in policies:
        hourly = sim.report[name]["service_level_by_hour"]
        xs = [h for h, v in enumerate(hourly) if v is not None]
        ax.plot(xs, [hourly[h] for h in xs], marker="o", color=_COLOURS.get(name, "#333333"), label=name)
    ax.axhline(0.8, color="#d62728", linestyle="--", linewidth=1, label="80 % target")
    ax.set_xlabel("hour of the day")
    ax.set_ylabel("share answered within the service-level time")
    ax.set_ylim(0, 1.02)
    ax.set_title("Service level over the day")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110, metadata=_META)
    return path
