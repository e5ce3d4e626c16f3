"""The explorer in a real browser (Playwright + Debian's Chromium): a click on an association-matrix
cell opens that dim's traversal on the FoV's line, a copied link reproduces the OMES view, the
latent map draws, and the HTML report opens from disk with the network blocked and shows its
figures and images. Screenshots go to ``artifacts/screenshots/``.
"""

from __future__ import annotations

import os

import pytest

from drviz.testing import CHROMIUM, REPO, open_page, wait_idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing: install Debian's chromium "
                       "(`make browser` or `apt-get install chromium`) to run the real-browser tests"),
]
sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
expect = sync_api.expect

SHOTS = REPO / "artifacts" / "screenshots"
ERRORS = "[data-testid=stException], [data-testid=stAlertContentError]"
N = 600  # rows encoded: small, through the link's n parameter


# The screen position of cell (dim d, FoV f) of the clickable association matrix, from plotly.js
# itself (its axes' data-to-pixel maps), or null until that chart is drawn.
CELL_XY_JS = """([d, f]) => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const fl = gd._fullLayout;
    const title = fl && fl.title ? String(fl.title.text).replace(/<[^>]*>/g, '') : '';
    if (!title.startsWith('Association matrix') || !title.includes('click a cell')) continue;
    const box = gd.getBoundingClientRect();
    return {x: box.left + fl._size.l + fl.xaxis.l2p(f), y: box.top + fl._size.t + fl.yaxis.l2p(d)};
  }
  return null;
}"""

LINKED_TITLE_JS = """() => {
  for (const gd of document.querySelectorAll('.js-plotly-plot')) {
    const t = gd._fullLayout && gd._fullLayout.title ? String(gd._fullLayout.title.text).replace(/<[^>]*>/g, '') : '';
    if (t.includes(' on the line of ')) return t;
  }
  return null;
}"""


def click_cell(page, d: int, f: int) -> None:
    page.wait_for_function(CELL_XY_JS, arg=[d, f], timeout=60_000)
    # the mouse clicks only inside the viewport: bring the matrix there first
    page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].find(gd => gd._fullLayout &&
        String((gd._fullLayout.title || {}).text).includes('click a cell'))
        .scrollIntoView({block: 'center', behavior: 'instant'})""")
    xy = page.wait_for_function(CELL_XY_JS, arg=[d, f], timeout=60_000).json_value()
    page.mouse.move(xy["x"], xy["y"])
    page.mouse.click(xy["x"], xy["y"])


def linked_title(page, startswith: str) -> str:
    handle = page.wait_for_function(f"() => {{ const t = ({LINKED_TITLE_JS})(); "
                                    f"return t && t.startsWith({startswith!r}) ? t : null; }}", timeout=60_000)
    return handle.json_value()


def test_clicking_a_matrix_cell_opens_its_traversal(server, page):
    url, _ = server
    open_page(page, url, f"omes?n={N}")
    page.wait_for_function(CELL_XY_JS, arg=[0, 0], timeout=60_000)
    first = page.wait_for_function(LINKED_TITLE_JS, timeout=60_000).json_value()
    click_cell(page, 7, 4)  # dim 7, posX
    assert linked_title(page, "dim 7 on the line of posX").startswith("dim 7 on the line of posX")
    wait_idle(page)
    page.screenshot(path=str(SHOTS / "explorer_matrix_click_dim7_posX.png"), full_page=True)
    click_cell(page, 2, 1)  # dim 2, shape
    assert linked_title(page, "dim 2 on the line of shape").startswith("dim 2 on the line of shape")
    wait_idle(page)
    assert not first.startswith("dim 2 on the line of shape")  # the view did change
    expect(page.get_by_role("combobox", name="Latent dim (traversed by the model)")).to_have_value("dim 2")
    expect(page.get_by_role("combobox", name="FoV (its line in the data)")).to_have_value("shape")
    assert page.locator(ERRORS).count() == 0
    page.screenshot(path=str(SHOTS / "explorer_matrix_click_dim2_shape.png"), full_page=True)


def test_clicking_a_bar_outlines_its_dim(server, page):
    from drviz.checkpoints import load_run
    from drviz.evaluation import encode_labelled, omes_components_of

    url, root = server
    comps = omes_components_of(encode_labelled(load_run(root / "fixture-source", "cpu").model, "color_dsprites", N, 0), 0)
    f = max(range(len(comps.dims)), key=lambda i: comps.omes(0.5, "avg").factors[i].omes or 0)  # the tallest bar
    name, d = comps.factor_names[f], comps.dims[f]
    open_page(page, url, f"omes?n={N}")
    page.get_by_role("button", name=f"{name}: outline dim {d} in the matrix").click()  # the FoV's bars in the view
    caption = page.get_by_text(f"dim {d}, the dim OMES associates with {name}")
    expect(caption).to_be_visible(timeout=60_000)
    wait_idle(page)
    caption.scroll_into_view_if_needed()  # the matrix above it is drawn once in the viewport
    # the outline is drawn on the matrix: one more shape than the red boxes, on dim d's row
    shapes = page.wait_for_function("""() => [...document.querySelectorAll('.js-plotly-plot')].map(gd => gd._fullLayout)
        .filter(fl => fl && fl.title && String(fl.title.text).includes('click a cell'))
        .map(fl => fl.shapes.map(s => [s.y0, s.y1, s.line.dash]))[0]""", timeout=60_000).json_value()
    assert [d - 0.5, d + 0.5, "dot"] in shapes
    # and the view marks the picked FoV
    bars = page.get_by_role("button", name=f"{name}: outline dim {d} in the matrix")
    expect(bars).to_have_attribute("aria-pressed", "true")
    assert page.locator(ERRORS).count() == 0
    page.screenshot(path=str(SHOTS / "explorer_bar_click_outlines_dim.png"), full_page=True)


def test_a_copied_link_reproduces_the_omes_view(server, page):
    from drviz.checkpoints import load_run
    from drviz.evaluation import encode_labelled, omes_components_of

    url, root = server
    comps = omes_components_of(encode_labelled(load_run(root / "fixture-source", "cpu").model, "color_dsprites", N, 0), 0)
    open_page(page, url, f"omes?n={N}&alpha=0.2&pooling=max")
    score = page.get_by_test_id("alphaViewScore").first
    expect(score).to_have_text(f"{comps.score(0.2, 'max'):.4f}", timeout=60_000)
    slider = page.get_by_role("slider").first
    expect(slider).to_have_attribute("aria-valuetext", "0.20")
    slider.focus()
    slider.press("ArrowRight")
    expect(slider).to_have_attribute("aria-valuetext", "0.25", timeout=20_000)
    expect(score).to_have_text(f"{comps.score(0.25, 'max'):.4f}")
    page.wait_for_function("() => location.search.includes('alpha=0.25')", timeout=20_000)
    assert "pooling=max" in page.evaluate("location.search") and "/omes" in page.evaluate("location.pathname")
    assert page.locator(ERRORS).count() == 0


def test_latent_map_page_draws(server, page):
    url, _ = server
    open_page(page, url, f"latent?n={N}")
    page.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot')].some(gd => "
                           "(gd._fullData || []).some(t => t.type === 'scatter' && t.x && t.x.length > 100))",
                           timeout=60_000)
    wait_idle(page)
    assert page.locator(ERRORS).count() == 0
    page.screenshot(path=str(SHOTS / "explorer_latent_map.png"), full_page=True)


def test_the_html_report_opens_offline_with_its_figures(server, browser, tmp_path):
    from drviz.report import write_report

    _, root = server
    out = write_report(tmp_path / "report.html", "fixture-source", "fixture-transfer", n=N, scores=False, root=root)
    ctx = browser.new_context(viewport={"width": 1400, "height": 1800}, offline=True)
    asked = []

    def only_the_file(route):
        asked.append(route.request.url)
        if route.request.url.startswith(("file:", "data:")):
            route.continue_()
        else:
            route.abort()

    ctx.route("**/*", only_the_file)
    page = ctx.new_page()
    try:
        page.goto(out.resolve().as_uri())
        n_divs = out.read_text().count('class="plotly-graph-div"')
        assert n_divs == 9  # per run: the matrix and bars at three alphas; then the before / after bars
        page.wait_for_function(f"() => typeof Plotly !== 'undefined' && "
                               f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {n_divs}",
                               timeout=60_000)
        images = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth])")
        assert len(images) >= 6 and all(done and width > 0 for done, width in images)
        assert page.get_by_text("Before and after fine-tuning").count() == 1
        assert [u for u in asked if not u.startswith(("file:", "data:"))] == []
        page.screenshot(path=str(SHOTS / "explorer_report_offline.png"), full_page=True)
    finally:
        ctx.close()
