// The dashboard page: a view of the store, and the buttons that call the daemon's verbs.
import { Connection } from "./conn.js";
import { Store } from "./store.js";

const COLUMNS = 12;
const LOG_LINES = 200;
const METRICS_EVERY = 5000;
const ANSI = /\x1b\[[0-9;?]*[ -\/]*[@-~]|\x1b\][^\x07]*\x07/g;

export const store = new Store();
const drawers = []; // later views (the board) drawn with the rest, once per frame
const $ = (sel) => document.querySelector(sel);
const rows = new Map(); // id -> {tr, cells}
const bodies = new Map(); // group key -> tbody
const opened = new Map(); // id -> {tr, pre, err, lines, callId}
let refreshTimer = null;
let frame = null;

export const conn = new Connection(onEvents, (state) => {
  const badge = $("#conn");
  badge.dataset.state = state;
  badge.textContent = state === "live" ? "live" : "reconnecting…";
});

function onEvents(batch) {
  let refresh = false;
  for (const event of batch) {
    const todo = store.apply(event);
    if (todo === "resubscribe") { conn.restart(); return; }
    refresh ||= todo === "refresh";
    if (event.type === "snapshot") afterSnapshot();
    if (event.type === "notice") toast(`${event.id ?? "daemon"}: ${event.message}`, true);
  }
  if (refresh) scheduleRefresh();
  render();
}

// Restarts, uptime and exits come with the status; one call however many events came.
function scheduleRefresh() {
  if (refreshTimer) return;
  refreshTimer = setTimeout(() => {
    refreshTimer = null;
    conn.call("status").then((status) => { store.setStatus(status); render(); }, () => {});
  }, 150);
}

async function afterSnapshot() {
  for (const id of opened.keys()) follow(id);
  await loadMetrics();
  for (const id of [...store.procs.keys()]) {
    try {
      const series = await conn.call("metrics_history", { id, since_seconds: 900 });
      store.seedHistory(id, series.points);
    } catch { /* metrics off, or the process went away */ }
  }
  render();
}

// Only while the tab is seen: asking for metrics keeps the daemon's sampler at its fast pace.
async function loadMetrics() {
  if (document.hidden) return;
  try { store.setMetrics(await conn.call("metrics_snapshot")); render(); } catch { /* none yet */ }
}
setInterval(loadMetrics, METRICS_EVERY);
setInterval(() => render(), 1000); // uptime and "since" tick

// --- rendering ---------------------------------------------------------------------------

function render() {
  if (frame) return;
  frame = requestAnimationFrame(() => { frame = null; draw(); });
}

function draw() {
  drawBanner();
  drawAgents();
  drawTable();
  for (const drawer of drawers) drawer();
}

// A view drawn whenever the store changes (and each second, for its clocks).
export function onDraw(drawer) { drawers.push(drawer); render(); }

function drawBanner() {
  const banner = $("#config-banner");
  banner.hidden = store.configErrors.length === 0;
  banner.textContent = "Config errors (the files with errors are not in force):\n" +
    store.configErrors.join("\n");
}

function drawAgents() {
  const list = $("#agents");
  const agents = store.agents().filter(matches);
  $("#no-agents").hidden = agents.length > 0;
  list.replaceChildren(...agents.map((p) => {
    const li = el("li", p.activity === "waiting" ? "waiting" : "");
    li.dataset.id = p.id;
    li.textContent = `${p.id} · ${p.activity} ${ago(p.activity_since)}`;
    return li;
  }));
}

function matches(p) {
  const q = $("#filter").value.trim().toLowerCase();
  if (!q) return true;
  return [p.id, p.state, p.backend, p.activity, p.health].filter(Boolean).join(" ").toLowerCase().includes(q);
}

function drawTable() {
  const table = $("#procs");
  const grouped = $("#group").checked;
  const shown = [...store.procs.values()].filter(matches).sort((a, b) => a.id.localeCompare(b.id));
  const wanted = new Map();
  for (const p of shown) {
    const key = grouped ? p.workspace : "";
    if (!wanted.has(key)) wanted.set(key, []);
    wanted.get(key).push(p);
  }
  for (const [id, row] of rows) if (!store.procs.has(id)) { rows.delete(id); closeDetails(id); row.tr.remove(); }
  const order = [];
  for (const [key, procs] of wanted) {
    const body = groupBody(key, procs.length);
    const nodes = key ? [body.header] : [];
    for (const p of procs) {
      nodes.push(updateRow(p).tr);
      if (opened.has(p.id)) nodes.push(opened.get(p.id).tr);
    }
    if (!sameChildren(body.tbody, nodes)) body.tbody.replaceChildren(...nodes);
    order.push(body.tbody);
  }
  for (const [key, body] of bodies) if (!wanted.has(key)) { body.tbody.remove(); bodies.delete(key); }
  const current = [...table.tBodies];
  if (order.some((tb, i) => current[i] !== tb) || current.length !== order.length) {
    for (const tb of current) tb.remove();
    table.append(...order);
  }
  $("#empty").hidden = shown.length > 0;
}

function groupBody(key, count) {
  let body = bodies.get(key);
  if (!body) {
    const tbody = el("tbody");
    tbody.dataset.workspace = key;
    const header = el("tr", "group");
    const th = el("th");
    th.colSpan = COLUMNS;
    th.scope = "colgroup";
    header.append(th);
    body = { tbody, header };
    bodies.set(key, body);
  }
  body.header.firstChild.textContent = `${key} (${count})`;
  return body;
}

function sameChildren(parent, nodes) {
  const kids = parent.children;
  return kids.length === nodes.length && nodes.every((n, i) => kids[i] === n);
}

const CELLS = ["name", "state", "pid", "uptime", "restarts", "health", "activity", "cpu",
  "mem", "backend", "pane", "actions"];

function updateRow(p) {
  let row = rows.get(p.id);
  if (!row) row = makeRow(p);
  const c = row.cells;
  row.tr.classList.toggle("waiting", p.activity === "waiting");
  c.name.firstChild.setAttribute("aria-expanded", String(opened.has(p.id)));
  setText(c.state.firstChild, p.state);
  c.state.firstChild.dataset.state = p.state;
  setText(c.state.lastChild, why(p));
  c.state.title = p.error || p.exit || "";
  setText(c.pid, p.pid ?? "–");
  setText(c.uptime, uptime(p));
  setText(c.restarts, p.restarts);
  setText(c.health.firstChild, p.health);
  c.health.firstChild.dataset.health = p.health;
  c.health.title = p.health_reason || "";
  setText(c.activity.firstChild, p.activity ?? "");
  c.activity.firstChild.dataset.activity = p.activity ?? "";
  setText(c.cpu.firstChild, p.cpu_percent == null ? "–" : `${p.cpu_percent.toFixed(1)}%`);
  drawSpark(c.cpu.lastChild, store.spark.get(p.id) || []);
  setText(c.mem, size(p.rss));
  setText(c.backend, p.backend ?? "");
  setText(c.pane, p.pane ?? "");
  return row;
}

function makeRow(p) {
  const tr = el("tr", "proc");
  tr.dataset.id = p.id;
  const cells = {};
  for (const name of CELLS) {
    const td = el("td", name);
    if (["pid", "uptime", "restarts", "cpu", "mem"].includes(name)) td.classList.add("num");
    cells[name] = td;
    tr.append(td);
  }
  const toggle = el("button", "id");
  toggle.type = "button";
  toggle.textContent = p.id;
  toggle.title = "Show its log (and a prompt box for an agent)";
  cells.name.append(toggle);
  cells.state.append(el("span", "state"), el("small", "why"));
  cells.health.append(el("span", "health"));
  cells.activity.append(el("span", "activity"));
  cells.cpu.append(document.createTextNode(""), svg("svg", "spark"));
  cells.cpu.lastChild.setAttribute("viewBox", "0 0 60 16");
  cells.cpu.lastChild.setAttribute("aria-hidden", "true");
  cells.cpu.lastChild.append(svg("polyline"));
  for (const verb of ["start", "stop", "restart"]) {
    const b = el("button");
    b.type = "button";
    b.dataset.action = verb;
    b.textContent = verb;
    b.setAttribute("aria-label", `${verb} ${p.id}`);
    cells.actions.append(b);
  }
  const row = { tr, cells };
  rows.set(p.id, row);
  return row;
}

function drawSpark(box, series) {
  const line = box.firstChild;
  if (series.length < 2) { line.setAttribute("points", ""); return; }
  const top = Math.max(1, ...series);
  const step = 60 / (series.length - 1);
  line.setAttribute("points", series.map((v, i) =>
    `${(i * step).toFixed(1)},${(15 - (v / top) * 14).toFixed(1)}`).join(" "));
}

// --- details: the live log and the prompt box --------------------------------------------

function openDetails(id) {
  const p = store.procs.get(id);
  const tr = el("tr", "details");
  tr.dataset.detailsFor = id;
  const td = el("td");
  td.colSpan = COLUMNS;
  const err = el("div", "row-error");
  err.setAttribute("role", "alert");
  const pre = el("pre", "log");
  pre.setAttribute("aria-label", `last lines of ${id}`);
  pre.tabIndex = 0;
  td.append(err, pre);
  if (p && p.activity != null) td.append(promptBox(id));
  tr.append(td);
  opened.set(id, { tr, pre, err, lines: [], callId: null });
  follow(id);
}

function promptBox(id) {
  const box = el("form", "prompt");
  const area = el("textarea");
  area.name = "prompt";
  area.setAttribute("aria-label", `prompt for ${id}`);
  area.placeholder = `Prompt for ${id} (Ctrl+Enter sends)`;
  const send = el("button");
  send.type = "submit";
  send.dataset.action = "send";
  send.textContent = "send";
  box.append(area, send);
  box.addEventListener("submit", (ev) => { ev.preventDefault(); sendPrompt(id, area, send); });
  area.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); box.requestSubmit(); }
  });
  return box;
}

function follow(id) {
  const d = opened.get(id);
  if (!d) return;
  if (d.callId != null) conn.cancel(d.callId);
  d.lines = [];
  d.err.textContent = "";
  const call = conn.call("logs", { id, lines: 20, follow: true }, (line) => {
    d.lines.push(String(line).replace(ANSI, ""));
    if (d.lines.length > LOG_LINES) d.lines.splice(0, d.lines.length - LOG_LINES);
    const atEnd = d.pre.scrollTop + d.pre.clientHeight >= d.pre.scrollHeight - 4;
    d.pre.textContent = d.lines.join("\n");
    if (atEnd) d.pre.scrollTop = d.pre.scrollHeight;
  });
  d.callId = call.id;
  call.catch((e) => { if (e.code !== "disconnected") d.err.textContent = e.message; });
}

function closeDetails(id) {
  const d = opened.get(id);
  if (!d) return;
  if (d.callId != null) conn.cancel(d.callId);
  d.tr.remove();
  opened.delete(id);
}

async function sendPrompt(id, area, button) {
  const text = area.value;
  if (!text.trim()) return;
  button.disabled = true;
  try {
    const result = await conn.call("send", { ids: [id], text });
    const done = (result.delivery || [])[0];
    const how = done && done.submitted === false ? "not submitted: the agent did not take it" : "submitted";
    toast(`sent to ${id} (${how})`, done && done.submitted === false);
    area.value = "";
  } catch (e) {
    toast(`send to ${id}: ${e.message}`, true);
  } finally {
    button.disabled = false;
  }
}

async function runVerb(verb, id, button) {
  button.disabled = true;
  try {
    const result = await conn.call(verb, { ids: [id] });
    const r = result.results[0];
    if (r.ok) toast(`${verb} ${id}: ${r.state}${r.pid ? ` (pid ${r.pid})` : ""}`);
    else toast(`${verb} ${id} failed: ${r.state}${r.error || r.exit ? ` (${r.error || r.exit})` : ""}`, true);
  } catch (e) {
    toast(`${verb} ${id}: ${e.message}`, true);
  } finally {
    button.disabled = false;
  }
}

// --- wiring ------------------------------------------------------------------------------

$("#procs").addEventListener("click", (ev) => {
  const button = ev.target.closest("button");
  const tr = button && button.closest("tr.proc");
  if (!tr) return;
  const id = tr.dataset.id;
  if (button.classList.contains("id")) {
    if (opened.has(id)) closeDetails(id); else openDetails(id);
    render();
  } else if (["start", "stop", "restart"].includes(button.dataset.action)) {
    runVerb(button.dataset.action, id, button);
  }
});
$("#filter").addEventListener("input", render);
$("#group").addEventListener("change", render);
document.addEventListener("keydown", (ev) => {
  if (ev.key === "/" && !["INPUT", "TEXTAREA"].includes(document.activeElement.tagName)) {
    ev.preventDefault();
    $("#filter").focus();
  }
});

const THEMES = ["auto", "light", "dark"];
function setTheme(theme) {
  if (theme === "auto") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  $("#theme").textContent = `◐ ${theme}`;
  localStorage.setItem("wezparallel-theme", theme);
}
setTheme(localStorage.getItem("wezparallel-theme") || "auto");
$("#theme").addEventListener("click", () => {
  const now = localStorage.getItem("wezparallel-theme") || "auto";
  setTheme(THEMES[(THEMES.indexOf(now) + 1) % THEMES.length]);
});

// Tabs: a later view (the task board) adds its button and panel with addTab.
export function addTab(name, label, panel) {
  const button = el("button");
  button.setAttribute("role", "tab");
  button.dataset.tab = name;
  button.textContent = label;
  $("#tabs").append(button);
  panel.dataset.tabPanel = name;
  panel.setAttribute("role", "tabpanel");
  panel.hidden = true;
  $("main").append(panel);
}
$("#tabs").addEventListener("click", (ev) => {
  const tab = ev.target.closest("button[data-tab]");
  if (!tab) return;
  for (const b of document.querySelectorAll("#tabs button")) b.setAttribute("aria-selected", String(b === tab));
  for (const panel of document.querySelectorAll("[data-tab-panel]")) panel.hidden = panel.dataset.tabPanel !== tab.dataset.tab;
});

// --- small helpers -----------------------------------------------------------------------

export function toast(message, error = false) {
  const box = el("div", error ? "toast error" : "toast");
  box.textContent = message;
  $("#toasts").append(box);
  setTimeout(() => box.remove(), error ? 12000 : 5000);
}

export function el(tag, cls = "") {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  return node;
}

function svg(tag, cls = "") {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  if (cls) node.setAttribute("class", cls);
  return node;
}

function setText(node, value) {
  const text = String(value);
  if (node.textContent !== text) node.textContent = text;
}

// Why a process is down, in a few words: the exit or error, and when it is tried again.
function why(p) {
  if (["RUNNING", "STARTING", "STOPPED"].includes(p.state)) return "";
  const reason = p.error || p.exit || "";
  const retry = p.state === "BACKOFF" && p.retry_in != null ? `retry in ${duration(p.retry_in)}` : "";
  const text = [reason, retry].filter(Boolean).join(", ");
  return text;
}

function uptime(p) {
  if (p.uptime == null || !["RUNNING", "STARTING"].includes(p.state)) return "–";
  return duration(p.uptime + (performance.now() - p.receivedAt) / 1000);
}

export function ago(since) {
  return since == null ? "" : `for ${duration(Date.now() / 1000 - since)}`;
}

export function duration(s) {
  s = Math.max(0, Math.floor(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d${Math.floor(s / 3600) % 24}h`;
}

function size(bytes) {
  if (bytes == null) return "–";
  const units = ["B", "K", "M", "G"];
  let i = 0;
  while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
  return `${bytes.toFixed(i ? 1 : 0)}${units[i]}`;
}
