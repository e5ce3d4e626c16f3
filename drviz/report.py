"""A run as one self-contained HTML file, to send to someone who will not run the app (issue 17).

``report_html(run, compare)`` builds: the run's card (config, lineage, status, stored headline
scores), its association matrix, per-FoV OS / MES / OMES bars at alpha 0, 0.5 and 1, every latent
dim traversed (ranked by KL, labelled with the FoV OMES assigns it), each FoV along its dim, and
reconstructions; the same for ``compare`` beside it; and, when one run was fine-tuned from the
other, the before / after tables of the Transfer page. plotly.js is embedded once (about 4.7 MB),
images are inline ``data:`` URIs, nothing is fetched: the file opens offline in any browser.

The figures are ``drviz.viz``'s, with the export template; representations come from
``drviz.store`` (the same entries the app and studies read).
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

from drviz.errors import DrvizError

ALPHAS = (0.0, 0.5, 1.0)
POOLING = "avg"
STEPS, LIMIT, N_RECON = 8, 2.0, 8
PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}

_STYLE = """
body { font-family: "Source Sans Pro", "Helvetica Neue", Arial, sans-serif; margin: 24px auto; max-width: 1400px;
       color: #222; padding: 0 16px; }
h1 { margin-bottom: 0; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 36px; }
.sub { color: #666; margin-top: 4px; }
.runs { display: grid; grid-template-columns: repeat(var(--cols), minmax(0, 1fr)); gap: 24px; }
.row3 { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 8px; }  /* fixed tracks: a chart is sized as it is drawn */
.row3 > div, .runs > div { min-width: 0; }  /* a drawn chart must not widen its grid track */
table { border-collapse: collapse; font-size: 14px; margin: 8px 0; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f5f5f5; }
img.grid { max-width: 100%; image-rendering: pixelated; border: 1px solid #eee; }
.note { color: #666; font-size: 13px; }
"""


def _png_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class _Figures:
    """Numbers the figure divs; plotly.js itself is written once in the page's head."""

    def __init__(self) -> None:
        self.count = 0

    def div(self, fig) -> str:
        from drviz import viz

        self.count += 1
        return viz.for_export(fig).to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG,
                                           div_id=f"drviz-fig-{self.count}")


def _table(df: pd.DataFrame) -> str:
    return df.to_html(index=False, border=0, na_rep="-", float_format=lambda v: f"{v:.4f}", escape=True)


def _card(info, root) -> str:
    from drviz.catalog import run_status
    from drviz.checkpoints import lineage
    from drviz.evaluation import headline_scores

    c = info.config
    rows = [("dataset", c.dataset), ("method", c.method), ("beta", f"{c.beta:g}"), ("latent dims", c.latent_dim),
            ("steps", f"{info.step:,}"), ("status", run_status(info)), ("lineage", " -> ".join(lineage(info, root)))]
    scores = headline_scores(info.metrics)
    where = (info.metrics or {}).get("dataset")
    rows += [(f"{label} (stored{', on ' + where if where else ''})", f"{v:.4f}") for label, v in scores.items()]
    body = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>" for k, v in rows)
    return f"<table>{body}</table>"


def _run_section(info, dataset: str, n: int, seed: int, figs: _Figures, progress) -> tuple[str, object]:
    """One run's HTML (card, matrix, bars, traversals, reconstructions) and its OMES components."""
    from drviz import inspection, store, tables, viz
    from drviz.checkpoints import load_run
    from drviz.data import get_dataset
    from drviz.evaluation import encode_labelled, omes_components_of
    from drviz.explorer import rank_dims

    model = load_run(info.path, "cpu").model
    labelled = get_dataset(dataset).labelled
    parts = [f"<h3>{html.escape(info.name)}</h3>", _card(info, info.path.parent)]
    comps = None
    if labelled:
        progress(f"encoding {n:,} samples of {dataset} with {info.name}")
        rep = store.cached_representation(info.path, dataset, n, seed, lambda: encode_labelled(model, dataset, n, seed))
        comps = omes_components_of(rep, seed)
        a = comps.association
        heat = viz.association_heatmap(a.matrix, a.factor_names, a.inactive_dims, comps.dims, a.n_pairs,
                                       title=f"Association matrix A on {dataset} (red box: the FoV's dim)")
        parts.append(f"<h4>OMES on {html.escape(dataset)} ({n:,} samples, {POOLING} pooling)</h4>")
        parts.append(figs.div(heat))
        bars = []
        for alpha in ALPHAS:
            table = tables.fov_table(comps, alpha, POOLING, rep.n_values)
            res = comps.omes(alpha, POOLING)
            bars.append(figs.div(viz.omes_bars(table["FoV"].tolist(), table["OS"].tolist(), table["MES"].tolist(),
                                               table["OMES"].tolist(), alpha, POOLING, res.score,
                                               title=f"alpha {alpha:g}: OMES "
                                                     + ("n/a" if res.score is None else f"{res.score:.4f}"))))
        parts.append(f"<div class='row3'>{''.join(bars)}</div>")
        parts.append(_table(tables.association_table(comps)))
    else:
        parts.append(f"<p class='note'>{html.escape(dataset)} has no factor labels: no OMES, only pictures.</p>")
    progress(f"traversals and reconstructions of {info.name}")
    anchor = inspection.samples(dataset, 1, seed, model.spec.channels)[0]
    kl = inspection.dim_activity(model, dataset, 256, seed)
    dims = (rank_dims(kl, comps.dims, comps.factor_names, comps.association.inactive_dims) if comps is not None
            else rank_dims(kl))
    grid = inspection.latent_traversal(model, anchor, STEPS, LIMIT)[[d.dim for d in dims]]
    labels = "".join(f"<li>{html.escape(d.label)}</li>" for d in dims)
    parts.append(f"<h4>Every latent dim, ranked by KL (rows top to bottom, +-{LIMIT:g})</h4>"
                 f"<img class='grid' alt='latent traversal of {html.escape(info.name)}' "
                 f"src='{_png_uri(inspection.grid_png(grid))}'><ol class='note' start='1'>{labels}</ol>")
    if comps is not None:
        fov_grid, fov_labels = inspection.fov_traversals(model, dataset, comps.dims, STEPS, LIMIT, seed)
        parts.append("<h4>Each FoV in the data, then its OMES dim traversed</h4>"
                     f"<img class='grid' alt='per-FoV traversal of {html.escape(info.name)}' "
                     f"src='{_png_uri(inspection.grid_png(fov_grid))}'>"
                     f"<p class='note'>Rows: {html.escape(', '.join(fov_labels))}</p>")
    recon = inspection.reconstructions(model, dataset, N_RECON, seed)
    parts.append(f"<h4>Reconstructions of {html.escape(dataset)} (top: originals)</h4>"
                 f"<img class='grid' alt='reconstructions by {html.escape(info.name)}' "
                 f"src='{_png_uri(inspection.grid_png(recon))}'>")
    return "\n".join(parts), comps


def _components(info, dataset: str, n: int, seed: int, progress):
    """OMES components of a run on ``dataset`` (None when it has no labels)."""
    from drviz import store
    from drviz.checkpoints import load_run
    from drviz.data import get_dataset
    from drviz.evaluation import encode_labelled, omes_components_of

    if not get_dataset(dataset).labelled:
        return None
    model = load_run(info.path, "cpu").model
    progress(f"encoding {n:,} samples of {dataset} with {info.name}")
    rep = store.cached_representation(info.path, dataset, n, seed, lambda: encode_labelled(model, dataset, n, seed))
    return omes_components_of(rep, seed)


def _before_after(before, after, comps_before, comps_after, dataset: str, n: int, seed: int, scores: bool,
                  figs: _Figures, progress) -> str:
    from drviz import store, tables, viz
    from drviz.checkpoints import load_run
    from drviz.evaluation import encode_labelled, quick_scores_json, stored_before_after

    parts = [f"<h2>Before and after fine-tuning: {html.escape(before.name)} -> {html.escape(after.name)} "
             f"on {html.escape(dataset)}</h2>"]
    b, a = comps_before.omes(0.5, POOLING), comps_after.omes(0.5, POOLING)
    per_fov = pd.DataFrame({"FoV": list(b.factor_names), "OMES before": [f.omes for f in b.factors],
                            "OMES after": [f.omes for f in a.factors], "OS before": [f.os for f in b.factors],
                            "OS after": [f.os for f in a.factors], "MES before": [f.mes for f in b.factors],
                            "MES after": [f.mes for f in a.factors]})
    parts.append(figs.div(viz.before_after_bars(per_fov["FoV"].tolist(), per_fov["OMES before"].tolist(),
                                                per_fov["OMES after"].tolist(),
                                                title="Per-FoV OMES (alpha 0.5), before and after", y_title="OMES")))
    parts.append(_table(per_fov))
    if scores:
        found = stored_before_after(before.path, after.path, dataset, n, seed)
        if found is None:
            progress("GBT accuracies, DCI and MIG before and after (up to a minute on a CPU)")
            results = []
            for info in (before, after):
                model = load_run(info.path, "cpu").model
                results.append(quick_scores_json(info.path, dataset, n, seed, lambda m=model, i=info: (
                    store.cached_representation(i.path, dataset, n, seed, lambda: encode_labelled(m, dataset, n, seed)))))
            found = (*results, stored_before_after(before.path, after.path, dataset, n, seed)[2])
        fov_table, summary = tables.transfer_tables(found[0], found[1], 0.5, POOLING)
        parts.append(f"<p class='note'>Scores {html.escape(found[2])}.</p>")
        parts.append("<h4>Summary (OMES at alpha 0.5, avg pooling)</h4>" + _table(summary))
        parts.append("<h4>Per FoV: GBT accuracy on the full and the pruned representation</h4>" + _table(fov_table))
    else:
        parts.append("<p class='note'>Accuracy, DCI and MIG left out (they train classifiers); "
                     "<code>python -m drviz report</code> adds them.</p>")
    return "\n".join(parts)


def report_html(run: str, compare: str | None = None, *, dataset: str | None = None, n: int = 3000, seed: int = 0,
                scores: bool = True, root: Path | None = None,
                on_progress: Callable[[str], None] | None = None) -> bytes:
    """The report of ``run`` (and ``compare`` beside it) as one HTML file's bytes.

    Args:
        run, compare: run names or folders. When one was fine-tuned from the other (or ``run`` is a
            transfer and ``compare`` is None: its source is used), the before / after tables follow.
        dataset: where both are evaluated (default: ``run``'s own dataset, a transfer's target).
        n, seed: rows encoded for OMES and the seed of every picture.
        scores: add GBT accuracy (full and pruned), DCI and MIG to the before / after section.
    """
    import plotly.offline

    from drviz.checkpoints import read_run

    progress = on_progress or (lambda _msg: None)
    info = read_run(run, root)
    other = read_run(compare, root) if compare else None
    if other is not None and other.path.resolve() == info.path.resolve():
        raise DrvizError("--compare names the same run as RUN; pick another run")
    dataset = dataset or info.config.dataset
    if not 100 <= n <= 200_000:
        raise DrvizError(f"the number of samples must be between 100 and 200,000; got {n}")
    figs = _Figures()
    shown = [info] + ([other] if other is not None else [])
    sections, comps = [], []
    for r in shown:
        body, c = _run_section(r, dataset, n, seed, figs, progress)
        sections.append(f"<div>{body}</div>")
        comps.append(c)

    # before / after: which of the two is the source of the other
    pair = None
    if other is not None:
        if other.config.is_transfer and Path(other.config.init_from).name == info.name:
            pair = (info, other, comps[0], comps[1])
        elif info.config.is_transfer and Path(info.config.init_from).name == other.name:
            pair = (other, info, comps[1], comps[0])
    elif info.config.is_transfer:
        try:
            src = read_run(Path(info.config.init_from).name, root)
        except DrvizError:
            src = None
        if src is not None:
            pair = (src, info, _components(src, dataset, n, seed, progress), comps[0])
    extra = ""
    if pair is not None and pair[2] is not None and pair[3] is not None:
        extra = _before_after(pair[0], pair[1], pair[2], pair[3], dataset, n, seed, scores, figs, progress)

    title = f"drviz report: {info.name}" + (f" vs {other.name}" if other else "")
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>{_STYLE}</style>
<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>
</head><body>
<h1>{html.escape(title)}</h1>
<p class="sub">Evaluated on <b>{html.escape(dataset)}</b> ({n:,} line-sampled samples, seed {seed}); made {when} by
drviz. A[d, f] = 1 - |corr(z_d(x), z_d(y))| over pairs differing only in FoV f; OMES = alpha * OS + (1 - alpha) * MES
(Dapueto, Noceti, Odone, NeurIPS 2024). This file needs no network.</p>
<h2>{'The two runs side by side' if other else 'The run'}</h2>
<div class="runs" style="--cols: {len(shown)}">{''.join(sections)}</div>
{extra}
</body></html>
"""
    progress("done")
    return page.encode("utf-8")


def write_report(out: str | Path, run: str, compare: str | None = None, **kwargs) -> Path:
    """``report_html`` written to ``out`` (an ``.html`` name), atomically."""
    from drviz.atomic import atomic_write_bytes

    out = Path(out)
    if out.suffix.lower() not in (".html", ".htm"):
        raise DrvizError(f"the report is an HTML file: give --out a name ending in .html; got {out.name!r}")
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, report_html(run, compare, **kwargs))
    return out


__all__ = ["ALPHAS", "report_html", "write_report"]
