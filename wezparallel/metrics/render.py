"""Pure text for humans: the `top` table, sparklines, sizes. No I/O, no clock reads.

Imported by `wezparctl`, so it imports nothing heavier than the snapshot types.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from wezparallel.metrics.snapshot import ProcessSample, Snapshot

BLOCKS = "▁▂▃▄▅▆▇█"
SORT_KEYS = ("cpu", "mem")
_UNITS = ("K", "M", "G", "T", "P")
HELP = "c/m: sort by cpu/mem, q: quit"


def human_size(n: float) -> str:
    """Bytes in powers of 1024, at most four characters of digits: 512B, 1.5K, 120M, 12G."""
    if n < 1024:
        return f"{int(n)}B"
    value = float(n)
    for unit in _UNITS:
        value /= 1024
        if value < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
    raise AssertionError("unreachable")


def sparkline(values: Sequence[float], width: int | None = None, lo: float | None = None,
              hi: float | None = None) -> str:
    """One block character per value, scaled between lo and hi (default: the values' range).

    Longer series are cut into `width` buckets, each drawn at its maximum, so a short spike
    stays visible. A flat series is drawn at the bottom.
    """
    if width is not None and width > 0 and len(values) > width:
        values = _buckets(values, width)
    if not values:
        return ""
    low = min(values) if lo is None else lo
    high = max(values) if hi is None else hi
    if high <= low:
        return BLOCKS[0] * len(values)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[max(0, min(top, round((v - low) / (high - low) * top)))]
                   for v in values)


def _buckets(values: Sequence[float], width: int) -> list[float]:
    n = len(values)
    return [max(values[i * n // width:(i + 1) * n // width]) for i in range(width)]


def sort_processes(processes: Sequence[ProcessSample], key: str) -> list[ProcessSample]:
    """Heaviest first by `key` ("cpu" or "mem"), the other figure then the id breaking ties."""
    if key == "mem":
        return sorted(processes, key=lambda p: (-p.rss, -p.cpu_percent, p.id))
    return sorted(processes, key=lambda p: (-p.cpu_percent, -p.rss, p.id))


def header_lines(snap: Snapshot, sort: str, tz: tzinfo | None = None) -> list[str]:
    """What the machine and the managed processes cost as a whole."""
    sys = snap.system
    clock = datetime.fromtimestamp(snap.timestamp, tz).strftime("%H:%M:%S")
    used = sys.memory_total - sys.memory_available
    cpu = sum(p.cpu_percent for p in snap.processes)
    rss = sum(p.rss for p in snap.processes)
    load = " ".join(f"{x:.2f}" for x in sys.load)
    cores = "core" if sys.cpu_count == 1 else "cores"
    lines = [
        f"wezparallel top  {clock}  by {sort}  ({HELP})",
        f"system  cpu {sys.cpu_percent:.1f}% of {sys.cpu_count} {cores}  load {load}  "
        f"mem {human_size(used)} of {human_size(sys.memory_total)} ({sys.memory_percent:.1f}%)",
        f"managed {len(snap.processes)} processes  cpu {cpu:.1f}%  rss {human_size(rss)}",
    ]
    lines += [f"disk    {d.path}  {d.percent:.0f}% of {human_size(d.total)}  "
              f"({human_size(d.free)} free)" for d in sys.disks]
    return lines


_COLUMNS = (("PID", 7), ("CPU%", 6), ("RSS", 6), ("THR", 4), ("FDS", 5), ("KIDS", 4))


def _row(name: str, cells: Sequence[str], id_width: int) -> str:
    if len(name) > id_width:
        name = name[:id_width - 1] + "…"
    return name.ljust(id_width) + "".join(
        c.rjust(w + 2) for c, (_, w) in zip(cells, _COLUMNS, strict=True))


def table_lines(processes: Sequence[ProcessSample], width: int) -> list[str]:
    """The process table; the ID column takes what the figures leave of `width`."""
    fixed = sum(w + 2 for _, w in _COLUMNS)
    longest = max((len(p.id) for p in processes), default=2)
    id_width = max(4, min(longest, width - fixed))
    lines = [_row("ID", [h for h, _ in _COLUMNS], id_width)]
    for p in processes:
        lines.append(_row(p.id, [str(p.pid), f"{p.cpu_percent:.1f}", human_size(p.rss),
                                 str(p.threads), str(p.open_files), str(p.children)], id_width))
    return lines


def top_lines(snap: Snapshot, sort: str = "cpu", width: int = 80, height: int = 24,
              tz: tzinfo | None = None) -> list[str]:
    """The whole `top` screen: at most `height` lines of at most `width` characters."""
    head = [*header_lines(snap, sort, tz), ""]
    procs = sort_processes(snap.processes, sort)
    rows = table_lines(procs, width)
    room = height - len(head)
    if len(rows) > room:
        keep = max(0, room - 2)  # leave room for the column titles and the "more" line
        rows = [rows[0], *rows[1:1 + keep], f"… {len(procs) - keep} more"]
    return [line[:width].rstrip() for line in (head + rows)[:height]]
