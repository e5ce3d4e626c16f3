// The OMES page's alpha view (a Streamlit components v2 component, app_pages/alpha_bars.py).
//
// data (drviz.alpha_view.payload): {alpha, pooling, panels: [{title, clickable, highlight,
// fovs: [{name, os, mes, measurable, dim, note}]}], summary: [{label, os, mes, measurable}] | null}.
// Every slider move recombines OMES_f = alpha * OS_f + (1 - alpha) * MES_f here and redraws the
// numbers and the SVG bars: no Streamlit rerun per move. The alpha reaches the server (state value
// "alpha") once the user has stopped moving for REPORT_MS, or at once on pointer release; a click
// on a FoV's bars sends the trigger value "fov" = {panel, fov}.

const REPORT_MS = 800;
const KEY_STEP = 0.05;
const COLORS = { OS: "#7fa7d6", MES: "#f2b06b", OMES: "#2b6a4f" };  // drviz.viz's OS/MES/OMES colours
const SVG = "http://www.w3.org/2000/svg";

// ---- the rule the server uses (drviz.metrics.omes.OMESComponents.score); tests import these ----

// numpy's float64 add.reduce order (pairwise summation, 8 accumulators per block of <= 128), so
// that a mean equals np.mean's to the last bit.
function pairwiseSum(a, lo, n) {
  if (n < 8) {
    let s = 0.0;
    for (let i = 0; i < n; i++) s += a[lo + i];
    return s;
  }
  if (n <= 128) {
    const r = a.slice(lo, lo + 8);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += a[lo + i + j];
    let s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) s += a[lo + i];
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(a, lo, n2) + pairwiseSum(a, lo + n2, n - n2);
}

export function meanLikeNumpy(values) {
  return pairwiseSum(values, 0, values.length) / values.length;
}

// x rounded to `digits` decimals as Python's round(x, digits) and format(x, f".{digits}f") do:
// on the exact binary value, ties to even. toFixed rounds the exact value too but ties away from
// zero; a tie is only possible when x * 2 * 10^digits is an odd integer k divisible by 5^digits
// (then x = k / (2 * 10^digits) is exactly representable). "-0.0000" is shown as "0.0000".
export function pyFixed(x, digits) {
  let s = x.toFixed(digits);
  const scale = 2 * 10 ** digits;
  const k = Math.abs(x) * scale;
  if (Number.isInteger(k) && k % 2 === 1 && k % 5 ** digits === 0 && k / scale === Math.abs(x)) {
    const down = (k - 1) / 2;  // the tie sits between down and down + 1 (units of 10^-digits)
    const even = down % 2 === 0 ? down : down + 1;
    s = (Math.sign(x) < 0 ? "-" : "") + (even / 10 ** digits).toFixed(digits);
  }
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
}

export function omesOf(os, mes, alpha) {
  return alpha * os + (1.0 - alpha) * mes;
}

// The averaged OMES as the page shows it: the mean over the measurable FoVs of OMES_f, rounded to
// 4 decimals ("n/a" when none is measurable). The one place of that rule on the browser's side.
export function averagedText(os, mes, measurable, alpha) {
  const vec = [];
  for (let f = 0; f < os.length; f++) if (measurable[f]) vec.push(omesOf(os[f], mes[f], alpha));
  return vec.length ? pyFixed(meanLikeNumpy(vec), 4) : "n/a";
}

// The slider's value as the server holds alpha: round(float(v), 2) (k / 100 is the double nearest
// to the decimal, as Python's float("0.55") is).
export function alphaOf(value) {
  return Math.round(Number(value) * 100) / 100;
}

// ---- drawing -------------------------------------------------------------------------------------

function el(tag, attrs = {}, text = null, ns = null) {
  const e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== null) e.textContent = text;
  return e;
}

const H = 260, PAD = { l: 34, r: 64, t: 12, b: 48 };
const y = (v) => PAD.t + (1 - v) * (H - PAD.t - PAD.b);

// One panel's chart: per FoV a group of OS / MES / OMES bars, the mean OMES as a dotted line.
// W: the drawing's width in SVG units (narrower side by side, so its text stays readable).
// Returns update(alpha) that moves only what alpha changes (the OMES bars, their labels, the mean).
function buildPanel(host, p, index, pick, W) {
  host.replaceChildren();
  const head = el("div", { class: "head" });
  if (p.title) head.append(el("div", { class: "title" }, p.title));
  const score = el("div", { class: "score", "data-testid": "alphaViewScore", "aria-live": "polite" });
  head.append(el("div", { class: "score-label" }, "Averaged OMES"), score);
  host.append(head);
  const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "bars", role: "group",
                          "aria-label": `Per-FoV OS, MES and OMES${p.title ? " of " + p.title : ""}` }, null, SVG);
  for (const t of [0, 0.25, 0.5, 0.75, 1]) {
    svg.append(el("line", { x1: PAD.l, x2: W - PAD.r, y1: y(t), y2: y(t), class: "grid" }, null, SVG));
    svg.append(el("text", { x: PAD.l - 4, y: y(t) + 3, class: "tick" }, t.toFixed(2), SVG));
  }
  const k = p.fovs.length, slot = (W - PAD.l - PAD.r) / Math.max(k, 1), bw = Math.min(22, slot / 4);
  const omesBars = [];
  p.fovs.forEach((f, i) => {
    const x0 = PAD.l + i * slot, cx = x0 + slot / 2;
    const g = el("g", { class: "fov" + (p.highlight === i ? " picked" : "") }, null, SVG);
    g.append(el("rect", { x: x0 + 2, y: PAD.t, width: slot - 4, height: H - PAD.t - PAD.b, class: "hit" }, null, SVG));
    if (f.measurable) {
      ["OS", "MES"].forEach((name, j) => {
        const v = name === "OS" ? f.os : f.mes;
        const r = el("rect", { x: cx + (j - 1.5) * bw, y: y(v), width: bw - 1, height: y(0) - y(v),
                               fill: COLORS[name] }, null, SVG);
        r.append(el("title", {}, `${name} ${f.name}: ${pyFixed(v, 4)}`, SVG));
        g.append(r);
      });
      const r = el("rect", { x: cx + 0.5 * bw, width: bw - 1, fill: COLORS.OMES, class: "omes" }, null, SVG);
      const tip = el("title", {}, "", SVG);
      r.append(tip);
      const label = el("text", { x: cx + bw, class: "value" }, "", SVG);
      g.append(r, label);
      omesBars.push({ f, r, tip, label });
    } else {
      g.append(el("text", { x: cx, y: y(0) - 6, class: "na" }, "n/a", SVG));
    }
    g.append(el("text", { x: cx, y: H - PAD.b + 16, class: "fov-name" }, f.name, SVG));
    if (f.note) g.append(el("text", { x: cx, y: H - PAD.b + 30, class: "note" }, f.note, SVG));
    if (p.clickable && f.dim !== null && f.dim !== undefined) {
      g.classList.add("clickable");
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "button");
      g.setAttribute("aria-label", `${f.name}: outline dim ${f.dim} in the matrix`);
      g.setAttribute("aria-pressed", String(p.highlight === i));
      const send = () => pick({ panel: index, fov: i });
      g.addEventListener("click", send);
      g.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); send(); } });
    }
    svg.append(g);
  });
  const mean = el("line", { x1: PAD.l, x2: W - PAD.r, class: "mean" }, null, SVG);
  const meanLabel = el("text", { x: W - PAD.r + 4, class: "mean-label" }, "", SVG);
  svg.append(mean, meanLabel);
  const legend = el("div", { class: "legend" });
  for (const name of ["OS", "MES", "OMES"]) {
    const item = el("span", { class: "key" });
    item.append(el("i", { style: `background:${COLORS[name]}` }), name);
    legend.append(item);
  }
  host.append(svg, legend);

  const os = p.fovs.map((f) => f.os), mes = p.fovs.map((f) => f.mes), ok = p.fovs.map((f) => f.measurable);
  return (alpha) => {
    const text = averagedText(os, mes, ok, alpha);
    score.textContent = text;
    for (const { f, r, tip, label } of omesBars) {
      const v = omesOf(f.os, f.mes, alpha);
      r.setAttribute("y", y(v));
      r.setAttribute("height", y(0) - y(v));
      tip.textContent = `OMES ${f.name}: ${pyFixed(v, 4)}`;
      label.setAttribute("y", y(v) - 3);
      label.textContent = pyFixed(v, 2);
    }
    const show = text !== "n/a";
    mean.style.display = meanLabel.style.display = show ? "" : "none";
    if (show) {
      const m = Number(text);
      mean.setAttribute("y1", y(m));
      mean.setAttribute("y2", y(m));
      meanLabel.setAttribute("y", y(m) + 3);
      meanLabel.textContent = `mean ${text}`;
    }
  };
}

function buildSummary(host, rows) {
  host.replaceChildren();
  if (!rows || !rows.length) return () => {};
  const table = el("table", { class: "summary", "data-testid": "alphaViewSummary" });
  const head = el("tr");
  for (const h of ["matrix", "OS", "MES", "OMES"]) head.append(el("th", {}, h));
  table.append(head);
  const cells = rows.map((r) => {
    const tr = el("tr");
    const omes = el("td");
    tr.append(el("td", {}, r.label), el("td", {}, averagedText(r.os, r.mes, r.measurable, 1.0)),
              el("td", {}, averagedText(r.os, r.mes, r.measurable, 0.0)), omes);
    table.append(tr);
    return { r, omes };
  });
  host.append(table);
  return (alpha) => {
    for (const { r, omes } of cells) omes.textContent = averagedText(r.os, r.mes, r.measurable, alpha);
  };
}

export default function (component) {
  const { data, parentElement, setStateValue, setTriggerValue } = component;
  // Streamlit calls this again with new data on every rerun that changes it (pooling, a reported
  // alpha, a clicked bar), into the same parent: the DOM and the slider's value are kept, so a
  // report's rerun neither resets the slider nor flickers.
  let root = parentElement.querySelector(".alpha-view");
  const fresh = !root;
  if (fresh) {
    root = el("div", { class: "alpha-view" });
    const id = `${component.key}-alpha`;
    const row = el("div", { class: "control" });
    const label = el("label", { for: id }, "alpha (1 = only OS, 0 = only MES)");
    const input = el("input", { id, type: "range", min: "0", max: "1", step: "0.01" });
    const out = el("output", { for: id, class: "alpha-value", "data-testid": "alphaViewValue" });
    row.append(label, input, out);
    root.append(row, el("div", { class: "panels" }), el("div", { class: "summary-host" }));
    parentElement.append(root);
    root.drviz = { input, out, timer: null, reported: null, updates: [] };
    const st = root.drviz;
    const report = () => {
      clearTimeout(st.timer);
      st.timer = null;
      const a = alphaOf(input.value);
      if (a !== st.reported) {
        st.reported = a;
        st.setStateValue("alpha", a);
      }
    };
    const moved = () => {
      const a = alphaOf(input.value);
      out.textContent = a.toFixed(2);
      input.setAttribute("aria-valuetext", a.toFixed(2));
      for (const u of st.updates) u(a);
      clearTimeout(st.timer);
      st.timer = setTimeout(report, REPORT_MS);
    };
    // Arrow keys step 0.05 to the next multiple of 0.05 (the range's own step is 0.01, so that a
    // linked alpha such as 0.23 is shown as is).
    input.addEventListener("keydown", (e) => {
      const dir = { ArrowRight: 1, ArrowUp: 1, ArrowLeft: -1, ArrowDown: -1 }[e.key];
      if (!dir) return;
      e.preventDefault();
      const a = alphaOf(input.value), grid = Math.round(a / KEY_STEP);
      const onGrid = Math.abs(a - grid * KEY_STEP) < 1e-9;
      const next = onGrid ? grid + dir : (dir > 0 ? Math.ceil(a / KEY_STEP) : Math.floor(a / KEY_STEP));
      input.value = String(Math.min(1, Math.max(0, Math.round(next * KEY_STEP * 100) / 100)));
      moved();
    });
    input.addEventListener("input", moved);
    input.addEventListener("pointerup", report);
  }
  const st = root.drviz;
  // the latest callbacks: a rerun may hand new ones
  st.setStateValue = setStateValue;
  st.setTriggerValue = setTriggerValue;
  if (fresh) {
    st.input.value = String(data.alpha);
    st.reported = data.alpha;
  }
  const drawn = JSON.stringify([data.panels, data.summary]);
  if (drawn !== st.drawn) {  // a report's rerun sends the same vectors: nothing to rebuild
    st.drawn = drawn;
    const panels = root.querySelector(".panels");
    panels.style.gridTemplateColumns = `repeat(${data.panels.length}, minmax(0, 1fr))`;
    panels.replaceChildren(...data.panels.map(() => el("div", { class: "panel" })));
    const pick = (value) => st.setTriggerValue("fov", value);
    const width = data.panels.length > 1 ? 440 : 640;
    st.updates = data.panels.map((p, i) => buildPanel(panels.children[i], p, i, pick, width));
    st.updates.push(buildSummary(root.querySelector(".summary-host"), data.summary));
  }
  const a = alphaOf(st.input.value);
  st.out.textContent = a.toFixed(2);
  st.input.setAttribute("aria-valuetext", a.toFixed(2));
  for (const u of st.updates) u(a);
}
