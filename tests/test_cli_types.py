"""Out-of-range CLI values are usage errors (one line, exit 2), never tracebacks (issue 15)."""

from __future__ import annotations

import pytest

from drviz.cli import build_parser


@pytest.mark.parametrize("argv, message", [
    ("omes DIR --seed -1", "--seed: -1 is out of range: give an integer in [0, 4,294,967,295]"),
    ("dci DIR --n-jobs 0", "--n-jobs: 0 is out of range: give an integer in [1, 1,024] or -1"),
    ("traverse RUN --steps 0 --out x.png", "--steps: 0 is out of range: give an integer in [2, 64]"),
    ("traverse RUN --steps 100000 --out x.png", "--steps: 100000 is out of range"),
    ("traverse RUN --limit nan --out x.png", "--limit: nan is out of range: give a number in (0, 10]"),
    ("traverse RUN --limit inf --out x.png", "--limit: inf is out of range"),
    ("recon RUN --n 0 --out x.png", "--n: 0 is out of range: give an integer in [1, 256]"),
    ("recon RUN --n 100000 --out x.png", "--n: 100000 is out of range"),
    ("recon RUN --n ten --out x.png", "--n: 'ten' is not an integer"),
    ("omes DIR --alpha 1.5", "--alpha: 1.5 is out of range: give a number in [0, 1]"),
    ("train --dataset dsprites --threads 0", "--threads: 0 is out of range"),
])
def test_out_of_range_values_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit) as done:
        build_parser().parse_args(argv.split())
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)


def test_in_range_values_parse():
    args = build_parser().parse_args("traverse RUN --steps 2 --limit 0.5 --seed 4294967295 --out x.png".split())
    assert (args.steps, args.limit, args.seed) == (2, 0.5, 4294967295)
    assert build_parser().parse_args("dci DIR --n-jobs -1".split()).n_jobs == -1
