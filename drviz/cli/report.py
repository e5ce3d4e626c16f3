"""CLI: ``report RUN [--compare RUN2] --out report.html``, one self-contained HTML file (``drviz.report``)."""

from __future__ import annotations

import sys

from drviz.cli.types import int_in, seed


def register(sub) -> None:
    p = sub.add_parser("report", help="a run (and a second one) as one self-contained, offline HTML file")
    p.add_argument("run")
    p.add_argument("--compare", default=None, metavar="RUN2",
                   help="a second run beside the first (e.g. a source and its transfer); a transfer run's "
                        "before / after tables use its source when --compare is not given")
    p.add_argument("--dataset", default=None, help="where both are evaluated (default: RUN's own dataset)")
    p.add_argument("--n", type=int_in(100, 200_000), default=3000, help="rows encoded for OMES (default 3000)")
    p.add_argument("--seed", type=seed, default=0)
    p.add_argument("--no-scores", action="store_true",
                   help="leave GBT accuracy, DCI and MIG out of the before / after tables (they train classifiers)")
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.set_defaults(func=cmd_report)


def cmd_report(args) -> int:
    from drviz.report import write_report

    path = write_report(args.out, args.run, args.compare, dataset=args.dataset, n=args.n, seed=args.seed,
                        scores=not args.no_scores, on_progress=lambda msg: print(f"report: {msg}", file=sys.stderr))
    size = path.stat().st_size / 2**20
    print(f"wrote {path} ({size:.1f} MB, self-contained: opens offline in any browser)")
    return 0
