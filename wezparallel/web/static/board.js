// The task board: todo / doing / review / done, live from the snapshot's `tasks` and the
// `task` events. Cards move by drag and drop or, from the keyboard, by the select on each card;
// the daemon decides what may move where (task_move) and the page shows its refusal.
import { addTab, ago, conn, duration, el, onDraw, store, toast } from "./app.js";

const COLUMNS = ["todo", "doing", "review", "done"];
const LABELS = { todo: "To do", doing: "Doing", review: "Review", done: "Done" };
const MOVES = { // what a person may move where (wezparallel.tasks.model.MOVES)
  todo: ["review", "done", "cancelled"], doing: ["todo", "review", "done", "cancelled"],
  review: ["todo", "done", "cancelled"], done: ["todo", "review"],
};
const REFRESH = 10000; // doing cards: their busy / waiting time so far (task_list computes it)

const panel = el("section", "board-panel");
panel.id = "tab-tasks";
panel.innerHTML = `
  <form id="task-form" class="task-form" aria-label="Add a task">
    <label>Title <input name="title" required autocomplete="off"></label>
    <label>Priority <input name="priority" type="number" value="0" step="1"></label>
    <label>Workspace <select name="workspace"><option value="">(the only one)</option></select></label>
    <label>For <select name="to"><option value="">any agent</option></select></label>
    <label class="wide">Prompt <textarea name="body" rows="2" placeholder="The prompt (the title when empty)"></textarea></label>
    <button type="submit">Add task</button>
  </form>
  <div id="board" class="board"></div>
  <p id="cancelled" class="muted"></p>
  <dialog id="diff-dialog" class="diff-dialog" aria-labelledby="diff-title">
    <form method="dialog" class="diff-head"><h2 id="diff-title"></h2><button>Close</button></form>
    <pre id="diff-text" class="diff" tabindex="0"></pre>
  </dialog>`;
addTab("tasks", "Tasks", panel);

const $ = (sel) => panel.querySelector(sel);
const lists = new Map(); // status -> the column's <ol>
const cards = new Map(); // task id -> {li, parts}

for (const status of COLUMNS) {
  const column = el("section", "column");
  column.dataset.status = status;
  const head = el("h2");
  head.id = `col-${status}`;
  column.setAttribute("aria-labelledby", head.id);
  const list = el("ol", "cards");
  column.append(head, list);
  column.addEventListener("dragover", (ev) => {
    if (!ev.dataTransfer.types.includes("text/plain")) return;
    ev.preventDefault();
    column.classList.add("over");
  });
  column.addEventListener("dragleave", (ev) => {
    if (!column.contains(ev.relatedTarget)) column.classList.remove("over");
  });
  column.addEventListener("drop", (ev) => {
    ev.preventDefault();
    column.classList.remove("over");
    const id = ev.dataTransfer.getData("text/plain");
    const task = store.tasks.get(id);
    if (task && task.status !== status) moveTask(task, status);
  });
  lists.set(status, list);
  $("#board").append(column);
}

// --- drawing -------------------------------------------------------------------------------

function draw() {
  const shown = [...store.tasks.values()].filter((t) => COLUMNS.includes(t.status) && matches(t));
  const byStatus = new Map(COLUMNS.map((s) => [s, []]));
  for (const t of shown) byStatus.get(t.status).push(t);
  for (const [id, card] of cards) if (!shown.some((t) => t.id === id)) { card.li.remove(); cards.delete(id); }
  for (const [status, tasks] of byStatus) {
    tasks.sort((a, b) => status === "todo" ? b.priority - a.priority || idNum(a) - idNum(b)
      : (b.updated ?? 0) - (a.updated ?? 0));
    const list = lists.get(status);
    const nodes = tasks.map((t) => updateCard(t).li);
    if (nodes.length !== list.children.length || nodes.some((n, i) => list.children[i] !== n)) {
      list.replaceChildren(...nodes);
    }
    list.previousSibling.textContent = `${LABELS[status]} (${tasks.length})`;
  }
  const gone = [...store.tasks.values()].filter((t) => t.status === "cancelled").length;
  $("#cancelled").textContent = gone ? `${gone} cancelled (wezparctl task list --status cancelled)` : "";
  fillChoices();
}

// The header's filter box narrows the cards too: id, title, workspace, agent, status.
function matches(t) {
  const q = document.querySelector("#filter").value.trim().toLowerCase();
  return !q || [t.id, t.title, t.workspace, t.agent, t.to, t.status].filter(Boolean).join(" ")
    .toLowerCase().includes(q);
}

function idNum(t) { return Number(t.id.slice(1)); }

function updateCard(t) {
  let card = cards.get(t.id);
  if (!card) card = makeCard(t);
  const p = card.parts;
  card.li.dataset.status = t.status;
  setText(p.title, t.title);
  setText(p.meta, [t.id, t.workspace, t.priority ? `priority ${t.priority}` : ""].filter(Boolean).join(" · "));
  setText(p.agent, agentLine(t));
  const proc = t.agent ? store.procs.get(t.agent) : null;
  p.agent.dataset.activity = proc && t.status === "doing" ? proc.activity ?? "" : "";
  card.li.classList.toggle("waiting", p.agent.dataset.activity === "waiting");
  setText(p.time, timeLine(t));
  setText(p.why, [t.reason, t.note ? `note: ${t.note}` : ""].filter(Boolean).join(" · "));
  p.why.hidden = !p.why.textContent;
  if (p.move.dataset.from !== t.status) fillMoves(p.move, t.status);
  p.review.hidden = t.status !== "review";
  p.merge.hidden = !t.branch;
  return card;
}

function agentLine(t) {
  if (t.agent) {
    const proc = store.procs.get(t.agent);
    const now = t.status === "doing" && proc && proc.activity ? ` · ${proc.activity} ${ago(proc.activity_since)}` : "";
    return `${t.status === "doing" ? "on" : "by"} ${t.agent}${now}`;
  }
  return t.to ? `for ${t.to}` : "";
}

function timeLine(t) {
  if (t.started == null) return "";
  const end = t.finished ?? Date.now() / 1000;
  const parts = [`busy ${duration(t.busy_seconds)}`, `waiting ${duration(t.waiting_seconds)}`];
  return `${parts.join(" · ")} · ${t.status === "doing" ? "started" : "took"} ${duration(end - t.started)}${t.status === "doing" ? " ago" : ""}`;
}

function makeCard(t) {
  const li = el("li", "card");
  li.dataset.id = t.id;
  li.draggable = true;
  li.addEventListener("dragstart", (ev) => {
    ev.dataTransfer.setData("text/plain", t.id);
    ev.dataTransfer.effectAllowed = "move";
    li.classList.add("dragging");
  });
  li.addEventListener("dragend", () => li.classList.remove("dragging"));
  const parts = {
    title: el("strong", "title"), meta: el("small", "meta"), agent: el("div", "agent"),
    time: el("div", "time"), why: el("div", "why"), move: el("select", "move"),
    review: el("div", "review"), merge: button("merge", `merge ${t.id}'s branch`),
  };
  parts.move.setAttribute("aria-label", `move ${t.id} to`);
  parts.move.addEventListener("change", () => {
    const to = parts.move.value;
    parts.move.value = "";
    const task = store.tasks.get(t.id);
    if (to && task) moveTask(task, to);
  });
  const note = el("input", "note");
  note.placeholder = "note for the agent";
  note.setAttribute("aria-label", `note for ${t.id}`);
  const back = button("back to todo", `send ${t.id} back to todo with the note`);
  back.addEventListener("click", () => moveTask(store.tasks.get(t.id), "todo", note.value.trim() || null));
  const done = button("done", `move ${t.id} to done`);
  done.addEventListener("click", () => moveTask(store.tasks.get(t.id), "done"));
  const diff = button("diff", `show the diff of ${t.id}`);
  diff.addEventListener("click", () => showDiff(t.id));
  parts.merge.addEventListener("click", () => mergeTask(t.id, parts.merge));
  parts.review.append(diff, done, parts.merge, note, back);
  const foot = el("div", "foot");
  foot.append(parts.move);
  li.append(parts.title, parts.meta, parts.agent, parts.time, parts.why, parts.review, foot);
  const card = { li, parts };
  cards.set(t.id, card);
  return card;
}

function fillMoves(select, from) {
  select.dataset.from = from;
  const first = el("option");
  first.value = "";
  first.textContent = "move to…";
  select.replaceChildren(first, ...(MOVES[from] || []).map((to) => {
    const o = el("option");
    o.value = to;
    o.textContent = to;
    return o;
  }));
}

// The form's workspace and agent choices, from the processes the page knows.
function fillChoices() {
  const workspaces = [...new Set([...store.procs.values()].map((p) => p.workspace))].sort();
  const agents = store.agents().map((p) => p.id).sort();
  syncOptions($("select[name=workspace]"), workspaces, workspaces.length === 1 ? "(the only one)" : "(from the agent)");
  syncOptions($("select[name=to]"), agents, "any agent");
}

function syncOptions(select, values, empty) {
  const want = ["", ...values];
  const have = [...select.options].map((o) => o.value);
  if (want.join("\n") === have.join("\n")) return;
  const keep = select.value;
  select.replaceChildren(...want.map((v) => {
    const o = el("option");
    o.value = v;
    o.textContent = v || empty;
    return o;
  }));
  select.value = want.includes(keep) ? keep : "";
}

// --- calls ---------------------------------------------------------------------------------

async function moveTask(task, status, note = null) {
  if (!task) return;
  try {
    const moved = await conn.call("task_move", { id: task.id, status, note });
    keep(moved);
    toast(`${task.id}: ${task.status} → ${moved.status}`);
    draw();
  } catch (e) {
    toast(`${task.id}: ${e.message}`, true);
  }
}

async function mergeTask(id, btn) {
  btn.disabled = true;
  try {
    const r = await conn.call("task_merge", { id });
    toast(`${id}: merged ${r.branch} (${String(r.merged).slice(0, 10)})`);
  } catch (e) {
    toast(`merge ${id}: ${e.message}`, true);
  } finally {
    btn.disabled = false;
  }
}

async function showDiff(id) {
  const dialog = $("#diff-dialog");
  const pre = $("#diff-text");
  $("#diff-title").textContent = `${id}: loading the diff…`;
  pre.replaceChildren();
  dialog.showModal();
  try {
    const r = await conn.call("task_diff", { id });
    $("#diff-title").textContent = `${id} on ${r.branch} since ${String(r.base).slice(0, 10)}`;
    pre.replaceChildren(...(r.diff || "(no changes)").split("\n").map((line) => {
      const span = el("span", line.startsWith("+") ? "add" : line.startsWith("-") ? "del" :
        line.startsWith("@@") ? "hunk" : "");
      span.textContent = `${line}\n`;
      return span;
    }));
  } catch (e) {
    $("#diff-title").textContent = `${id}: no diff`;
    pre.textContent = e.message;
  }
  pre.focus();
}

$("#task-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const data = new FormData(form);
  const params = { title: data.get("title"), body: data.get("body"),
    priority: Number(data.get("priority") || 0) };
  if (data.get("workspace")) params.workspace = data.get("workspace");
  if (data.get("to")) params.to = data.get("to");
  const submit = form.querySelector("button[type=submit]");
  submit.disabled = true;
  try {
    const task = await conn.call("task_add", params);
    keep(task);
    toast(`added ${task.id}: ${task.title}`);
    form.reset();
    draw();
  } catch (e) {
    toast(`add task: ${e.message}`, true);
  } finally {
    submit.disabled = false;
  }
});

// Doing cards' time so far: the daemon folds it from the activity journal on task_list.
setInterval(async () => {
  if (panel.hidden || document.hidden || ![...store.tasks.values()].some((t) => t.status === "doing")) return;
  try {
    const { tasks } = await conn.call("task_list", { status: "doing" });
    for (const t of tasks) keep(t, true);
  } catch { /* reconnecting */ }
}, REFRESH);

// A reply's task, unless an event already brought a later one (a move can be followed at once
// by the dispatcher's own). `same`: the same change seen again, with fresher times.
function keep(task, same = false) {
  const known = store.tasks.get(task.id);
  if (known && (same ? known.updated > task.updated : known.updated >= task.updated)) return;
  store.tasks.set(task.id, { ...task, receivedAt: performance.now() });
}

function button(label, aria) {
  const b = el("button");
  b.type = "button";
  b.textContent = label;
  b.dataset.action = label.split(" ")[0];
  b.setAttribute("aria-label", aria);
  return b;
}

function setText(node, value) {
  const text = String(value);
  if (node.textContent !== text) node.textContent = text;
}

onDraw(draw);
