// What the page knows: the snapshot, then each event applied in seq order.
// Pure data; app.js renders it. Events carry what changed at once (state, pid, activity,
// health); the rest of a row (restarts, uptime, exit) comes with the next status refresh.

const UP = new Set(["STARTING", "RUNNING"]);
const SPARK_POINTS = 60;

export class Store {
  constructor() {
    this.procs = new Map(); // id -> the status object of wezparctl status --json
    this.configErrors = [];
    this.seq = 0;
    this.received = 0; // performance.now() of the last status, for uptime
    this.spark = new Map(); // id -> [cpu percent]
    this.tasks = new Map(); // task id -> the task object of wezparctl task show --json
  }

  setStatus(status) {
    const now = performance.now();
    const fresh = new Map();
    for (const p of status.processes) {
      p.receivedAt = now;
      fresh.set(p.id, p);
    }
    this.procs = fresh;
    this.configErrors = status.config.errors.map(
      (e) => (typeof e === "string" ? e : `${e.file}:${e.line}:${e.column}: ${e.message}`));
  }

  // Returns what the page must do next: "refresh" (ask for status), "resubscribe", or null.
  apply(event) {
    if (event.type === "snapshot") {
      this.seq = event.seq;
      this.setStatus(event.status);
      if (event.tasks) this.setTasks(event.tasks);
      return null;
    }
    if (event.type === "lagged") return "resubscribe";
    if (event.seq <= this.seq) return null;
    this.seq = event.seq;
    const p = event.id ? this.procs.get(event.id) : null;
    switch (event.type) {
      case "state":
        if (!p) return "refresh";
        p.state = event.to;
        p.pid = UP.has(event.to) ? event.pid : null;
        if (event.to === "STARTING") { p.uptime = 0; p.receivedAt = performance.now(); }
        if (!UP.has(event.to)) p.uptime = null;
        return "refresh";
      case "activity":
        if (p) { p.activity = event.to; p.activity_since = event.time; }
        return null;
      case "health":
        if (p) { p.health = event.to; p.health_reason = event.reason; }
        return null;
      case "task":
        this.tasks.set(event.task.id, { ...event.task, receivedAt: performance.now() });
        return null;
      case "config":
        this.configErrors = event.errors;
        return "refresh";
      default:
        return null;
    }
  }

  setTasks(tasks) {
    const now = performance.now();
    this.tasks = new Map(tasks.map((t) => [t.id, { ...t, receivedAt: now }]));
  }

  setMetrics(snapshot) {
    const byId = new Map(snapshot.processes.map((m) => [m.id, m]));
    for (const [id, p] of this.procs) {
      const m = byId.get(id);
      p.cpu_percent = m && p.pid != null ? m.cpu_percent : null;
      p.rss = m && p.pid != null ? m.rss : null;
      if (p.cpu_percent != null) this.addPoint(id, p.cpu_percent);
    }
  }

  addPoint(id, cpu) {
    const series = this.spark.get(id) || [];
    series.push(cpu);
    if (series.length > SPARK_POINTS) series.splice(0, series.length - SPARK_POINTS);
    this.spark.set(id, series);
  }

  seedHistory(id, points) {
    this.spark.set(id, points.map((pt) => pt.cpu).filter((c) => c != null).slice(-SPARK_POINTS));
  }

  agents() {
    const rank = { waiting: 0, busy: 1, idle: 2 };
    return [...this.procs.values()].filter((p) => p.activity != null).sort((a, b) =>
      (rank[a.activity] ?? 3) - (rank[b.activity] ?? 3) ||
      (a.activity_since ?? 0) - (b.activity_since ?? 0) || a.id.localeCompare(b.id));
  }
}
