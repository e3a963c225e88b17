// The report's interactive parts, drawn with Plotly.js from the JSON block #report-data.
// Everything that comes from user data reaches the page through textContent, or escaped
// for Plotly (which reads a few HTML tags in names), never as HTML.
"use strict";

const DATA = JSON.parse(document.getElementById("report-data").textContent);
// The categorical colours of autoencoders.palette, which the PNG figures use too.
const PALETTE = DATA.palette;
const CONFIG = { displaylogo: false, responsive: true, scrollZoom: true };

// Plotly reads <b>, <a href=...> and a few other tags in names: with <, > and & escaped it
// reads none and shows the text as it is (it decodes these three entities, not &quot;).
function esc(text) {
  return String(text).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function loadSprite(sprite) {
  if (!sprite) return null;
  const image = new Image();
  image.src = sprite.uri;
  return { image, ...sprite };
}

function drawThumb(canvas, sprite, i) {
  const ctx = canvas.getContext("2d");
  canvas.width = sprite.width;
  canvas.height = sprite.height;
  ctx.imageSmoothingEnabled = false;
  const draw = () => ctx.drawImage(sprite.image, (i % sprite.columns) * sprite.width,
    Math.floor(i / sprite.columns) * sprite.height, sprite.width, sprite.height, 0, 0,
    sprite.width, sprite.height);
  if (sprite.image.complete) draw(); else sprite.image.addEventListener("load", draw, { once: true });
}

function curves(run, r) {
  const h = run.history, epochs = h.epoch;
  let t = 0;
  const time = h.seconds.map((s) => (t += s || 0));
  const lines = (x) => [
    { x, y: h.train_loss, name: "training", mode: "lines+markers" },
    { x, y: h.val_loss, name: "held out", mode: "lines+markers" }];
  // The legend in a row above the plot at its left: Plotly's tool bar takes the top right.
  const layout = (title) => ({ margin: { l: 60, r: 10, t: 40, b: 40 },
    legend: { orientation: "h", x: 0, xanchor: "left", y: 1, yanchor: "bottom" },
    xaxis: { title: { text: title } }, yaxis: { title: { text: "loss per " + run.unit } } });
  Plotly.newPlot("curves-" + r + "-epoch", lines(epochs), layout("epoch"), CONFIG);
  Plotly.newPlot("curves-" + r + "-time", lines(time), layout("training seconds"), CONFIG);
}

function histogram(run, r) {
  Plotly.newPlot("hist-" + r, [{ x: run.scores, type: "histogram", nbinsx: 60, marker: { color: "#59636e" } }],
    { margin: { l: 60, r: 10, t: 10, b: 40 }, xaxis: { title: { text: "reconstruction loss per " + run.unit + " (score_samples)" } },
      yaxis: { title: { text: "test points" } } }, CONFIG);
}

function mapTraces(run) {
  const n = run.coords.length, x = run.coords.map((p) => p[0]), y = run.coords.map((p) => p[1]);
  const pick = (idx) => ({ x: idx.map((i) => x[i]), y: idx.map((i) => y[i]), customdata: idx });
  const base = { type: "scattergl", mode: "markers", hoverinfo: "none", marker: { size: 4, opacity: 0.8 } };
  const traces = [], groups = [];
  // One trace per class, in the order and the colours given (the labels' are the PNGs').
  const byValue = (values, group, classes, colours, names) => {
    classes.forEach((c, k) => {
      const idx = [];
      values.forEach((v, i) => { if (v === c) idx.push(i); });
      traces.push({ ...base, ...pick(idx), name: esc(names ? names(c) : c), legendgroup: group,
        marker: { ...base.marker, color: colours[k] }, visible: group === "label" });
      groups.push(group);
    });
  };
  const all = [...Array(n).keys()];
  if (run.labels) byValue(run.labels, "label", run.classes, run.class_colours);
  else { traces.push({ ...base, ...pick(all), name: "test points", legendgroup: "label", visible: true }); groups.push("label"); }
  const clusters = [...new Set(run.clusters)].sort((a, b) => a - b);
  byValue(run.clusters, "cluster", clusters, clusters.map((c, k) => PALETTE[k % PALETTE.length]),
    (c) => "k-means " + c);
  traces.push({ ...base, ...pick(all), name: "anomaly score", showlegend: false, visible: false,
    marker: { ...base.marker, color: run.scores, colorscale: "Viridis", showscale: true,
      colorbar: { title: { text: "score" } } } });
  groups.push("score");
  return { traces, groups };
}

function map(run, r) {
  const el = document.getElementById("map-" + r);
  const { traces, groups } = mapTraces(run);
  const visible = (g) => groups.map((h) => h === g);
  const button = (label, g) => ({ label, method: "update", args: [{ visible: visible(g) }] });
  const layout = { margin: { l: 10, r: 10, t: 40, b: 10 }, hovermode: "closest", dragmode: "zoom",
    xaxis: { visible: false }, yaxis: { visible: false, scaleanchor: "x" },
    legend: { itemsizing: "constant", title: { text: "click to hide or show" } },
    updatemenus: [{ type: "buttons", direction: "right", x: 0, y: 1.07, xanchor: "left",
      buttons: [button("colour by label", "label"), button("by k-means of the code", "cluster"),
        button("by anomaly score", "score")] }] };
  Plotly.newPlot(el, traces, layout, CONFIG);
  const sprites = { image: loadSprite(run.sprite), recon: loadSprite(run.recon_sprite) };
  el.on("plotly_hover", (event) => show(run, r, event.points[0].customdata, sprites));
  el.on("plotly_selected", (event) => grid(run, r, event ? event.points.map((p) => p.customdata) : [], sprites));
  el.dataset.points = String(run.coords.length);
}

function show(run, r, i, sprites) {
  const panel = document.getElementById("hover-" + r);
  panel.querySelector(".hint").textContent = "";
  if (sprites.image) {
    drawThumb(panel.querySelector("canvas.input"), sprites.image, i);
    drawThumb(panel.querySelector("canvas.output"), sprites.recon, i);
  }
  const rows = [["label", run.labels ? run.labels[i] : "—"], ["error", run.scores[i].toPrecision(4)],
    ["id", run.ids ? run.ids[i] : String(i)], ["k-means", String(run.clusters[i])]];
  if (run.features) run.features.names.forEach((name, k) => rows.push([name, String(run.features.values[i][k])]));
  const table = panel.querySelector("table.fields");
  table.replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("td"); th.textContent = k;
    const td = document.createElement("td"); td.textContent = v;
    tr.append(th, td);
    return tr;
  }));
  panel.dataset.index = String(i);
  panel.dataset.shownAt = String(performance.now());
}

function grid(run, r, indices, sprites) {
  const box = document.getElementById("selection-" + r), limit = 300;
  box.querySelector(".count").textContent = indices.length
    ? `${indices.length} points selected` + (indices.length > limit ? ` (the first ${limit} shown)` : "")
    : "Select points with the box or lasso tool (top right of the map) to see them here.";
  const thumbs = indices.slice(0, limit).map((i) => {
    const c = document.createElement("canvas");
    if (sprites.image) drawThumb(c, sprites.image, i);
    c.title = run.labels ? run.labels[i] : String(i);
    return c;
  });
  box.querySelector(".thumbs").replaceChildren(...thumbs);
  box.dataset.selected = String(indices.length);
}

function compare() {
  const el = document.getElementById("compare-curves");
  if (!el) return;
  const traces = DATA.runs.map((run) => ({ x: run.history.epoch,
    y: run.history.val_loss.some((v) => v !== null) ? run.history.val_loss : run.history.train_loss,
    name: esc(run.name), mode: "lines+markers" }));
  Plotly.newPlot(el, traces, { margin: { l: 60, r: 10, t: 10, b: 40 }, xaxis: { title: { text: "epoch" } },
    yaxis: { title: { text: "held-out loss per feature" } } }, CONFIG);
}

DATA.runs.forEach((run, r) => { curves(run, r); histogram(run, r); map(run, r); });
compare();
document.body.dataset.ready = "true";
