// The page's one WebSocket: events down, calls up, reconnecting on its own.
// onEvents(batch) gets the snapshot and the events; onState("live" | "reconnecting").

export class Connection {
  constructor(onEvents, onState) {
    this.onEvents = onEvents;
    this.onState = onState;
    this.nextId = 1;
    this.pending = new Map(); // id -> {resolve, reject, onItem}
    this.delay = 250;
    this.ws = null;
    this.open();
  }

  open() {
    // ?queue=N on the page's URL: how far it may fall behind before it reconnects
    const queue = new URLSearchParams(location.search).get("queue");
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws` +
      (queue ? `?queue=${encodeURIComponent(queue)}` : ""));
    this.ws = ws;
    ws.onopen = () => { this.delay = 250; this.onState("live"); };
    ws.onmessage = (msg) => this.receive(JSON.parse(msg.data));
    ws.onclose = () => {
      if (this.ws !== ws) return;
      for (const [, call] of this.pending) call.reject(new CallError("disconnected", "the connection to the daemon dropped"));
      this.pending.clear();
      this.onState("reconnecting");
      setTimeout(() => this.open(), this.delay);
      this.delay = Math.min(this.delay * 2, 4000);
    };
  }

  // A lagged page (or one that wants a fresh snapshot) drops the socket and reconnects.
  restart() { if (this.ws) this.ws.close(); }

  receive(msg) {
    if (msg.type === "events") { this.onEvents(msg.events); return; }
    const call = this.pending.get(msg.id);
    if (!call) return;
    if (msg.type === "item") { call.onItem && call.onItem(msg.item); return; }
    this.pending.delete(msg.id);
    if (msg.type === "error") call.reject(new CallError(msg.error.code, msg.error.message));
    else call.resolve(msg.type === "reply" ? msg.result : null);
  }

  // One socket method, as wezparctl calls it; rejects with CallError.
  call(method, params = {}, onItem = null) {
    const id = this.nextId++;
    const done = new Promise((resolve, reject) => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) {
        reject(new CallError("disconnected", "not connected to the daemon"));
        return;
      }
      this.pending.set(id, { resolve, reject, onItem });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
    done.id = id;
    return done;
  }

  cancel(id) {
    if (!this.pending.delete(id)) return;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ cancel: id }));
  }
}

export class CallError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}
