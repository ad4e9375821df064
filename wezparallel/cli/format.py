"""Plain-text tables for humans; pure functions of the status object."""

from __future__ import annotations

import time
from typing import Any

NOTICES_SHOWN = 5  # the table is for a glance; `status --json` has them all


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
        info = p.get("error") or p.get("exit") or ""
        if p.get("activity"):
            info = f"{p['activity']} {info}".strip()
        problem = p.get("agent_problem")
        if problem and problem not in info:
            info = f"{info} ({problem})".strip()
        if p.get("health") == "unhealthy":
            info = f"{info} unhealthy ({p.get('health_reason') or 'no reason'})".strip()
        elif p.get("health") == "healthy":
            info = f"{info} healthy".strip()
        if p.get("autostart_off"):
            info = f"autostart off {info}".strip()
        elif not p.get("wanted", True) and p["state"] == "STOPPED":
            info = f"stopped by user {info}".strip()
        rows.append((p["id"], p["state"], str(p["pid"] or "-"), duration(p.get("uptime")),
                     str(p["restarts"]), _cpu(p.get("cpu_percent")), size(p.get("rss")),
                     _placement(p), info))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
             for r in rows]
    lines = [line.rstrip() for line in lines]
    for err in status["config"]["errors"]:
        lines.append(f"config: {err['file']}:{err['line']}:{err['column']}: {err['message']}")
    for notice in status.get("notices", [])[-NOTICES_SHOWN:]:
        lines.append(f"notice {clock_time(notice['at'])} {notice['process']}: {notice['message']}")
    return lines


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
