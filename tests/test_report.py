"""``drviz report``: one self-contained HTML file (plotly.js embedded, images inline, nothing fetched)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from drviz.cli import main
from drviz.testing import make_fixture_runs

N = 500


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    return make_fixture_runs(tmp_path_factory.mktemp("report_runs"))


def external_references(text: str) -> list[str]:
    """src= / href= attributes and CSS url()s that point outside the file."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", text)
    refs += re.findall(r"""url\(\s*["']?([^)"']+)""", text)
    return [r for r in refs if not r.startswith(("data:", "#"))]


def test_report_of_a_transfer_holds_every_part_inline(root):
    from drviz.report import report_html

    text = report_html("fixture-transfer", "fixture-source", n=N, scores=False, root=root).decode()
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("<script type=\"text/javascript\">") >= 1 and "Plotly.newPlot" in text
    assert "cdn.plot.ly/plotly" not in text.split("</head>")[1]  # the figures load nothing
    assert external_references(text.split("<body>")[1]) == []
    # per run: card, matrix, bars at three alphas, traversals (latent and per FoV), reconstructions
    for name in ("fixture-transfer", "fixture-source"):
        assert f"<h3>{name}</h3>" in text
    assert text.count('class="plotly-graph-div"') == 2 * 4 + 1  # + the before / after bars
    assert text.count("src='data:image/png;base64,") == 2 * 3
    for alpha in ("alpha 0: OMES", "alpha 0.5: OMES", "alpha 1: OMES"):
        assert alpha in text
    assert "Before and after fine-tuning: fixture-source -> fixture-transfer" in text
    assert "OMES before" in text and " · KL " in text


def test_cli_writes_the_report_and_a_transfer_alone_finds_its_source(root, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DRVIZ_CHECKPOINTS", str(root))
    out = tmp_path / "r" / "report.html"
    assert main(["report", "fixture-transfer", "--out", str(out), "--n", str(N), "--no-scores"]) == 0
    assert "self-contained" in capsys.readouterr().out
    text = out.read_text()
    assert "Before and after fine-tuning: fixture-source" in text and text.count("<h3>") == 1
    assert main(["report", "fixture-source", "--out", str(tmp_path / "r.png")]) == 2
    assert "ending in .html" in capsys.readouterr().err
    assert main(["report", "no-such-run", "--out", str(tmp_path / "x.html")]) == 2


@pytest.mark.slow
def test_report_with_scores_has_the_transfer_tables(root):
    from drviz.report import report_html

    text = report_html("fixture-source", "fixture-transfer", dataset="real_objects", n=N, root=root).decode()
    assert "GBT accuracy on the full and the pruned representation" in text and "acc pruned after" in text
