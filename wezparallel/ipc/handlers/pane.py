"""send, capture, attach, layout: the verbs that work on a process's terminal pane.

Only pane backends (tmux, WezTerm) have a terminal to type into, show or re-arrange; they are
told apart from the headless one by the methods they offer (`PaneBackend`), not by name, so a
third pane backend needs no change here. A process on the headless backend gets an error that
says what to change, except for `capture`, where its log tail is the nearest thing to a screen.

Explicit ids are strict (each must have a live pane, or the request fails); a broadcast to a
workspace or to everything reaches what it can and says what it skipped and why. A broadcast
goes to agents only unless `all_panes` says every pane: a prompt meant for the agents has no
business in a dev server's terminal. How the text is typed and its submission confirmed is
`runtime.prompts`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

from wezparallel.backends.base import Handle, resolved
from wezparallel.errors import BackendError, RemoteError, WezparallelError
from wezparallel.ipc.handlers import params as p
from wezparallel.plan.lifecycle import State
from wezparallel.runtime.daemon import Daemon
from wezparallel.runtime.prompts import PromptSender, Target
from wezparallel.runtime.status import resolve_ids, resolve_one
from wezparallel.spec.model import Layout

DEFAULT_LINES = 50  # lines `capture` returns when not told


@runtime_checkable
class PaneBackend(Protocol):
    name: str

    # each may answer at once or be awaitable (tmux): callers go through `resolved`
    def paste(self, handles: Iterable[Handle], text: str,
              bracket: bool) -> Awaitable[None] | None: ...

    def press_enter(self, handles: Iterable[Handle]) -> Awaitable[None] | None: ...

    def capture(self, handle: Handle, lines: int) -> str | Awaitable[str]: ...

    def attach(self, handle: Handle, environ: Mapping[str, str]) -> list[str] | None: ...

    def apply_layout(self, workspace: str, layout: Layout) -> Awaitable[None] | None: ...


def handlers(d: Daemon) -> dict[str, Callable[[dict[str, Any]], Awaitable[Any]]]:
    sender = d.prompts  # shared with the task board: one prompt typed at a time

    async def send(params: dict[str, Any]) -> Any:
        return await _send(d, sender, params)

    async def capture(params: dict[str, Any]) -> Any:
        return await _capture(d, params)

    async def attach(params: dict[str, Any]) -> Any:
        return _attach(d, params)

    async def layout(params: dict[str, Any]) -> Any:
        return await _layout(d, params)

    return {"send": send, "capture": capture, "attach": attach, "layout": layout}


# --- finding a process's pane ----------------------------------------------------------------

def _headless(pid: str, backend: str, verb: str) -> RemoteError:
    return RemoteError("failed", f"{pid} runs headless (backend {backend}); {verb} needs a "
                       "pane backend: set `backend: tmux`")


def _pane_backend(d: Daemon, pid: str, verb: str) -> PaneBackend:
    """The pane backend that runs (or last ran) `pid`; an error naming the fix otherwise."""
    sup = d.supervisor
    backend = sup.backend_of(pid)
    if backend is None:
        spec = sup.desired.get(pid)
        name = d.registry.name_for(spec) if spec is not None else None
        if name == "subprocess":
            raise _headless(pid, name, verb)
        raise RemoteError("failed", f"{pid} is {_state(d, pid)}: it has no pane yet; "
                          f"start it first")
    if not isinstance(backend, PaneBackend):
        raise _headless(pid, backend.name, verb)
    return backend


def _state(d: Daemon, pid: str) -> str:
    st = d.supervisor.statuses.get(pid)
    return (st.state if st is not None else State.STOPPED).value


def _live_handle(d: Daemon, pid: str, verb: str) -> Handle:
    handle = d.supervisor.handles.get(pid)
    if handle is None:
        raise RemoteError("failed", f"{pid} is {_state(d, pid)}: nothing runs in its pane "
                          f"to {verb} to")
    return handle


def _last_pane(d: Daemon, pid: str) -> Handle | None:
    """The running instance's handle, or one for the pane a dead process left (tmux keeps a
    dead pane with its last screen, which is exactly what a person wants to see)."""
    sup = d.supervisor
    handle = sup.handles.get(pid)
    if handle is not None:
        return handle
    st = sup.statuses.get(pid)
    if st is None or st.pane is None or st.backend is None:
        return None
    return Handle(id=pid, pid=st.pid or 0, backend=st.backend, pane=st.pane)


# --- send --------------------------------------------------------------------------------------

async def _send(d: Daemon, sender: PromptSender, params: dict[str, Any]) -> dict[str, Any]:
    text = params.get("text")
    if not isinstance(text, str):
        raise RemoteError("invalid_params", "'text' must be a string")
    enter = params.get("enter", True)
    if not isinstance(enter, bool):
        raise RemoteError("invalid_params", "'enter' must be true or false")
    ids, broadcast = _send_targets(d, params)
    targets: list[Target] = []
    skipped: list[dict[str, str]] = []
    for pid in ids:
        try:
            backend = _pane_backend(d, pid, "send")
            handle = _live_handle(d, pid, "send")
        except RemoteError as exc:
            if not broadcast:
                raise
            skipped.append({"id": pid, "reason": exc.message})
            continue
        targets.append(Target(handle, backend, _is_agent(d, pid)))
    if not targets:
        reasons = "; ".join(s["reason"] for s in skipped)
        raise RemoteError("failed", f"no pane to send to: {reasons}")
    outcomes = await sender.send(targets, text, enter)
    return {"sent": [t.id for t in targets], "skipped": skipped,
            "delivery": [o.to_json() for o in outcomes]}


def _is_agent(d: Daemon, pid: str) -> bool:
    spec = d.supervisor.desired.get(pid)
    if spec is None:
        st = d.supervisor.statuses.get(pid)
        spec = st.spec if st is not None else None
    return spec is not None and spec.claude is not None


def _send_targets(d: Daemon, params: dict[str, Any]) -> tuple[list[str], bool]:
    """(ids, broadcast): exactly one of `ids`, `workspace` or `all` says who gets the text;
    a broadcast goes to agents only unless `all_panes`."""
    given = [k for k in ("ids", "workspace", "all") if params.get(k)]
    if len(given) != 1:
        raise RemoteError("invalid_params", "give exactly one of 'ids', 'workspace' or 'all'")
    all_panes = params.get("all_panes", False)
    if not isinstance(all_panes, bool):
        raise RemoteError("invalid_params", "'all_panes' must be true or false")
    if given == ["ids"]:
        if all_panes:
            raise RemoteError("invalid_params", "'all_panes' goes with 'workspace' or 'all'")
        return resolve_ids(d, p.ids(params)), False
    if given == ["all"]:
        if params["all"] is not True:
            raise RemoteError("invalid_params", "'all' must be true")
        ids, where = resolve_ids(d, ["all"]), ""
    else:
        workspace = p.string(params, "workspace")
        ids, where = _workspace_ids(d, workspace), f"workspace '{workspace}' has "
    if not all_panes:
        ids = [i for i in ids if _is_agent(d, i)]
        if not ids:
            raise RemoteError("failed", f"{where or 'there are '}no agents to send to "
                              "(--all-panes sends to every pane)")
    return ids, True


def _workspace_ids(d: Daemon, workspace: str) -> list[str]:
    sup = d.supervisor
    ids = sorted(i for i in sup.desired.keys() | sup.statuses.keys()
                 if i.partition(":")[0] == workspace)
    if not ids:
        raise RemoteError("not_found", f"no workspace '{workspace}'")
    return ids


# --- capture and attach ------------------------------------------------------------------------

async def _capture(d: Daemon, params: dict[str, Any]) -> dict[str, Any]:
    pid = resolve_one(d, p.string(params, "id"))
    lines = p.count(params, "lines", DEFAULT_LINES)
    backend = d.supervisor.backend_of(pid)
    handle = _last_pane(d, pid)
    if isinstance(backend, PaneBackend) and handle is not None and handle.pane is not None:
        try:
            text = await resolved(backend.capture(handle, lines))
            return {"id": pid, "source": "pane", "text": text}
        except BackendError:
            pass  # the pane is gone (closed by hand, server restarted): the log remains
    return {"id": pid, "source": "log", "text": "\n".join(await _log_tail(d, pid, lines))}


async def _log_tail(d: Daemon, pid: str, lines: int) -> list[str]:
    from wezparallel.backends.logfile import tail

    path = d.supervisor.log_path(pid)
    backend = d.supervisor.backend_of(pid)
    if backend is not None and not isinstance(backend, PaneBackend):
        return await resolved(backend.read_output(d.supervisor.handles.get(pid), path, lines))
    return tail(path, lines)


def _attach(d: Daemon, params: dict[str, Any]) -> dict[str, Any]:
    pid = resolve_one(d, p.string(params, "id"))
    environ = params.get("environ") or {}
    if not isinstance(environ, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in environ.items()):
        raise RemoteError("invalid_params", "'environ' must map names to strings")
    backend = _pane_backend(d, pid, "attach")
    handle = _last_pane(d, pid)
    if handle is None or handle.pane is None:
        raise RemoteError("failed", f"{pid} is {_state(d, pid)}: it has no pane to attach to")
    result = {"id": pid, "pane": handle.pane, "argv": backend.attach(handle, environ)}
    return result | _showing(backend, handle)


def _showing(backend: PaneBackend, handle: Handle) -> dict[str, Any]:
    """Where a backend can tell (WezTerm): the pane's workspace and whether the terminal shows
    it (null: cannot tell), so the caller can ask for a switch and say when none happened."""
    showing = getattr(backend, "showing", None)
    if not callable(showing):
        return {}
    try:
        workspace, shown = showing(handle)
    except WezparallelError:
        return {}
    return {"workspace": workspace, "shown": None if shown is None else shown == workspace}


# --- layout ------------------------------------------------------------------------------------

async def _layout(d: Daemon, params: dict[str, Any]) -> dict[str, Any]:
    workspace = p.string(params, "workspace")
    name = p.string(params, "layout")
    try:
        layout = Layout(name)
    except ValueError:
        choices = ", ".join(v.value for v in Layout)
        raise RemoteError("invalid_params", f"unknown layout '{name}': one of {choices}") \
            from None
    ids = _workspace_ids(d, workspace)
    backends: dict[int, PaneBackend] = {}
    headless: list[str] = []
    for pid in ids:
        backend = d.supervisor.backend_of(pid)
        if isinstance(backend, PaneBackend):
            backends[id(backend)] = backend
        elif backend is not None:
            headless.append(f"{pid} runs headless (backend {backend.name})")
    if not backends:
        fix = "; layout needs a pane backend: set `backend: tmux`" if headless else ""
        why = "; ".join(headless) or "none of its processes has started"
        raise RemoteError("failed", f"workspace '{workspace}' has no panes to arrange: "
                          f"{why}{fix}")
    for pane_backend in backends.values():
        await resolved(pane_backend.apply_layout(workspace, layout))
    return {"workspace": workspace, "layout": layout.value,
            "backends": sorted(b.name for b in backends.values())}
