"""The runs as a reader sees them: status, labels, the runs table and which run was fine-tuned from which.

``drviz.checkpoints`` reads and writes a run folder; this module describes runs that are already
read (``RunInfo``) for the app's pickers and tables. ``weights_version`` is the cache key that
changes whenever a run's weights are rewritten (a run still training).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from drviz.checkpoints import RunInfo, lineage
from drviz.evaluation import headline_scores
from drviz.tables import rounded

# The run the app opens on: the first of these that exists (checkpoints/README.md describes them).
DEFAULT_RUNS = ("color_dsprites-ada_gvae-s0", "color_dsprites-beta_vae-s0")


def default_run(names: Sequence[str]) -> str | None:
    """The shipped run to show first among ``names`` (else the first name; None when empty)."""
    return next((n for n in DEFAULT_RUNS if n in names), names[0] if names else None)


def source_moved_on(source: RunInfo, transfer: RunInfo) -> str | None:
    """One line when ``source`` has trained further since ``transfer`` was initialised from it
    (the "before" scores then come from newer weights than the transfer started from)."""
    for note in transfer.notes:
        m = re.match(r"initialised from (\S+) at step (\d+)", note)
        if m and m.group(1) == source.name and int(m.group(2)) != source.step:
            return (f"{source.name} has trained on since {transfer.name} started from it (step {int(m.group(2)):,} "
                    f"then, {source.step:,} now): 'before' shows its current weights")
    return None


def weights_version(path: str | Path) -> int:
    """A cache key that changes whenever the run's weights are rewritten (mtime in ns, size)."""
    st = (Path(path) / "model.pt").stat()
    return int(st.st_mtime_ns) ^ (st.st_size << 1)


def run_status(info: RunInfo) -> str:
    """'finished', 'cancelled at step N', or 'in progress (step N of M)'."""
    steps = int(info.state.get("steps", info.config.steps))
    if info.finished:
        return "finished"
    if info.state.get("cancelled"):
        return f"cancelled at step {info.step}"
    return f"in progress (step {info.step} of {steps})" if info.state else "no progress recorded"


def run_label(info: RunInfo) -> str:
    """What a picker shows for a run: its name, and its status unless it is finished."""
    tail = "" if info.finished else f"  [{run_status(info)}]"
    return f"{info.name}{tail}"


def runs_table(infos: Sequence[RunInfo], root: Path | None = None) -> pd.DataFrame:
    """One row per run: its config, status, lineage and headline scores from metrics.json."""
    rows = []
    for info in infos:
        c = info.config
        row = {
            "run": info.name, "dataset": c.dataset, "method": c.method, "beta": c.beta,
            "latent dim": c.latent_dim, "steps": info.step, "status": run_status(info),
            "lineage": " -> ".join(lineage(info, root)),
            "final loss": rounded(info.state.get("loss")),
        }
        row.update(headline_scores(info.metrics))
        rows.append(row)
    return pd.DataFrame(rows)


def transfer_map(infos: Sequence[RunInfo]) -> dict[str, list[str]]:
    """Source run name -> names of the runs fine-tuned directly from it (among ``infos``), oldest
    first (by the time their weights were last written), so the newest transfer is last.
    Continuations (``config.continued``) are not transfers."""
    out: dict[str, list[str]] = {}
    names = {r.name for r in infos}
    for r in sorted(infos, key=lambda r: _weights_mtime(r.path)):
        src = Path(r.config.init_from).name if r.config.is_transfer else None
        if src in names:
            out.setdefault(src, []).append(r.name)
    return out


def _weights_mtime(path: Path) -> float:
    try:
        return (Path(path) / "model.pt").stat().st_mtime
    except OSError:
        return 0.0


__all__ = ["run_label", "run_status", "runs_table", "transfer_map", "weights_version"]
