// The match review page: item list, player, per-class timeline (truth above, model below, confidence as
// opacity), event list, filters, keys, search, background analyse jobs and highlight reels.
"use strict";

const COLORS = ["#3fb950", "#f778ba", "#58a6ff", "#e3b341", "#f85149", "#a371f7", "#ff9b50", "#39c5cf"];
const $ = (id) => document.getElementById(id);
const state = { classes: [], on: new Set(), minConf: 0, item: null, events: [], duration: 0, sel: -1, myJobs: new Set(),
  jobsSeen: {} };

function el(tag, props = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === "style") for (const [sk, sv] of Object.entries(v)) e.style.setProperty(sk.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase()), sv);
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k in e) e[k] = v;
    else e.setAttribute(k, v);
  }
  for (const k of kids) e.append(k);
  return e;
}
const colorOf = (cls) => COLORS[Math.max(0, state.classes.indexOf(cls)) % COLORS.length];
const fmt = (s) => { s = Math.max(0, s); const m = Math.floor(s / 60); return `${m}:${(s % 60).toFixed(2).padStart(5, "0")}`; };

async function api(path, opts) {
  const r = await fetch(path, opts);
  let body = {};
  try { body = await r.json(); } catch (e) { body = { error: `HTTP ${r.status}` }; }
  if (!r.ok) throw new Error(body.error || `HTTP ${r.status}`);
  return body;
}

function banner(text) {
  $("banner").textContent = text || "";
  $("banner").classList.toggle("hidden", !text);
}

// ------------------------------------------------------------------ lists
async function loadLists() {
  const data = await api("/api/items");
  if (!state.classes.length) {
    state.classes = data.classes;
    state.classes.forEach((c) => state.on.add(c));
    renderClassFilter();
  }
  for (const [list, kinds] of [["analyses", ["analysis", "file"]], ["clips", ["clip"]]]) {
    const ul = $(list);
    ul.replaceChildren();
    for (const it of data.items.filter((i) => kinds.includes(i.kind))) {
      const n = it.error ? "error" : (it.kind === "clip" ? `${it.n_truth} truth · ${it.n_model} model` : `${it.n_model} events`);
      ul.append(el("li", { className: (it.error ? "bad " : "") + (state.item && state.item.id === it.id ? "active" : ""),
        title: it.error || it.title, onclick: () => openItem(it.id) , "data-id": it.id},
        el("span", { className: "t", textContent: it.title }), el("span", { className: "n", textContent: n })));
    }
    if (!ul.children.length) ul.append(el("li", { className: "n", textContent: "none yet" }));
  }
  const inc = $("incoming");
  inc.replaceChildren();
  if (data.incoming.length) inc.append(el("h2", { textContent: "In incoming/" }));
  for (const f of data.incoming) {
    inc.append(el("div", { className: "inc" }, el("span", { className: "t", textContent: f.name }),
      el("button", { textContent: "Analyse", onclick: () => submitJob(f.path) })));
  }
}

// ------------------------------------------------------------------ one item
async function openItem(id, t) {
  banner("");
  let item;
  try {
    item = await api(`/api/items/${encodeURIComponent(id)}`);
  } catch (e) {
    state.item = null;
    $("viewer").classList.add("hidden");
    $("empty").classList.add("hidden");
    banner(e.message);
    return;
  }
  state.item = item;
  state.sel = -1;
  if (location.hash.slice(1) !== hashFor(id, t)) history.replaceState(null, "", "#" + hashFor(id, t));
  document.querySelectorAll(".items li").forEach((li) => li.classList.toggle("active", li.dataset.id === id));
  $("empty").classList.add("hidden");
  $("viewer").classList.remove("hidden");
  $("title").textContent = item.title;
  const bits = [item.kind === "clip" ? "clip" : `analysis (${item.mode})`];
  if (item.model_version) bits.push(`model ${item.model_version}`);
  if (item.duration) bits.push(`${Number(item.duration).toFixed(1)} s`);
  $("meta").textContent = bits.join(" · ");
  $("ls-link").classList.toggle("hidden", !item.task_url);
  if (item.task_url) $("ls-link").href = item.task_url;
  state.events = [...item.truth.map((e) => ({ ...e, source: "truth" })), ...item.model.map((e) => ({ ...e, source: "model" }))]
    .sort((a, b) => a.start_time - b.start_time || (a.source < b.source ? 1 : -1));
  state.duration = Number(item.duration) || Math.max(1, ...state.events.map((e) => e.end_time));
  const v = $("player");
  if (item.video_url) {
    v.src = item.video_url;
    v.onloadedmetadata = () => {
      if (!item.duration && v.duration) { state.duration = v.duration; render(); }
      if (t !== undefined) v.currentTime = t;
    };
  } else {
    v.removeAttribute("src");
    v.load();
    banner(item.video_error);
  }
  render();
}

function visible() {
  return state.events.filter((e) => state.on.has(e.event) && (e.source === "truth" || e.confidence >= state.minConf));
}

function render() {
  const evs = visible();
  const D = state.duration || 1;
  // axis
  const axis = $("axis");
  axis.replaceChildren();
  const tick = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600].find((s) => D / s <= 10) || 1200;
  for (let s = 0; s <= D + 1e-6; s += tick) axis.append(el("span", { style: { left: `${(100 * s) / D}%` }, textContent: fmt(s).replace(/\.00$/, "") }));
  // lanes
  const lanes = $("lanes");
  lanes.replaceChildren();
  for (const cls of state.classes) {
    const track = el("div", { className: "track" });
    lanes.append(el("div", { className: "lane", style: { "--c": colorOf(cls), opacity: state.on.has(cls) ? 1 : 0.35 } },
      el("div", { className: "name" }, el("i"), document.createTextNode(cls)), track));
    for (let s = tick; s < D; s += tick) track.append(el("div", { className: "tick", style: { left: `${(100 * s) / D}%` } }));
    for (const e of evs.filter((x) => x.event === cls)) {
      const i = evs.indexOf(e);
      const m = el("div", {
        className: `marker ${e.source}`, title: `${e.event} ${fmt(e.start_time)}–${fmt(e.end_time)} (${e.source}` +
          (e.source === "model" ? ` ${e.confidence.toFixed(2)}` : "") + `)\n${e.description}`,
        style: { left: `${(100 * e.start_time) / D}%`, width: `${(100 * (e.end_time - e.start_time)) / D}%`,
          opacity: e.source === "model" ? Math.max(0.15, e.confidence) : 1 },
        onclick: () => select(i, true),
      });
      m.dataset.start = e.start_time;
      m.dataset.index = i;
      track.append(m);
    }
  }
  lanes.append(el("div", { id: "playhead" }));
  // list
  const tbody = $("events").querySelector("tbody");
  tbody.replaceChildren();
  evs.forEach((e, i) => {
    tbody.append(el("tr", { onclick: () => select(i, true), "data-index": i },
      el("td", { textContent: `${fmt(e.start_time)}–${fmt(e.end_time)}` }),
      el("td", {}, el("span", { className: "cls", style: { "--c": colorOf(e.event) } }, el("i"), document.createTextNode(e.event))),
      el("td", { textContent: e.source }),
      el("td", { textContent: e.source === "model" ? e.confidence.toFixed(2) : "" }),
      el("td", { textContent: e.description || "—" })));
  });
  if (!evs.length) tbody.append(el("tr", {}, el("td", { colSpan: 5, textContent: "no events pass the filter" })));
  movePlayhead();
}

function select(i, seek) {
  const evs = visible();
  if (i < 0 || i >= evs.length) return;
  state.sel = i;
  document.querySelectorAll(".marker").forEach((m) => m.classList.toggle("sel", Number(m.dataset.index) === i));
  document.querySelectorAll("#events tbody tr").forEach((r) => r.classList.toggle("sel", Number(r.dataset.index) === i));
  if (seek) $("player").currentTime = evs[i].start_time;
}

function step(dir) {
  const evs = visible();
  if (!evs.length) return;
  const now = $("player").currentTime;
  let i;
  if (dir > 0) i = evs.findIndex((e) => e.start_time > now + 0.05);
  else i = evs.map((e) => e.start_time < now - 0.05).lastIndexOf(true);
  if (i < 0) i = dir > 0 ? evs.length - 1 : 0;
  select(i, true);
}

function movePlayhead() {
  const ph = $("playhead");
  const lanes = $("lanes");
  if (!ph || !lanes.firstChild) return;
  const track = lanes.querySelector(".track");
  const left = track.offsetLeft + (track.clientWidth * $("player").currentTime) / (state.duration || 1);
  ph.style.left = `${left}px`;
}

function renderClassFilter() {
  const box = $("class-filter");
  box.replaceChildren();
  for (const cls of state.classes) {
    box.append(el("span", { className: "chip" + (state.on.has(cls) ? "" : " off"), style: { "--c": colorOf(cls) },
      textContent: cls, onclick: () => { state.on.has(cls) ? state.on.delete(cls) : state.on.add(cls); renderClassFilter(); render(); } }));
  }
}

// ------------------------------------------------------------------ search
function hashFor(id, t) { return `item=${encodeURIComponent(id)}` + (t !== undefined ? `&t=${Number(t).toFixed(2)}` : ""); }

async function search(ev) {
  ev.preventDefault();
  const q = $("search").value.trim();
  const box = $("search-results");
  box.replaceChildren();
  box.classList.remove("hidden");
  if (!q) { box.classList.add("hidden"); return; }
  try {
    const { hits } = await api(`/api/search?q=${encodeURIComponent(q)}&limit=20`);
    if (!hits.length) box.append(el("div", { className: "hit", textContent: `no results for “${q}”` }));
    for (const h of hits) {
      const conf = h.confidence === null ? "" : ` ${h.confidence.toFixed(2)}`;
      box.append(el("div", { className: "hit", onclick: () => { box.classList.add("hidden"); if (h.item) location.hash = hashFor(h.item, h.start_s); } },
        el("div", { textContent: `#${h.rank} ${h.event}${conf} · ${h.source} · ${h.clip_id} ${fmt(h.start_s)}–${fmt(h.end_s)}` + (h.item ? "" : " (not on this page)") }),
        el("div", { className: "d", textContent: h.description || "" })));
    }
  } catch (e) {
    box.append(el("div", { className: "hit", textContent: e.message }));
  }
}

// ------------------------------------------------------------------ jobs
async function upload(ev) {
  ev.preventDefault();
  const f = $("upload-file").files[0];
  const msg = $("upload-msg");
  if (!f) { msg.className = "msg err"; msg.textContent = "choose a video file first"; return; }
  const fd = new FormData();
  fd.append("file", f);
  fd.append("mode", $("upload-mode").value);
  msg.className = "msg"; msg.textContent = `uploading ${f.name}…`;
  try {
    const { job } = await api("/api/upload", { method: "POST", body: fd });
    state.myJobs.add(job.id);
    msg.className = "msg ok"; msg.textContent = `${f.name}: job ${job.id} queued`;
    pollJobs();
  } catch (e) { msg.className = "msg err"; msg.textContent = e.message; }
}

async function submitJob(path) {
  const msg = $("upload-msg");
  try {
    const { job } = await api("/api/jobs", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ path, mode: $("upload-mode").value || null }) });
    state.myJobs.add(job.id);
    msg.className = "msg ok"; msg.textContent = `${job.name}: job ${job.id} queued`;
    pollJobs();
  } catch (e) { msg.className = "msg err"; msg.textContent = e.message; }
}

let polling = null;
async function pollJobs() {
  clearTimeout(polling);
  const { jobs } = await api("/api/jobs");
  const box = $("jobs");
  box.replaceChildren();
  if (jobs.length) box.append(el("h2", { textContent: "Jobs" }));
  let active = false;
  for (const j of jobs) {
    const secs = j.started_at ? ` ${Math.round((j.finished_at || Date.now() / 1000) - j.started_at)} s` : "";
    box.append(el("div", { className: `job ${j.state}`, title: j.error || j.stage },
      el("span", { className: "t", textContent: `#${j.id} ${j.name}` }),
      el("span", { textContent: `${j.state === "failed" ? j.error : j.stage}${j.state === "running" ? secs : ""}` }),
      el("span", { className: "state", textContent: j.state })));
    active = active || j.state === "queued" || j.state === "running";
    const before = state.jobsSeen[j.id];
    state.jobsSeen[j.id] = j.state;
    if (before && before !== "done" && j.state === "done") {
      await loadLists();
      if (state.myJobs.has(j.id) && j.item) location.hash = hashFor(j.item);
    }
  }
  if (active) polling = setTimeout(pollJobs, 1000);
}

// ------------------------------------------------------------------ reel
async function buildReel() {
  const msg = $("reel-msg");
  const btn = $("reel-btn");
  btn.disabled = true;
  msg.className = "msg"; msg.textContent = "building the reel…";
  try {
    const out = await api("/api/highlights", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ item: state.item.id, classes: state.classes.filter((c) => state.on.has(c)),
        min_confidence: state.minConf, margin: Number($("margin").value) }) });
    msg.className = "msg ok";
    msg.replaceChildren(document.createTextNode(`${out.events} events, ${out.cuts.length} cuts, ${out.duration_s.toFixed(1)} s: `),
      el("a", { href: out.url, target: "_blank", textContent: "open reel", download: "" }));
  } catch (e) { msg.className = "msg err"; msg.textContent = e.message; }
  btn.disabled = false;
}

// ------------------------------------------------------------------ wiring
function fromHash() {
  const p = new URLSearchParams(location.hash.slice(1));
  const id = p.get("item");
  if (!id) return;
  const t = p.get("t") !== null ? Number(p.get("t")) : undefined;
  if (state.item && state.item.id === id) { if (t !== undefined) $("player").currentTime = t; return; }
  openItem(id, t);
}

document.addEventListener("keydown", (ev) => {
  if (!state.item || ["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) return;
  if (ev.key === "ArrowRight" || ev.key === "n") { step(1); ev.preventDefault(); }
  else if (ev.key === "ArrowLeft" || ev.key === "p") { step(-1); ev.preventDefault(); }
  else if (ev.key === " ") { const v = $("player"); v.paused ? v.play() : v.pause(); ev.preventDefault(); }
});
$("player").addEventListener("timeupdate", movePlayhead);
$("player").addEventListener("seeked", movePlayhead);
window.addEventListener("resize", movePlayhead);
window.addEventListener("hashchange", fromHash);
$("search-form").addEventListener("submit", search);
$("upload-form").addEventListener("submit", upload);
$("reel-btn").addEventListener("click", buildReel);
$("min-conf").addEventListener("input", (ev) => {
  state.minConf = Number(ev.target.value);
  $("conf-value").textContent = state.minConf.toFixed(2);
  if (state.item) render();
});
document.addEventListener("click", (ev) => { if (!$("search-results").contains(ev.target) && ev.target.id !== "search") $("search-results").classList.add("hidden"); });

loadLists().then(fromHash).then(pollJobs).catch((e) => banner(e.message));
