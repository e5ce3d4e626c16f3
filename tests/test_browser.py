"""A real browser against ``streamlit run app.py``: Playwright driving Debian's Chromium.

Moves the alpha slider with the keyboard and checks the displayed OMES against the backend (with no
rerun per key press), checks the in-browser averaging rule against Python's, opens
every page and asserts no error element, trains a tiny model from the Models page and watches it
appear in the pickers, and reads an uploaded heatmap's cells from plotly.js as drawn with
Streamlit's chart theme. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from drviz.testing import CHROMIUM, REPO, open_page, wait_idle, wait_rerun

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: install Debian's chromium "
                       "(`make browser` or `apt-get install chromium`) to run the real-browser tests"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

SHOTS = REPO / "artifacts" / "screenshots"
ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
PAGES = {"home": "", "models": "models", "transfer": "transfer", "omes": "omes", "traversals": "traversals"}
N = 3000  # the sidebar's default number of encoded samples


def backend_score(root: Path, alpha: float, pooling: str) -> str:
    from drviz.checkpoints import load_run
    from drviz.evaluation import encode_labelled, omes_components_of

    model = load_run(root / "fixture-source", "cpu").model
    comps = omes_components_of(encode_labelled(model, "color_dsprites", N, 0), 0)
    return f"{comps.score(alpha, pooling):.4f}"


# Counts the script runs from now on (each start of one flips stApp's data-test-script-state to
# "running"), with the time of each key press, into window.__runs / window.__presses.
COUNT_RUNS_JS = """() => {
  window.__runs = [];
  window.__presses = [];
  const app = document.querySelector('[data-testid=stApp]');
  new MutationObserver(() => {
    if (app.getAttribute('data-test-script-state') === 'running') window.__runs.push(performance.now());
  }).observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  document.addEventListener('keydown', () => window.__presses.push(performance.now()), true);
}"""
REPORT_MS = 800  # app_pages/alpha_bars.js: alpha reaches the server once the user is still this long


def test_alpha_slider_moves_the_displayed_omes_without_a_rerun(server, page):
    """Arrow keys on the alpha view's slider: the shown averaged OMES is Python's for each alpha at
    once, with no script run per press; once the user is still, one run and the link holds alpha."""
    url, root = server
    open_page(page, url, "omes")
    score = page.get_by_test_id("alphaViewScore").first
    expect(score).to_have_text(backend_score(root, 0.5, "avg"), timeout=60_000)
    page.screenshot(path=str(SHOTS / "omes_alpha_0.50.png"), full_page=True)

    slider = page.get_by_role("slider", name="alpha (1 = only OS, 0 = only MES)")
    expect(slider).to_have_value("0.5")
    page.evaluate(COUNT_RUNS_JS)
    slider.focus()
    for alpha in (0.55, 0.6, 0.65):  # steps of 0.05
        slider.press("ArrowRight")
        expect(slider).to_have_attribute("aria-valuetext", f"{alpha:.2f}")
        expect(page.get_by_test_id("alphaViewValue")).to_have_text(f"{alpha:.2f}")
        expect(score).to_have_text(backend_score(root, alpha, "avg"), timeout=5_000)
    page.wait_for_function("() => location.search.includes('alpha=0.65')", timeout=20_000)
    wait_idle(page)
    presses, runs = page.evaluate("[window.__presses, window.__runs]")
    assert len(presses) == 3
    # one report (a run) per pause of REPORT_MS: with quick presses exactly one, never one per press
    pauses = sum(b - a > REPORT_MS for a, b in zip(presses, presses[1:]))
    assert 1 <= len(runs) <= 1 + pauses, (presses, runs)
    assert all(r > presses[-1] + REPORT_MS - 50 for r in runs[-1:]), (presses, runs)  # after the debounce
    expect(score).to_have_text(backend_score(root, 0.65, "avg"))  # the report's rerun reset nothing
    expect(slider).to_have_value("0.65")

    page.get_by_test_id("stRadio").first.get_by_text("max", exact=True).click()  # new vectors, same alpha
    expect(score).to_have_text(backend_score(root, 0.65, "max"), timeout=20_000)
    wait_idle(page)
    expect(slider).to_have_value("0.65")
    assert page.locator(ERRORS).count() == 0
    page.screenshot(path=str(SHOTS / "omes_alpha_0.65_max.png"), full_page=True)


def test_the_views_averaging_rule_is_the_servers(browser):
    """app_pages/alpha_bars.js's averaged OMES (numpy's summation order, Python's round-half-even
    on the exact value) against ``OMESComponents.score``'s arithmetic on random and tie cases."""
    import numpy as np

    rng = np.random.default_rng(0)
    cases = []
    for k in [1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 40, 130, 300] * 8:
        os_, mes = rng.random(k), rng.random(k) * rng.choice([1e-3, 1.0])
        ok = rng.random(k) > 0.2
        cases.append((os_, mes, ok, float(rng.integers(0, 101)) / 100))
    for x in (1 / 32, 3 / 32, 5 / 32, 0.5 + 1 / 32, 0.00005, 0.99995, 0.0):  # ties at 4 decimals, and more
        cases.append((np.array([x, x]), np.array([0.0, 0.0]), np.array([True, True]), 1.0))
    cases.append((np.array([0.3]), np.array([0.2]), np.array([False]), 0.5))  # nothing measurable
    expected, args = [], []
    for os_, mes, ok, alpha in cases:
        vec = (alpha * os_ + (1.0 - alpha) * mes)[ok]  # as OMESComponents.score
        expected.append(f"{round(float(np.mean(vec)), 4) + 0.0:.4f}" if ok.any() else "n/a")
        args.append([[float(v) if m else None for v, m in zip(os_, ok)],
                     [float(v) if m else None for v, m in zip(mes, ok)], ok.tolist(), alpha])
    fixed = [0.03125, 0.09375, -0.03125, 0.15625, 0.123456, -0.00001, 2.5e-5, 0.5]
    page = browser.new_page()
    try:
        shown, shown_fixed = page.evaluate(
            """async ([src, args, fixed]) => {
                 const m = await import(URL.createObjectURL(new Blob([src], {type: 'text/javascript'})));
                 return [args.map(([os, mes, ok, a]) => m.averagedText(os, mes, ok, a)),
                         fixed.map(x => [m.pyFixed(x, 4), m.pyFixed(x, 2)])];
               }""", [(REPO / "app_pages" / "alpha_bars.js").read_text(), args, fixed])
    finally:
        page.close()
    assert shown == expected
    assert shown_fixed == [[f"{round(x, 4) + 0.0:.4f}", f"{round(x, 2) + 0.0:.2f}"] for x in fixed]


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_opens_without_an_error(server, page, name):
    url, _ = server
    open_page(page, url, PAGES[name])
    time.sleep(0.5)  # let late elements (charts) settle before the screenshot
    wait_idle(page)
    errors = page.locator(ERRORS).all_inner_texts()
    page.screenshot(path=str(SHOTS / f"page_{name}.png"), full_page=True)
    assert errors == []


def test_compare_two_runs_side_by_side(server, page):
    url, _ = server
    open_page(page, url, "omes")
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").nth(1).click()  # "Compare with"
    page.get_by_role("option", name="fixture-transfer").click()
    expect(page.get_by_test_id("alphaViewScore")).to_have_count(2, timeout=60_000)  # two runs, one alpha view
    expect(page.get_by_role("slider")).to_have_count(1)
    wait_idle(page)
    assert page.locator(ERRORS).count() == 0
    page.screenshot(path=str(SHOTS / "omes_compare.png"), full_page=True)


def test_train_from_the_browser_and_pick_the_new_run(server, page):
    url, root = server
    open_page(page, url, "models")
    form = page.get_by_test_id("stForm")
    steps = form.get_by_label("Steps")
    steps.fill("40")
    name = f"browser-{int(time.time())}"
    form.get_by_label("Run name (optional)").fill(name)
    form.get_by_role("button", name="Start training").click()
    expect(page.get_by_text(f"Started {name}")).to_be_visible(timeout=30_000)
    # live progress, then done; the page refreshes its pickers by itself
    expect(page.get_by_test_id("stProgress").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(SHOTS / "models_training.png"), full_page=True)
    expect(page.get_by_text("Done: the run is now in the sidebar")).to_be_visible(timeout=180_000)
    wait_idle(page)
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.click()  # "Active run"
    expect(page.get_by_role("option", name=name)).to_be_visible(timeout=10_000)
    page.keyboard.press("Escape")
    assert page.locator(ERRORS).count() == 0
    assert (root / name / "model.pt").exists()


# Reads, from the graph divs plotly.js drew, the association heatmap whose x categories are the
# uploaded FoV names; null until it is drawn. Coordinates come from plotly.js itself (d2c: a
# category's index on a category axis, its numeric value on a linear one).
HEATMAP_CELLS_JS = """(names) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const fl = gd._fullLayout;
    // Streamlit's theme wraps the title in <b> tags: compare its text
    const title = fl && fl.title ? String(fl.title.text).replace(/<[^>]*>/g, '') : '';
    if (!fl || !fl.xaxis || !title.startsWith('Association matrix')) continue;
    const heat = (gd._fullData || []).filter(t => t.type === 'heatmap').pop();
    if (!heat || heat.x.map(String).join('|') !== names.join('|')) continue;
    return {
      xtype: fl.xaxis.type, ytype: fl.yaxis.type,
      columns: names.map(n => fl.xaxis.d2c(n)),
      boxes: (fl.shapes || []).map(s => [s.x0 + 0.5, s.y0 + 0.5]),
      rows: heat.y.map(r => fl.yaxis.d2c(r)),
    };
  }
  return null;
}"""


def test_numeric_looking_fov_names_keep_their_heatmap_cells(server, page, tmp_path):
    """FoV names "0", "3", "5" (as ``pd.DataFrame(y).to_csv(index=False)`` writes them) uploaded on
    the OMES page and drawn with Streamlit's chart theme: plotly.js's axis is categorical, column f
    is FoV f (not x = 0, 3, 5), and each red box sits on its FoV's column and its dim's row."""
    import numpy as np

    from drviz.evaluation import omes_components_of
    from drviz.representations import Representation, load_representation, save_representation

    url, _ = server
    names = ["0", "3", "5"]
    rng = np.random.default_rng(0)
    f = np.stack([rng.integers(0, s, 600) for s in (6, 7, 8)], axis=1)
    z = np.c_[f + 0.05 * rng.normal(size=f.shape), np.zeros(len(f))].astype(np.float32)  # dim 3 inactive
    folder = save_representation(Representation(z, None, f, tuple(names)), tmp_path / "numeric")
    dims = omes_components_of(load_representation(folder), 0).dims  # the app's seed (sidebar default 0)
    assert dims == (0, 1, 2)

    open_page(page, url, "omes")
    page.get_by_role("tab", name="Upload a representation").click()
    uploader = page.get_by_test_id("stFileUploader")
    uploader.filter(has_text="representations.npz").locator("input[type=file]").set_input_files(
        str(folder / "representations.npz"))
    wait_rerun(page)
    uploader.filter(has_text="classes.csv").locator("input[type=file]").set_input_files(str(folder / "classes.csv"))
    wait_rerun(page)
    cells = page.wait_for_function(HEATMAP_CELLS_JS, arg=names, timeout=60_000).json_value()
    page.screenshot(path=str(SHOTS / "omes_numeric_fov_names.png"), full_page=True)
    assert page.locator(ERRORS).count() == 0
    assert cells["xtype"] == "category" and cells["ytype"] == "category"
    assert cells["columns"] == [0, 1, 2]  # a linear axis would put them at 0, 3, 5
    assert cells["rows"] == [0, 1, 2, 3]
    assert cells["boxes"] == [[f, d] for f, d in enumerate(dims)]
