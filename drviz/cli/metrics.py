"""CLI for the measuring stage: ``omes``, ``dci``, ``mig``, ``sap``, ``modularity`` (with
explicitness) and ``infomec`` on a representation folder in the reference format
(``representations.npz`` + ``classes.csv``); ``betavae`` and ``factorvae`` on a run (fresh images
of its dataset) or on a folder (its rows); ``encode`` to write a folder from a run, and
``evaluate`` to compute every metric of a run and store them in its ``metrics.json``. With
``--json`` the first key is the headline score.
"""

from __future__ import annotations

import argparse
import json
import sys

from drviz.cli.types import float_in, int_in, n_jobs, seed
from drviz.errors import DrvizError


def register(sub) -> None:
    p = sub.add_parser("omes", help="OMES of a representation folder (representations.npz + classes.csv)")
    p.add_argument("path", help="folder in the reference format")
    p.add_argument("--alpha", type=float_in(0, 1), default=0.5, help="OMES = alpha * OS + (1 - alpha) * MES (default 0.5)")
    p.add_argument("--pooling", choices=("avg", "max"), default="avg", help="pooling over dims (default avg, as the reference)")
    p.add_argument("--key", choices=("mean", "sampled"), default="mean", help="which array to score (default mean)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--estimator", choices=("sampled", "expected"), default="sampled",
                   help="sampled: the reference's pair sampling, averaged over draws (default); "
                        "expected: the closed-form correlation of its pair distribution")
    p.add_argument("--repeats", type=int_in(1, 1000), default=None, help="draws of pairs to average (default: automatic; 1 = one reference run)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_omes)

    p = sub.add_parser("dci", help="DCI (disentanglement, completeness, informativeness) of a representation folder")
    p.add_argument("path")
    p.add_argument("--key", choices=("mean", "sampled"), default="mean")
    _add_split(p)
    p.add_argument("--seed", type=seed, default=0, help="seed of the shuffled split and of the classifiers")
    p.add_argument("--n-jobs", type=n_jobs, default=-1, help="parallel per-FoV classifiers (default: all cores)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_dci)

    p = sub.add_parser("mig", help="MIG (mutual information gap) of a representation folder")
    p.add_argument("path")
    p.add_argument("--key", choices=("mean", "sampled"), default="mean")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mig)

    p = sub.add_parser("sap", help="SAP (separated attribute predictability) of a representation folder")
    p.add_argument("path")
    p.add_argument("--key", choices=("mean", "sampled"), default="mean")
    _add_split(p)
    p.add_argument("--seed", type=seed, default=0, help="seed of the shuffled split")
    p.add_argument("--continuous", action="store_true",
                   help="treat FoVs as continuous (squared correlations; default: discrete, a linear SVM per dim and FoV)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sap)

    p = sub.add_parser("modularity", help="Modularity and Explicitness (Ridgeway & Mozer) of a representation folder")
    p.add_argument("path")
    p.add_argument("--key", choices=("mean", "sampled"), default="mean")
    _add_split(p)
    p.add_argument("--seed", type=seed, default=0, help="seed of the shuffled split and of the classifiers")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_modularity)

    p = sub.add_parser("infomec", help="InfoM, InfoE, InfoC (normalised mutual information) of a representation folder")
    p.add_argument("path")
    p.add_argument("--key", choices=("mean", "sampled"), default="mean")
    p.add_argument("--seed", type=seed, default=0, help="seed of the estimator's jitter")
    p.add_argument("--discrete-latents", action="store_true", help="count the dims as discrete values (quantised codes)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_infomec)

    for name, title in (("betavae", "BetaVAE score (Higgins et al. 2017)"), ("factorvae", "FactorVAE score (Kim & Mnih 2018)")):
        p = sub.add_parser(name, help=f"{title} of a run (fresh images of its dataset) or of a representation folder")
        p.add_argument("path", help="run name or folder, or a representation folder (its rows, where they allow)")
        p.add_argument("--dataset", default=None, help="for a run: the dataset to draw images from (default: the run's)")
        p.add_argument("--paper-settings", action="store_true",
                       help="for a run: fresh images for every point, as published (about 1-2 million images, "
                            "10-20 minutes here); default: one pool of --pool i.i.d. images")
        p.add_argument("--pool", type=int_in(100, 10_000_000), default=10_000, help="for a run: images in the default's pool (default 10,000)")
        p.add_argument("--key", choices=("mean", "sampled"), default="mean", help="for a folder: which array")
        p.add_argument("--seed", type=seed, default=0)
        p.add_argument("--device", default=None)
        p.add_argument("--json", action="store_true")
        p.set_defaults(func=cmd_intervention, metric=name)

    p = sub.add_parser("encode", help="write a run's representation of a dataset in the reference format")
    p.add_argument("run", help="run name or folder")
    p.add_argument("--dataset", required=True)
    p.add_argument("--n", type=int_in(1, 10_000_000), required=True, help="rows to encode")
    p.add_argument("--out", required=True, help="folder to write representations.npz and classes.csv to")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--batch-size", type=int_in(1, 4096), default=256)
    p.add_argument("--device", default=None)
    p.set_defaults(func=cmd_encode)

    p = sub.add_parser("evaluate", help="every metric of a run (OMES, DCI, MIG, SAP, Modularity/Explicitness, InfoMEC, "
                                        "BetaVAE, FactorVAE, downstream accuracy); writes metrics.json")
    p.add_argument("run", help="run name or folder")
    p.add_argument("--dataset", default=None, help="default: the run's dataset")
    p.add_argument("--n", type=int_in(10, 10_000_000), default=10_000, help="rows to encode (default 10,000)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--n-train", type=int_in(10, 10_000_000), default=2000, help="classifier training rows (default 2,000)")
    p.add_argument("--n-test", type=int_in(10, 10_000_000), default=1000, help="classifier test rows (default 1,000)")
    p.add_argument("--n-jobs", type=n_jobs, default=-1, help="parallel per-FoV classifiers (default: all cores)")
    _add_split(p)
    p.add_argument("--paper-settings", action="store_true",
                   help="BetaVAE and FactorVAE with fresh images for every point, as published (30+ minutes here)")
    p.add_argument("--device", default=None)
    p.add_argument("--json", action="store_true", help="print metrics.json's content instead of tables")
    p.set_defaults(func=cmd_evaluate)


def _add_split(p) -> None:
    p.add_argument("--split", choices=("shuffled", "head"), default="shuffled",
                   help="classifiers' 2/3 - 1/3 split: shuffled (default: one shuffle of the rows seeded by --seed, "
                        "shared by every FoV; a table sorted by a FoV scores as the same rows in random order) or "
                        "head (the first two thirds train as the rows are: the reference's split, for exact parity)")


def _load(args: argparse.Namespace):
    """The representation folder; what the labels reader noticed (a dropped index column) goes
    to stderr, so that --json output stays one JSON object."""
    from drviz.representations import load_representation

    rep = load_representation(args.path)
    for note in rep.notes:
        print(f"note: {note}", file=sys.stderr)
    return rep


def _print_json(data: dict) -> None:
    print(json.dumps(data, indent=1, allow_nan=False))


def _fmt(v, width: int = 7, digits: int = 4) -> str:
    """A number in a table; None or NaN is "-", and a value that rounds to zero never prints as -0.0000."""
    if v is None or v != v:
        return f"{'-':>{width}}"
    return f"{round(float(v), digits) + 0.0:{width}.{digits}f}"


def _check_alpha(alpha: float) -> None:
    if not 0.0 <= alpha <= 1.0:
        raise DrvizError(f"--alpha must be in [0, 1]; got {alpha}")


# -- omes / dci / mig on a folder -------------------------------------------------------------
def cmd_omes(args: argparse.Namespace) -> int:
    from drviz.metrics.omes import association_matrix, omes_components

    _check_alpha(args.alpha)
    if args.repeats is not None and args.repeats < 1:
        raise DrvizError(f"--repeats must be at least 1; got {args.repeats}")
    rep = _load(args)
    assoc = association_matrix(rep.z(args.key), rep.factors, factor_names=rep.factor_names, rng=args.seed,
                               estimator=args.estimator, repeats=args.repeats)
    comps = omes_components(assoc)
    if args.json:
        _print_json({**comps.to_json(args.alpha, args.pooling), "key": args.key, "seed": args.seed,
                     "estimator": args.estimator, "n_rows": rep.n_samples})
        return 0
    print_omes(comps, args.alpha, args.pooling, header=f"{args.path} ({rep.n_samples} rows, key {args.key}, seed {args.seed})")
    return 0


def print_omes(comps, alpha: float, pooling: str, header: str = "", file=None) -> None:
    """The readable OMES report: score, per-FoV table, inactive dims, the matrix."""
    out = file or sys.stdout
    res = comps.omes(alpha, pooling)
    n_meas = sum(comps.measurable)
    score = "n/a (no measurable FoV)" if res.score is None else _fmt(res.score, 0)
    if header:
        print(header, file=out)
    print(f"OMES {score}  (alpha {alpha:g}, {pooling} pooling; mean over {n_meas} of {len(res.factors)} FoVs, "
          "the measurable ones)", file=out)
    a = comps.association
    w = max(12, *(len(n) for n in comps.factor_names))
    print(f"{'FoV':{w}} {'OMES':>7} {'OS':>7} {'MES':>7} {'dim':>4} {'pairs':>7}  note", file=out)
    for f, fo in enumerate(res.factors):
        dim = "-" if fo.dim is None else str(fo.dim)
        print(f"{fo.name:{w}} {_fmt(fo.omes)} {_fmt(fo.os)} {_fmt(fo.mes)} {dim:>4} {a.n_pairs[f]:>7}  "
              f"{'' if fo.measurable else 'not measurable: ' + str(fo.reason)}", file=out)
    print(f"inactive dims (std < 0.05): {', '.join(map(str, a.inactive_dims)) or 'none'}", file=out)
    for note in a.notes:
        print(f"note: {note}", file=out)
    print("association matrix A = 1 - |corr| over intervention pairs (rows: dims, columns: FoVs):", file=out)
    cw = max(9, *(len(n) for n in comps.factor_names))
    print(" " * 8 + " ".join(f"{n:>{cw}}" for n in comps.factor_names), file=out)
    dead = set(a.inactive_dims)
    for d, row in enumerate(a.matrix):
        cells = " ".join(f"{'':>{cw}}" if v != v else _fmt(v, cw) for v in row)
        print(f"dim {d:<3} {cells}{'  (inactive)' if d in dead else ''}", file=out)


def cmd_dci(args: argparse.Namespace) -> int:
    from drviz.metrics.dci import dci_from_table

    rep = _load(args)
    res = dci_from_table(rep.z(args.key), rep.factors, factor_names=rep.factor_names, split=args.split,
                         seed=args.seed, n_jobs=args.n_jobs, random_state=args.seed)
    if args.json:
        _print_json(res.to_json())
        return 0
    print_dci(res)
    return 0


def print_dci(res, file=None) -> None:
    out = file or sys.stdout
    print(f"DCI  disentanglement {_fmt(res.disentanglement, 0)}  completeness {_fmt(res.completeness, 0)}  "
          f"informativeness train {_fmt(res.informativeness_train, 0)} / test {_fmt(res.informativeness_test, 0)}  "
          f"({res.n_train} train, {res.n_test} test rows{_split_text(res.split)})", file=out)
    w = max(12, *(len(n) for n in res.factor_names))
    print(f"{'FoV':{w}} {'compl.':>7} {'acc tr':>7} {'acc te':>7}  top dim (importance)", file=out)
    for f, name in enumerate(res.factor_names):
        col = res.importance_matrix[:, f]
        top = f"{int(col.argmax())} ({col.max():.3f})" if res.measurable[f] else "not measurable: " + str(res.reasons[f])
        c, tr, te = (None if v != v else float(v) for v in (res.per_factor_completeness[f], res.accuracy_train[f], res.accuracy_test[f]))
        print(f"{name:{w}} {_fmt(c)} {_fmt(tr)} {_fmt(te)}  {top}", file=out)
    for note in res.notes:
        print(f"note: {note}", file=out)


def _split_text(split) -> str:
    if split is None:
        return ""
    return f"; split {split.mode}" + (f", seed {split.seed}" if split.seed is not None else " (first two thirds train)")


def cmd_mig(args: argparse.Namespace) -> int:
    from drviz.metrics.mig import compute_mig

    rep = _load(args)
    res = compute_mig(rep.z(args.key), rep.factors, factor_names=rep.factor_names)
    if args.json:
        _print_json(res.to_json())
        return 0
    print_mig(res)
    return 0


def print_mig(res, file=None) -> None:
    out = file or sys.stdout
    print(f"MIG {_fmt(res.mig, 0)}  (mean over measurable FoVs; 20 bins per dim)", file=out)
    w = max(12, *(len(n) for n in res.factor_names))
    print(f"{'FoV':{w}} {'MIG':>7} {'H (nats)':>9}  top dim", file=out)
    for f, name in enumerate(res.factor_names):
        v = res.per_factor[f]
        top = str(int(res.mi_matrix[:, f].argmax())) if res.measurable[f] else "not measurable: " + str(res.reasons[f])
        print(f"{name:{w}} {_fmt(None if v != v else float(v))} {_fmt(res.entropy[f], 9)}  {top}", file=out)


# -- sap / modularity / infomec on a folder ---------------------------------------------------
def cmd_sap(args: argparse.Namespace) -> int:
    from drviz.metrics.sap import compute_sap

    rep = _load(args)
    res = compute_sap(rep.z(args.key), rep.factors, factor_names=rep.factor_names, split=args.split, seed=args.seed,
                      continuous=args.continuous)
    if args.json:
        _print_json(res.to_json())
        return 0
    print_sap(res)
    return 0


def print_sap(res, file=None) -> None:
    out = file or sys.stdout
    kind = "squared correlation" if res.continuous else "linear-SVM test accuracy"
    print(f"SAP {_fmt(res.sap, 0)}  (mean over measurable FoVs of the gap between the two dims that predict the FoV "
          f"best; {kind}; {res.n_train} train, {res.n_test} test rows{_split_text(res.split)})", file=out)
    _per_factor_lines(res.factor_names, res.per_factor, res.score_matrix, res.reasons, "gap", out)
    for note in res.notes:
        print(f"note: {note}", file=out)


def _per_factor_lines(names, values, matrix, reasons, what: str, out) -> None:
    import numpy as np

    w = max(12, *(len(n) for n in names))
    print(f"{'FoV':{w}} {what:>7}  best dim (score)", file=out)
    for f, name in enumerate(names):
        v = values[f]
        col = matrix[:, f]
        top = (f"{int(np.nanargmax(col))} ({np.nanmax(col):.3f})" if reasons[f] is None
               else "not measurable: " + str(reasons[f]))
        print(f"{name:{w}} {_fmt(None if v != v else float(v))}  {top}", file=out)


def cmd_modularity(args: argparse.Namespace) -> int:
    from drviz.metrics.modularity import compute_modularity

    rep = _load(args)
    res = compute_modularity(rep.z(args.key), rep.factors, factor_names=rep.factor_names, split=args.split,
                             seed=args.seed)
    if args.json:
        _print_json(res.to_json())
        return 0
    print_modularity(res)
    return 0


def print_modularity(res, file=None) -> None:
    out = file or sys.stdout
    print(f"Modularity {_fmt(res.modularity, 0)}  (mean over dims)   Explicitness test {_fmt(res.explicitness_test, 0)} / "
          f"train {_fmt(res.explicitness_train, 0)}  (ROC-AUC of a logistic regression per FoV; {res.n_train} train, "
          f"{res.n_test} test rows{_split_text(res.split)})", file=out)
    print("per dim modularity: " + " ".join(f"{d}:{v:.3f}" for d, v in enumerate(res.per_dim_modularity)), file=out)
    w = max(12, *(len(n) for n in res.factor_names))
    for f, name in enumerate(res.factor_names):
        v = res.per_factor_explicitness[f]
        why = "" if res.reasons[f] is None else "  not measurable: " + str(res.reasons[f])
        print(f"{name:{w}} explicitness {_fmt(None if v != v else float(v))}{why}", file=out)
    for note in res.notes:
        print(f"note: {note}", file=out)


def cmd_infomec(args: argparse.Namespace) -> int:
    from drviz.metrics.infomec import compute_infomec

    rep = _load(args)
    res = compute_infomec(rep.z(args.key), rep.factors, factor_names=rep.factor_names, seed=args.seed,
                          discrete_latents=args.discrete_latents)
    if args.json:
        _print_json(res.to_json())
        return 0
    print_infomec(res)
    return 0


def print_infomec(res, file=None) -> None:
    out = file or sys.stdout
    print(f"InfoM {_fmt(res.infom, 0)}  InfoE {_fmt(res.infoe, 0)}  InfoC {_fmt(res.infoc, 0)}  ({res.n_rows} rows; "
          f"active dims: {', '.join(map(str, res.active_dims)) or 'none'})", file=out)
    _per_factor_lines(res.factor_names, res.per_factor_infoe, res.nmi, res.reasons, "InfoE", out)
    for note in res.notes:
        print(f"note: {note}", file=out)


# -- betavae / factorvae on a run or a folder ----------------------------------------------------
def cmd_intervention(args: argparse.Namespace) -> int:
    from pathlib import Path

    from drviz.representations import REPRESENTATIONS_FILE

    if args.metric == "betavae":
        from drviz.metrics.betavae import betavae_score as score
    else:
        from drviz.metrics.factorvae import factorvae_score as score
    folder = Path(args.path)
    if (folder / REPRESENTATIONS_FILE).is_file():
        if args.dataset or args.paper_settings:
            raise DrvizError("--dataset and --paper-settings apply to a run; a representation folder is scored on its rows")
        from drviz.metrics.intervention import TableSource

        rep = _load(args)
        src = TableSource(rep.z(args.key), rep.factors, rep.factor_names, f"the rows of {folder}")
        res = score(src, seed=args.seed)
    else:
        from drviz.checkpoints import load_run
        from drviz.evaluation import intervention_scores

        run = load_run(args.path, device=args.device)
        dataset = args.dataset or run.config.dataset
        res = intervention_scores(run.model, dataset, paper_settings=args.paper_settings, pool=args.pool,
                                  seed=args.seed, which=(args.metric,), device=args.device)[args.metric]
    if args.json:
        _print_json(res.to_json())
        return 0
    print_intervention(args.metric, res)
    return 0


def print_intervention(metric: str, res, file=None) -> None:
    out = file or sys.stdout
    label = "BetaVAE" if metric == "betavae" else "FactorVAE"
    how = ("fresh images for every point (published settings)" if res.source == "generated"
           else "points drawn from fixed rows")
    print(f"{label} {_fmt(res.score, 0)}  (evaluation accuracy; train {_fmt(res.train_accuracy, 0)}; "
          f"{res.n_train} training and {res.n_eval} evaluation points of {res.batch_size}; {how}; "
          f"{res.n_images:,} images encoded)", file=out)
    if metric == "factorvae":
        print(f"active dims (std >= 0.05): {', '.join(map(str, res.active_dims)) or 'none'}", file=out)
    for name, reason in zip(res.factor_names, res.reasons):
        if reason is not None:
            print(f"{name}: not measurable: {reason}", file=out)
    for note in res.notes:
        print(f"note: {note}", file=out)


# -- encode / evaluate a run ------------------------------------------------------------------
def cmd_encode(args: argparse.Namespace) -> int:
    import numpy as np
    from tqdm import tqdm

    from drviz.checkpoints import load_run
    from drviz.data import get_dataset
    from drviz.representations import encode_factors, line_sampled_factors, save_representation

    if args.n < 1:
        raise DrvizError(f"--n must be at least 1; got {args.n}")
    run = load_run(args.run, device=args.device)
    ds = get_dataset(args.dataset)
    rng = np.random.default_rng(args.seed)
    factors, how = line_sampled_factors(ds.factor_sizes, args.n, rng)
    print(f"sampling: {how}")
    with tqdm(total=len(factors), unit="img", dynamic_ncols=True, desc="encoding") as bar:
        rep = encode_factors(run.model, ds, factors, rng=rng, batch_size=args.batch_size,
                             on_progress=lambda done, total: bar.update(done - bar.n), description=how)
    out = save_representation(rep, args.out)
    print(f"wrote {out}/representations.npz (mean, sampled: {rep.n_samples} x {rep.n_dims}) "
          f"and classes.csv ({', '.join(rep.factor_names)})")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from drviz.checkpoints import load_run, save_metrics
    from drviz.evaluation import evaluate

    run = load_run(args.run, device=args.device)
    dataset = args.dataset or run.config.dataset
    with tqdm(total=100, unit="%", dynamic_ncols=True, bar_format="{desc:24} {percentage:3.0f}%|{bar}| {elapsed}") as bar:
        def on_progress(stage: str, fraction: float) -> None:
            bar.set_description_str(stage)
            bar.update(round(100 * fraction) - bar.n)

        res = evaluate(run.model, dataset, n=args.n, seed=args.seed, on_progress=on_progress,
                       n_train=args.n_train, n_test=args.n_test, n_jobs=args.n_jobs, split=args.split,
                       paper_settings=args.paper_settings, device=args.device)
    data = res.to_json()
    written = save_metrics(run.path, data, dataset)
    if args.json:
        _print_json(data)
        return 0
    print(f"{run.name} on {dataset}: {res.sampling}")
    for pooling in ("avg", "max"):
        print()
        print_omes(res.omes, 0.5, pooling)
    print()
    print_dci(res.dci)
    print()
    print_mig(res.mig)
    for name, part, show in (("sap", res.sap, print_sap), ("modularity", res.modularity, print_modularity),
                             ("infomec", res.infomec, print_infomec)):
        if part is not None:
            print()
            show(part)
    for name in ("betavae", "factorvae"):
        if getattr(res, name) is not None:
            print()
            print_intervention(name, getattr(res, name))
    print()
    d = res.downstream
    print(f"downstream test accuracy ({d.n_train} train, {d.n_test} test rows{_split_text(d.split)}; "
          "pruned = the FoV's OMES dim)")
    w = max(12, *(len(f.name) for f in d.factors))
    print(f"{'FoV':{w}} {'dim':>4} {'GBT full':>9} {'GBT pr.':>9} {'MLP full':>9} {'MLP pr.':>9}")
    for f in d.factors:
        print(f"{f.name:{w}} {'-' if f.dim is None else f.dim:>4} {_fmt(f.gbt_full, 9)} {_fmt(f.gbt_pruned, 9)} "
              f"{_fmt(f.mlp_full, 9)} {_fmt(f.mlp_pruned, 9)}")
    for note in d.notes:
        print(f"note: {note}")
    print()
    print(f"wrote {written}  ({', '.join(f'{k} {v:.1f} s' for k, v in res.timings)})")
    return 0
