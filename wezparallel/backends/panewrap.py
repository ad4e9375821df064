"""The thin wrapper a terminal pane runs: `panewrap.py --launch FILE`.

The pane's command line is fixed and holds no user text: the program's argv, environment and
working directory come from FILE (written 0600 by the daemon, read once, then deleted), so no
name, value, prompt or path ever passes through tmux's command parser, its formats or a shell.
`panewrap.py --status-file F -- PROGRAM ARGS...` is the same run with nothing to read.

Neither tmux (which loses `pane_dead_status` under polling) nor `wezterm cli` (which reports no
pid and no exit status, and may close the pane the moment the program ends) tells the daemon
reliably how a pane's program ended. This wrapper runs the program as its child and writes the
child's pid, then its exit code or signal, to the status file (write + rename, so a reader never
sees half a record) *before* it exits itself; the daemon watches the wrapper's pid and reads the
file once it is gone.

The child gets its own process group and is made the terminal's foreground group, the way a
shell runs a job: keys typed into the pane (Ctrl-C included) reach the program, not the wrapper.
Signals sent to the wrapper are forwarded to that group, so the daemon signals one pid it knows
at spawn time (the pane's pid) and the whole job receives it once.

The wrapper is its program's subreaper (`PR_SET_CHILD_SUBREAPER`): whatever the program starts
and abandons, even in a session of its own (`setsid`, a double fork), is re-parented to the
wrapper instead of init. When the program's leader ends, its group and every such descendant
are killed and reaped before the wrapper reports and exits, so a pane leaves nothing running.

It is run as a plain script with `python -I -S`, imports only cheap stdlib modules and never the
`wezparallel` package, because every pane start (and restart) pays for its startup.
"""

from __future__ import annotations

import binascii
import errno
import os
import resource
import signal
import sys

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT,
             signal.SIGUSR1, signal.SIGUSR2)
USAGE = ("usage: panewrap.py --launch FILE\n"
         "       panewrap.py --status-file FILE -- PROGRAM [ARGS...]\n")
LAUNCH_MAGIC = "wezparallel-launch-1"
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>


class _Job:
    child: int | None = None
    pending: list[int] = []  # noqa: RUF012 - one per process, mutated by signal handlers


def _forward(signum: int, _frame: object) -> None:
    if _Job.child is None:
        _Job.pending.append(signum)
        return
    try:  # noqa: SIM105 - no contextlib: every import slows each pane start
        os.killpg(_Job.child, signum)
    except OSError:
        pass


def write_status(path: str, wrapper: int, child: int, code: int | None,
                 sig: int | None) -> None:
    """One JSON object, replaced atomically; `exited` tells a start record from an end one."""
    def num(v: int | None) -> str:
        return "null" if v is None else str(v)
    exited = "true" if code is not None or sig is not None else "false"
    text = (f'{{"wrapper": {wrapper}, "pid": {child}, "exited": {exited}, '
            f'"code": {num(code)}, "signal": {num(sig)}}}\n')
    tmp = f"{path}.{wrapper}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def _hung_up(fd: int) -> bool:
    """Whether `fd` is a terminal that has already hung up: it answers EIO to everything,
    where a pipe, a file or a live terminal that is not ours answers ENOTTY or works."""
    try:
        os.tcgetpgrp(fd)
    except OSError as exc:
        return exc.errno == errno.EIO
    return False


def _give_terminal(tty: int | None, pgid: int) -> None:
    if tty is None:
        return
    try:  # noqa: SIM105
        os.tcsetpgrp(tty, pgid)
    except OSError:
        pass


def _spawn(job: Launch, tty: int | None) -> int:
    """Fork and exec with the forwarded signals blocked across the fork: a hangup arriving in
    between must neither reach the child's copy of our handler (it would be dropped) nor find
    the parent not yet knowing its child."""
    signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)
    pid = os.fork()
    if pid == 0:  # the child: own group, foreground of the pane, then the program
        try:
            for s in FORWARDED:
                signal.signal(s, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
            os.setpgid(0, 0)
            _give_terminal(tty, os.getpid())
            signal.signal(signal.SIGTTOU, signal.SIG_DFL)
            _exec(job)
        except OSError as exc:
            os.write(2, f"wezparallel: cannot run {job.argv[0]}: {exc.strerror}\n".encode())
        os._exit(127)
    # both sides set the group, so neither order of scheduling leaves a gap
    try:  # noqa: SIM105
        os.setpgid(pid, pid)
    except OSError:
        pass
    _give_terminal(tty, pid)
    _Job.child = pid
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
    return pid


class Launch:
    """What to run: from the launch file, or from the command line (`--status-file`)."""

    def __init__(self, status_file: str, argv: list[str], env: dict[str, str] | None = None,
                 cwd: str | None = None) -> None:
        self.status_file = status_file
        self.argv = argv
        self.env = env
        self.cwd = cwd


def read_launch(path: str) -> Launch:
    """NUL-separated fields (no value can hold a NUL: execve could not pass it either):
    magic, status file, cwd, the number of env entries, `K=V` entries, then argv. Deleted once
    read: it may hold secrets, and a start the daemon gave up on must find nothing to run."""
    with open(path, "rb") as f:
        data = f.read()
    os.unlink(path)
    fields = [os.fsdecode(b) for b in data.split(b"\0")]
    if len(fields) < 5 or fields[0] != LAUNCH_MAGIC or not fields[3].isdigit():
        raise ValueError(f"{path}: not a launch file")
    n = int(fields[3])
    env: dict[str, str] = {}
    for entry in fields[4:4 + n]:
        key, _, value = entry.partition("=")
        env[key] = value
    argv = fields[4 + n:]
    if not argv:
        raise ValueError(f"{path}: no program")
    return Launch(fields[1], argv, env, fields[2] or None)


def _exec(job: Launch) -> None:
    if job.cwd is not None:
        try:
            os.chdir(job.cwd)
        except OSError as exc:
            os.write(2, f"wezparallel: cannot enter {job.cwd}: {exc.strerror}\n".encode())
            os._exit(127)
    if job.env is None:
        os.execvp(job.argv[0], job.argv)
    os.execvpe(job.argv[0], job.argv, {**os.environ, **job.env})


def _parse(args: list[str]) -> Launch:
    if len(args) == 2 and args[0] == "--launch":
        try:
            return read_launch(args[1])
        except (OSError, ValueError) as exc:
            sys.stderr.write(f"wezparallel: cannot read the launch file: {exc}\n")
            sys.exit(2)
    if len(args) < 4 or args[0] != "--status-file" or args[2] != "--":
        sys.stderr.write(USAGE)
        sys.exit(2)
    return Launch(args[1], args[3:])


def _become_subreaper() -> None:
    """Orphans of the program become our children, where we can find and end them."""
    try:
        import ctypes  # only here: the one import that is not needed to start the program

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux, or no prctl: orphans go to init as before


def _children() -> list[int]:
    me = os.getpid()
    try:
        with open(f"/proc/{me}/task/{me}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def _reap_leader(child: int) -> int:
    """Wait for the program's leader; what is left of its group is killed while the leader is
    still unreaped, so its pid (the group's id) cannot belong to a stranger yet."""
    os.waitid(os.P_PID, child, os.WEXITED | os.WNOWAIT)
    try:  # noqa: SIM105
        os.killpg(child, signal.SIGKILL)
    except OSError:
        pass
    _, status = os.waitpid(child, 0)
    _Job.child = None  # late signals must not go to a group id that may be reused
    return status


def _end_descendants() -> None:
    """Kill every descendant that was re-parented to us (it left the program's group: setsid,
    a double fork) and reap them all, until we have no child left. Each pid we kill is our
    unreaped child, so it cannot be a stranger's."""
    while True:
        for pid in _children():
            for kill in (os.killpg, os.kill):
                try:  # noqa: SIM105
                    kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def run(args: list[str]) -> int:
    job = _parse(args)
    status_file = job.status_file
    me = os.getpid()
    _become_subreaper()
    for s in FORWARDED:
        signal.signal(s, _forward)
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # we hand the terminal away and back
    if _hung_up(0):
        # The pane closed while tmux was still starting us (its server killed mid-spawn): the
        # kernel's SIGHUP went out before we were there to get it, and nothing would ever end
        # the program. Act on that hangup now instead of starting an orphan.
        write_status(status_file, me, me, None, signal.SIGHUP)
        _die_like(signal.SIGHUP)
    tty = 0 if os.isatty(0) else None
    announce(status_file, "running")
    child = _spawn(job, tty)
    write_status(status_file, me, child, None, None)
    for pending in _Job.pending:
        _forward(pending, None)
    if tty is not None and _hung_up(tty) and signal.SIGHUP not in _Job.pending:
        # hung up while we were starting, with the kernel's SIGHUP lost on the way (it can
        # race tmux's own start of the pane): from now on the handler has a child to tell
        _forward(signal.SIGHUP, None)
    status = _reap_leader(child)
    _end_descendants()
    code = os.waitstatus_to_exitcode(status)
    sig = -code if code < 0 else None
    write_status(status_file, me, child, None if sig else code, sig)
    announce(status_file, "exited", f"signal {sig}" if sig else str(code))
    _give_terminal(tty, os.getpgrp())
    if sig is None:
        return code
    _die_like(sig)
    return 128 + sig


def _die_like(sig: int) -> None:
    """End by the child's signal, so the pane (tmux's `Pane is dead (signal 9)`) tells the
    truth to a person too; without a core file of the wrapper's own."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sig != signal.SIGKILL:
        signal.signal(sig, signal.SIG_DFL)
    os.kill(os.getpid(), sig)


# --- WezTerm user variables --------------------------------------------------------------------

def user_var(name: str, value: str) -> bytes:
    """OSC 1337 `SetUserVar=NAME=BASE64(VALUE)`, BEL-terminated: what WezTerm parses
    (termwiz/src/escape/osc.rs) into a pane's user variable, firing `user-var-changed`."""
    encoded = binascii.b2a_base64(value.encode(), newline=False)
    return b"\x1b]1337;SetUserVar=" + name.encode() + b"=" + encoded + b"\x07"


def announce(status_file: str, state: str, exit_text: str | None = None, fd: int = 1) -> None:
    """Tell WezTerm whose pane this is and how it is doing: `wezparallel_id`,
    `wezparallel_workspace`, `wezparallel_state` (running, exited) and at the end
    `wezparallel_exit`. The Lua module matches panes by them and refreshes its status when
    they change. Only in a WezTerm pane (WezTerm sets WEZTERM_PANE, mux/src/domain.rs) and
    only to a terminal; the process id comes from the status file's place,
    `.../panes/WORKSPACE/NAME.json`."""
    if not os.environ.get("WEZTERM_PANE") or not os.isatty(fd):
        return
    workspace = os.path.basename(os.path.dirname(status_file))
    name = os.path.basename(status_file).removesuffix(".json")
    data = (user_var("wezparallel_id", f"{workspace}:{name}")
            + user_var("wezparallel_workspace", workspace)
            + user_var("wezparallel_state", state))
    if exit_text is not None:
        data += user_var("wezparallel_exit", exit_text)
    try:  # noqa: SIM105
        os.write(fd, data)
    except OSError:  # the terminal hung up: nobody to tell
        pass


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
