"""Plain-text tables for humans; pure functions of the status object."""

from __future__ import annotations

import time
from typing import Any

NOTICES_SHOWN = 5  # the table is for a glance; `status --json` has them all
UP = frozenset({"STARTING", "RUNNING", "STOPPING"})  # states with a live instance


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def status_table(status: dict[str, Any]) -> list[str]:
    rows = [("ID", "STATE", "PID", "UPTIME", "RESTARTS", "CPU%", "MEM", "BACKEND", "INFO")]
    for p in status["processes"]:
        rows.append((p["id"], p["state"], str(p["pid"] or "-"), duration(p.get("uptime")),
                     str(p["restarts"]), _cpu(p.get("cpu_percent")), size(p.get("rss")),
                     _placement(p), info(p)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
             for r in rows]
    lines = [line.rstrip() for line in lines]
    for err in status["config"]["errors"]:
        lines.append(f"config: {err['file']}:{err['line']}:{err['column']}: {err['message']}")
    for notice in status.get("notices", [])[-NOTICES_SHOWN:]:
        lines.append(f"notice {clock_time(notice['at'])} {notice['process']}: {notice['message']}")
    return lines


def info(p: dict[str, Any]) -> str:
    """The INFO column: what the STATE column does not already say, about the instance that
    runs now. Activity and health belong to a live instance; how the last one ended belongs
    to a process that is down, and an agent's `exited` activity, or the TERM a user's stop
    ended it with, only repeat the state."""
    state = p["state"]
    if state == "STOPPED" and not p.get("wanted", True):
        return "autostart off" if p.get("autostart_off") else "stopped by user"
    if state not in UP:
        text = p.get("error") or (p.get("exit") if state == "EXITED" else None) or ""
        if state == "BACKOFF" and p.get("retry_in") is not None:
            text = f"{text}; next try in {p['retry_in']:.1f}s".removeprefix("; ")
        return _with_problem(text, p)
    parts = [_with_problem(" ".join(filter(None, [p.get("error"), p.get("activity")])), p)]
    if p.get("health") == "unhealthy":
        parts.append(f"unhealthy ({p.get('health_reason') or 'no reason'})")
    elif p.get("health") == "healthy":
        parts.append("healthy")
    return " ".join(part for part in parts if part)


def _with_problem(text: str, p: dict[str, Any]) -> str:
    """An agent's problem (not logged in, no network), unless the text already says it (the
    error of an agent that was given up on is that problem)."""
    problem = p.get("agent_problem")
    if not problem or problem in text:
        return text
    return f"{text} ({problem})".strip()


def clock_time(wall: float) -> str:
    """Local time of day: notices are about today; the date is in `status --json`."""
    return time.strftime("%H:%M:%S", time.localtime(wall))


def _cpu(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def size(value: float | None) -> str:
    """Bytes for humans, binary units, as `ps` and `top` users read them."""
    if value is None:
        return "-"
    for unit in ("B", "K", "M", "G"):
        if value < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}G"


def _placement(p: dict[str, Any]) -> str:
    backend = p.get("backend") or "-"
    return f"{backend}:{p['pane']}" if p.get("pane") else backend


def change_lines(result: dict[str, Any], verb: str) -> list[str]:
    out = []
    for r in result["results"]:
        outcome = "ok" if r["ok"] else "FAILED"
        detail = r.get("error") or r.get("exit") or ""
        out.append(f"{r['id']}: {verb} {outcome} ({r['state']}"
                   f"{', pid ' + str(r['pid']) if r.get('pid') else ''})"
                   + (f": {detail}" if detail and not r["ok"] else ""))
    return out
