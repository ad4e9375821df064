"""A daemon killed at random points, and the census of what it left running.

Every process a fault test starts carries the test's own mark in its environment (`FAULT_MARK`,
plus its name and config generation), so the census finds all of them, also those no daemon
knows about any more, without trusting the daemon's own marks under test.
"""

from __future__ import annotations

import os
import random
import signal
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import DaemonProcess, retry_until

BUDGET_ENV = "WEZPARALLEL_CHAOS_TRIALS"  # `make chaos` raises the number of trials


def trials(default: int) -> int:
    return int(os.environ.get(BUDGET_ENV, default))


def census(mark: str) -> dict[str, list[tuple[int, str]]]:
    """Per process name, the (pid, generation) of each live group leader with our mark."""
    needle = f"FAULT_MARK={mark}".encode()
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if needle not in environ:
            continue
        fields = stat.rpartition(")")[2].split()
        if fields[0] in ("Z", "X") or int(fields[2]) != pid:
            continue  # a zombie, or not a group leader (a shell's child, say)
        env = dict(item.partition(b"=")[::2] for item in environ.split(b"\0") if item)
        found[env[b"FAULT_NAME"].decode()].append((pid, env[b"FAULT_GEN"].decode()))
    return dict(found)


def live_count(mark: str, generation: str | None = None) -> int:
    return sum(1 for procs in census(mark).values() for _, gen in procs
               if generation is None or gen == generation)


@dataclass
class Fleet:
    """N processes in one workspace file, each carrying the mark; a generation changes them all."""

    size: int
    backend: str = "subprocess"
    mark: str = field(default_factory=lambda: uuid.uuid4().hex)
    generation: int = 0

    def conf(self) -> dict[str, str]:
        lines = ["workspace: fault", f"backend: {self.backend}", "processes:"]
        for i in range(self.size):
            lines.append(f"  p{i}:\n    command: [sleep, '100000']\n    start_secs: 0\n"
                         f"    env: {{FAULT_MARK: '{self.mark}', FAULT_NAME: 'fault:p{i}', "
                         f"FAULT_GEN: '{self.generation}'}}")
        return {"fault.yaml": "\n".join(lines) + "\n"}

    def write(self, d: DaemonProcess) -> None:
        for name, text in self.conf().items():
            tmp = d.conf / f".{name}.tmp"
            tmp.write_text(text)
            tmp.rename(d.conf / name)

    def settled(self, d: DaemonProcess) -> bool:
        """Every process RUNNING in status, of the current generation, exactly once alive."""
        procs = {p["id"]: p for p in d.status()["processes"]}
        if len(procs) != self.size or any(p["state"] != "RUNNING" for p in procs.values()):
            return False
        alive = census(self.mark)
        gen = str(self.generation)
        return all(len(alive.get(pid, [])) == 1 and alive[pid][0][1] == gen
                   and p["pid"] in (alive[pid][0][0], parent(alive[pid][0][0]))
                   for pid, p in procs.items())


def parent(pid: int) -> int | None:
    """A pane's program is the child of the wrapper whose pid the daemon reports."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def kill_when(d: DaemonProcess, fleet: Fleet, started: int, timeout: float = 60) -> None:
    """SIGKILL the daemon once `started` processes of the fleet's generation are alive."""
    gen = str(fleet.generation)
    retry_until(lambda: live_count(fleet.mark, gen) >= started, timeout, 0.002,
                f"{started} processes of generation {gen}")
    d.kill(signal.SIGKILL)


def restart_and_settle(d: DaemonProcess, fleet: Fleet, timeout: float = 60) -> float:
    start = time.monotonic()
    d.start()
    retry_until(lambda: fleet.settled(d), timeout, 0.1, "the fleet to settle, once each")
    return time.monotonic() - start


def pick(rng: random.Random, size: int) -> int:
    return rng.randint(1, size - 1)
