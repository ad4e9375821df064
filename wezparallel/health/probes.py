"""Health probes: a pure tracker deciding when to check and what a result means, and the checks.

The tracker follows Docker's healthcheck rules, which users already know: a probe is checked
right after the process starts and then every `interval` seconds after the previous check ends;
it turns unhealthy after `retries` failures in a row (an `output` match at once: a line like
`Traceback` is decisive by itself); failures during `start_period` do not count until the first
success ends that period early. The probe's `action` is returned once, on the check that turns
it unhealthy, so the runtime restarts or notifies once per incident, not once per interval.

The checks are async and effectful; each returns a `ProbeResult` and never raises for a failing
target (a refused connection is a result, not an error).
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import os
import re
import signal
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from wezparallel.spec.model import HealthProbe


class Health(enum.StrEnum):
    UNKNOWN = "unknown"
    HEALTHY = "healthy"
    UNHEALTHY = "unhealthy"


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    reason: str = ""  # why it failed, for `status`


@dataclass(frozen=True)
class Verdict:
    health: Health
    action: str | None = None  # restart | mark | notify, only when the probe just turned unhealthy
    reason: str | None = None


@dataclass(frozen=True)
class ProbeState:
    """One probe of one running instance; replaced (not reset) when the process restarts."""

    probe: HealthProbe
    started_at: float  # monotonic, when the process instance started
    next_due: float
    failures: int = 0  # counted failures in a row
    health: Health = Health.UNKNOWN
    last_failure: str | None = None
    started: bool = False  # a success was seen: the start period is over

    @classmethod
    def begin(cls, probe: HealthProbe, started_at: float) -> ProbeState:
        return cls(probe, started_at, next_due=started_at)

    def due(self, now: float) -> bool:
        return now >= self.next_due

    @property
    def threshold(self) -> int:
        return 1 if self.probe.kind == "output" else max(1, self.probe.retries)

    def record(self, result: ProbeResult, now: float) -> tuple[ProbeState, Verdict]:
        """Fold in one check that finished at `now`."""
        nxt = now + self.probe.interval
        if result.ok:
            state = replace(self, next_due=nxt, failures=0, health=Health.HEALTHY, started=True)
            return state, Verdict(Health.HEALTHY)
        reason = result.reason or f"{self.probe.kind} probe failed"
        grace = not self.started and now < self.started_at + self.probe.start_period
        failures = self.failures if grace else self.failures + 1
        health = Health.UNHEALTHY if failures >= self.threshold else self.health
        action = self.probe.action if (health == Health.UNHEALTHY
                                       and self.health != Health.UNHEALTHY) else None
        state = replace(self, next_due=nxt, failures=failures, health=health,
                        last_failure=reason)
        return state, Verdict(health, action, reason)


def overall(states: Iterable[ProbeState]) -> tuple[Health, str | None]:
    """A process's health from its probes: unhealthy if any is, healthy if all are.

    No probes at all gives UNKNOWN; whether that satisfies `condition: healthy` is the
    planner's call, not this module's.
    """
    items = list(states)
    for st in items:
        if st.health == Health.UNHEALTHY:
            return Health.UNHEALTHY, f"{st.probe.kind}: {st.last_failure}"
    if items and all(st.health == Health.HEALTHY for st in items):
        return Health.HEALTHY, None
    return Health.UNKNOWN, None


@dataclass(frozen=True)
class ProbeSet:
    """Every probe of one process instance; pure."""

    states: tuple[ProbeState, ...]

    @classmethod
    def begin(cls, probes: tuple[HealthProbe, ...], started_at: float,
              seed: Health = Health.UNKNOWN) -> ProbeSet:
        """`seed`: the health an adopted instance had under the earlier daemon; its probes go
        on from there (an unhealthy one stays so until a check passes) instead of from
        unknown."""
        states = [ProbeState.begin(p, started_at) for p in probes]
        if seed != Health.UNKNOWN:
            states = [replace(st, health=seed, started=True,
                              failures=st.threshold if seed == Health.UNHEALTHY else 0)
                      for st in states]
        return cls(tuple(states))

    def due(self, now: float) -> tuple[int, ...]:
        return tuple(i for i, st in enumerate(self.states) if st.due(now))

    def next_due(self) -> float:
        return min(st.next_due for st in self.states)

    def record(self, index: int, result: ProbeResult, now: float) -> tuple[ProbeSet, Verdict]:
        state, verdict = self.states[index].record(result, now)
        states = (*self.states[:index], state, *self.states[index + 1:])
        return replace(self, states=states), verdict

    def health(self) -> tuple[Health, str | None]:
        return overall(self.states)


# ---- checks -----------------------------------------------------------------------------


async def check_exec(command: tuple[str, ...], timeout: float, *, cwd: str | None = None,
                     env: Mapping[str, str] | None = None) -> ProbeResult:
    """The command exits 0 within `timeout`; on timeout its whole process group is killed."""
    try:
        proc = await asyncio.create_subprocess_exec(
            *command, cwd=cwd, env=dict(env) if env is not None else None,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, start_new_session=True)
    except OSError as exc:
        return ProbeResult(False, f"cannot run {command[0]!r}: {exc.strerror or exc}")
    try:
        _, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        await proc.communicate()
        return ProbeResult(False, f"{command[0]} timed out after {timeout:g}s")
    if proc.returncode == 0:
        return ProbeResult(True)
    lines = err.decode(errors="replace").strip().splitlines()
    detail = f": {lines[-1][:200]}" if lines else ""
    return ProbeResult(False, f"{command[0]} exited {proc.returncode}{detail}")


async def check_http(url: str, timeout: float) -> ProbeResult:
    """A GET on `url` answers 2xx within `timeout` (redirects are not followed)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ProbeResult(False, f"not an http(s) URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    request = (f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n"
               "User-Agent: wezparallel-health\r\n\r\n").encode()
    call = _http_status(parts.hostname, port, request, https=parts.scheme == "https")
    try:
        status = await asyncio.wait_for(call, timeout)
    except TimeoutError:
        return ProbeResult(False, f"GET {url}: no answer within {timeout:g}s")
    except OSError as exc:
        return ProbeResult(False, f"GET {url}: {_os_reason(exc)}")
    except ValueError as exc:
        return ProbeResult(False, f"GET {url}: {exc}")
    if 200 <= status < 300:
        return ProbeResult(True)
    return ProbeResult(False, f"GET {url}: HTTP {status}")


async def _http_status(host: str, port: int, request: bytes, *, https: bool) -> int:
    context = _tls_context() if https else None
    reader, writer = await asyncio.open_connection(
        host, port, ssl=context, server_hostname=host if https else None)
    try:
        writer.write(request)
        await writer.drain()
        return _status(await reader.readline())
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def _tls_context() -> ssl.SSLContext:
    """The system's trust store, as any https client would use; built per check so a
    certificate file that changed (SSL_CERT_FILE, a renewed CA bundle) is read again."""
    return ssl.create_default_context()


def _status(line: bytes) -> int:
    """The status code of an HTTP status line."""
    words = line.decode("latin-1").split()
    if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        raise ValueError(f"not an HTTP answer: {' '.join(words)[:80]!r}")
    return int(words[1])


def _os_reason(exc: OSError) -> str:
    """"Connection refused" rather than asyncio's "Connect call failed ('127.0.0.1', 80)";
    a TLS error says what went wrong in its own words (its errno is OpenSSL's, not the OS's)."""
    if type(exc).__module__ == "ssl":
        return str(exc)
    return os.strerror(exc.errno) if exc.errno else str(exc)


async def check_tcp(host: str, port: int, timeout: float) -> ProbeResult:
    """The port accepts a connection within `timeout`."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except TimeoutError:
        return ProbeResult(False, f"{host}:{port}: no connection within {timeout:g}s")
    except OSError as exc:
        return ProbeResult(False, f"{host}:{port}: {_os_reason(exc)}")
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(True)


def check_output(pattern: str, new_lines: Iterable[str]) -> ProbeResult:
    """Fails on the first new line the pattern matches (the pattern describes trouble)."""
    rx = re.compile(pattern)
    for line in new_lines:
        if rx.search(line):
            return ProbeResult(False, f"output matched {pattern!r}: {line.strip()[:200]}")
    return ProbeResult(True)


def check_idle(activity: str | None, since: float | None, now: float,
               duration: float) -> ProbeResult:
    """Fails when the agent has been idle, waiting or stuck after a failed turn (`error`) for
    at least `duration` seconds: each needs someone."""
    if activity not in ("idle", "waiting", "error") or since is None:
        return ProbeResult(True)
    quiet = now - since
    if quiet >= duration:
        return ProbeResult(False, f"{activity} for {quiet:.0f}s (limit {duration:g}s)")
    return ProbeResult(True)


def check_memory(rss: int | None, max_bytes: int) -> ProbeResult:
    """Fails when the process tree's resident memory exceeds `max_bytes`."""
    if rss is None or rss <= max_bytes:
        return ProbeResult(True)
    return ProbeResult(False, f"RSS {rss / 2**20:.0f} MiB above {max_bytes / 2**20:.0f} MiB")


@dataclass(frozen=True)
class ProbeInputs:
    """What the runtime observed for the checks that do not go out and look themselves."""

    now: float = 0.0  # same clock as `activity_since`
    cwd: str | None = None
    env: Mapping[str, str] | None = None
    new_lines: tuple[str, ...] = ()
    activity: str | None = None
    activity_since: float | None = None
    rss: int | None = None


async def run_check(probe: HealthProbe, inputs: ProbeInputs) -> ProbeResult:
    """Run the check for `probe.kind`; a probe missing its field fails with a clear reason."""
    kind = probe.kind
    if kind == "exec" and probe.command:
        return await check_exec(probe.command, probe.timeout, cwd=inputs.cwd, env=inputs.env)
    if kind == "http" and probe.url:
        return await check_http(probe.url, probe.timeout)
    if kind == "tcp" and probe.port is not None:
        return await check_tcp(probe.host, probe.port, probe.timeout)
    if kind == "output" and probe.pattern:
        return check_output(probe.pattern, inputs.new_lines)
    if kind == "idle" and probe.duration is not None:
        return check_idle(inputs.activity, inputs.activity_since, inputs.now, probe.duration)
    if kind == "memory" and probe.max_bytes is not None:
        return check_memory(inputs.rss, probe.max_bytes)
    return ProbeResult(False, f"{kind} probe is missing its target field")


def read_new_lines(path: str | os.PathLike[str], offset: int) -> tuple[tuple[str, ...], int]:
    """Complete lines appended to a log since `offset`, and the offset to continue from.

    A file shorter than `offset` was truncated or rotated: it is read from the start.
    """
    try:
        with open(path, "rb") as fh:
            if Path(path).stat().st_size < offset:
                offset = 0
            fh.seek(offset)
            data = fh.read()
    except FileNotFoundError:
        return (), 0
    end = data.rfind(b"\n") + 1
    lines = data[:end].decode(errors="replace").splitlines()
    return tuple(lines), offset + end


def tree_rss(pid: int) -> int | None:
    """Resident memory of `pid` and all its descendants in bytes; None if it is gone."""
    import psutil

    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    total = 0
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_info().rss
    return total
