"""Hot reload through a real watchdog observer: only what changed is touched."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from tests.support import pid_alive, retry_until

BASE = """
workspace: web
processes:
  api: {command: sleep 601, start_secs: 0}
  worker: {command: sleep 602, start_secs: 0, restart: always}
  cron: {command: sleep 603, start_secs: 0}
"""


def _pids(d) -> dict[str, int]:
    return {p["id"]: p["pid"] for p in d.status()["processes"]}


def _running(d, ids):
    def check():
        procs = {p["id"]: p for p in d.status()["processes"]}
        return procs if all(procs.get(i, {}).get("state") == "RUNNING" for i in ids) else None
    return retry_until(check, 15, 0.02, f"{ids} running")


def _save_atomically(path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def test_changed_command_restarts_only_that_process(daemon_factory):
    d = daemon_factory({"web.yaml": BASE}).start()
    before = {k: v["pid"] for k, v in _running(d, ["web:api", "web:worker", "web:cron"]).items()}
    changed = BASE.replace("sleep 601", "sleep 611").replace(
        "restart: always", "restart: never")
    plan = d.ctl("plan")
    (d.conf / "web.yaml").write_text(changed)

    def api_replaced():
        p = d.process("web:api")
        return p if p["state"] == "RUNNING" and p["pid"] != before["web:api"] else None

    retry_until(api_replaced, 10, 0.02, "api restarted")
    after = _pids(d)
    assert after["web:worker"] == before["web:worker"]  # restart policy: in place
    assert after["web:cron"] == before["web:cron"]  # untouched
    assert not pid_alive(before["web:api"])
    assert plan.stdout.strip() == "no changes"
    log = d.daemon_log()
    assert "restart web:api (config-changed: command)" in log
    assert "update  web:worker in place (restart)" in log


def test_plan_shows_the_diff_before_reload_applies_it(daemon_factory):
    d = daemon_factory({"web.yaml": BASE}, watch=False).start()
    before = {k: v["pid"] for k, v in _running(d, ["web:api", "web:worker", "web:cron"]).items()}
    (d.conf / "web.yaml").write_text(BASE.replace("sleep 603", "sleep 633").replace(
        "  cron:", "  new: {command: sleep 604, start_secs: 0}\n  cron:"))
    out = d.ctl("plan", "--json")
    assert out.returncode == 0, out.stderr
    actions = sorted((a["action"], a["id"]) for a in json.loads(out.stdout)["actions"])
    assert actions == [("restart", "web:cron"), ("start", "web:new")]
    assert _pids(d) == before  # plan changes nothing
    out = d.ctl("reload")
    assert out.returncode == 0
    assert "restart web:cron" in out.stdout and "start   web:new" in out.stdout
    after = _running(d, ["web:new", "web:cron"])
    assert after["web:api"]["pid"] == before["web:api"]
    assert after["web:cron"]["pid"] != before["web:cron"]


def test_bad_save_keeps_last_good_version_running(daemon_factory):
    d = daemon_factory({"web.yaml": BASE}).start()
    before = {k: v["pid"] for k, v in _running(d, ["web:api", "web:worker", "web:cron"]).items()}
    (d.conf / "web.yaml").write_text(BASE.replace("start_secs: 0}", "start_secs: 0, restrat: x}"))

    def has_errors():
        s = d.status()
        return s if s["config"]["errors"] else None

    status = retry_until(has_errors, 10, 0.02, "config errors reported")
    err = status["config"]["errors"][0]
    assert err["file"].endswith("web.yaml") and err["line"] == 4 and "restart" in err["message"]
    assert _pids(d) == before
    text = d.ctl("status")
    assert text.returncode == 1 and "web.yaml:4:" in text.stdout
    (d.conf / "web.yaml").write_text(BASE)
    retry_until(lambda: not d.status()["config"]["errors"], 10, 0.02, "errors cleared")
    assert _pids(d) == before


def test_never_valid_file_starts_nothing_and_others_apply(daemon_factory):
    d = daemon_factory({"web.yaml": BASE}).start()
    _running(d, ["web:api"])
    (d.conf / "broken.yaml").write_text("workspace: broken\nprocesses:\n  x: {command: [}\n")
    (d.conf / "more.yaml").write_text(
        "workspace: more\nprocesses:\n  m: {command: sleep 605, start_secs: 0}\n")
    _running(d, ["more:m"])
    ids = {p["id"] for p in d.status()["processes"]}
    assert not any(i.startswith("broken:") for i in ids)


def test_atomic_save_delete_and_burst(daemon_factory):
    d = daemon_factory({"web.yaml": BASE}).start()
    before = {k: v["pid"] for k, v in _running(d, ["web:api", "web:worker", "web:cron"]).items()}
    for i in range(10):  # a burst of saves: only the last one counts
        _save_atomically(d.conf / "web.yaml", BASE.replace("sleep 603", f"sleep {700 + i}"))
    retry_until(lambda: d.process("web:cron")["pid"] not in (None, before["web:cron"])
                and d.process("web:cron")["state"] == "RUNNING", 10, 0.02, "cron restarted")
    time.sleep(0.3)
    cron = d.process("web:cron")
    assert _cmdline(str(cron["pid"])) == "sleep 709"
    assert _pids(d)["web:api"] == before["web:api"]
    (d.conf / "web.yaml").unlink()
    retry_until(lambda: not d.status()["processes"], 15, 0.05, "all removed")
    assert not any(pid_alive(p) for p in before.values())


def test_renamed_workspace_is_remove_and_add(daemon_factory):
    d = daemon_factory({"web.yaml": BASE}).start()
    old = _running(d, ["web:api"])["web:api"]["pid"]
    os.rename(d.conf / "web.yaml", d.conf / "site.yaml")
    (d.conf / "site.yaml").write_text(BASE.replace("workspace: web", "workspace: site"))
    _running(d, ["site:api", "site:worker", "site:cron"])
    retry_until(lambda: not any(p["workspace"] == "web" for p in d.status()["processes"]),
                10, 0.05, "old workspace gone")
    assert not pid_alive(old)


def test_symlinked_data_swap(daemon_factory):
    d = daemon_factory().start()
    v1 = d.root / "v1"
    v2 = d.root / "v2"
    v1.mkdir()
    v2.mkdir()
    (v1 / "web.yaml").write_text(BASE)
    (v2 / "web.yaml").write_text(BASE.replace("sleep 601", "sleep 621"))
    os.symlink(v1, d.conf / "..data")
    os.symlink("..data/web.yaml", d.conf / "web.yaml")
    before = _running(d, ["web:api", "web:cron"])
    os.symlink(v2, d.conf / "..data_tmp")
    os.replace(d.conf / "..data_tmp", d.conf / "..data")
    retry_until(lambda: d.process("web:api")["pid"] != before["web:api"]["pid"]
                and d.process("web:api")["state"] == "RUNNING", 10, 0.02, "api restarted")
    assert d.process("web:cron")["pid"] == before["web:cron"]["pid"]


def test_daemon_sigkill_then_restart_adopts_processes(daemon_factory):
    d = daemon_factory({"web.yaml": BASE}).start()
    before = {k: v["pid"] for k, v in _running(d, ["web:api", "web:worker", "web:cron"]).items()}
    d.kill(signal.SIGKILL)
    assert all(pid_alive(p) for p in before.values())
    d.start()
    after = _running(d, ["web:api", "web:worker", "web:cron"])
    assert {k: v["pid"] for k, v in after.items()} == before
    # no duplicates: exactly one `sleep 601` runs
    matches = [p for p in os.listdir("/proc") if p.isdigit() and _cmdline(p) == "sleep 601"]
    assert len(matches) == 1
    os.kill(before["web:worker"], signal.SIGKILL)  # an adopted process's exit is still handled
    worker = retry_until(lambda: (p := d.process("web:worker"))["state"] == "RUNNING"
                         and p["pid"] != before["web:worker"] and p, 10, 0.02, "worker back")
    assert worker["restarts"] == 1
    assert "unknown" in (worker["exit"] or "")


def _cmdline(pid: str) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode().strip()


def test_recycled_pid_is_not_adopted_and_damaged_state_is_survived(daemon_factory):
    import subprocess

    d = daemon_factory({"web.yaml": BASE}).start()
    _running(d, ["web:api"])
    d.stop()
    stranger = subprocess.Popen(["sleep", "600"])
    try:
        state = {"version": 1, "processes": {"web:api": {
            "wanted": True, "restarts": 0, "fingerprint": None,
            "handle": {"id": "web:api", "pid": stranger.pid, "backend": "subprocess",
                       "create_time": 12345.0, "pane": None}}}}
        (d.state / "state.json").write_text(json.dumps(state))
        d.start()
        api = _running(d, ["web:api"])["web:api"]
        assert api["pid"] != stranger.pid and stranger.poll() is None
        d.stop()
        (d.state / "state.json").write_text('{"version": 1, "processes": {"web:a')
        d.start()
        _running(d, ["web:api", "web:cron"])
    finally:
        stranger.kill()
        stranger.wait()


def test_user_stop_survives_reload_and_daemon_restart(daemon_factory):
    d = daemon_factory({"web.yaml": BASE}).start()
    _running(d, ["web:api", "web:cron"])
    assert d.ctl("stop", "web:cron").returncode == 0
    (d.conf / "web.yaml").write_text(BASE.replace("sleep 603", "sleep 613"))
    time.sleep(0.5)
    assert d.process("web:cron")["state"] == "STOPPED"
    assert d.stop() == 0
    d.start()
    _running(d, ["web:api"])
    cron = d.process("web:cron")
    assert cron["state"] == "STOPPED" and cron["wanted"] is False


def test_shutdown_leave_running_then_adopt(daemon_factory):
    d = daemon_factory({"web.yaml": BASE}).start()
    before = {k: v["pid"] for k, v in _running(d, ["web:api", "web:cron"]).items()}
    assert d.ctl("shutdown", "--leave-running").returncode == 0
    d.proc.wait(timeout=30)
    assert all(pid_alive(p) for p in before.values())
    d.start()
    after = _running(d, ["web:api", "web:cron"])
    assert after["web:api"]["pid"] == before["web:api"]


def test_saving_an_env_file_outside_the_conf_dir_restarts_its_workspace(daemon_factory):
    greeter = ("workspace: web\nenv_file: ../shared/app.env\nprocesses:\n"
               "  api:\n    command: [sh, -c, 'echo \"greeting=$GREETING\"; exec sleep 600']\n"
               "    start_secs: 0\n")
    other = "workspace: other\nprocesses:\n  cron: {command: sleep 605, start_secs: 0}\n"
    d = daemon_factory({"web.yaml": greeter, "other.yaml": other})
    shared = d.root / "shared"
    shared.mkdir()
    (shared / "app.env").write_text("GREETING=hello\n")
    d.start()
    before = {k: v["pid"] for k, v in _running(d, ["web:api", "other:cron"]).items()}
    retry_until(lambda: "greeting=hello" in d.ctl("logs", "web:api").stdout, 10, 0.02, "hello")
    (shared / "notes.txt").write_text("not an env file\n")
    _save_atomically(shared / "app.env", "GREETING=bonjour\n")

    def api_replaced():
        p = d.process("web:api")
        return p if p["state"] == "RUNNING" and p["pid"] != before["web:api"] else None

    retry_until(api_replaced, 10, 0.02, "api restarted by the env file")
    retry_until(lambda: "greeting=bonjour" in d.ctl("logs", "web:api").stdout, 10, 0.02,
                "bonjour")
    assert d.process("other:cron")["pid"] == before["other:cron"]
    assert "restart web:api (config-changed: env)" in d.daemon_log()


HEALTH_BASE = """
workspace: web
processes:
  api: {command: sleep 641, start_secs: 0}
"""


def _with_probe(command: str) -> str:
    return HEALTH_BASE.replace(
        "start_secs: 0}",
        "start_secs: 0, health: [{kind: exec, command: '" + command + "'"
        + ", interval: 200ms, retries: 1}]}")


def _health_is(d, pid: int, health: str):
    def check():
        p = d.process("web:api")
        assert p["pid"] == pid, "health changes must apply in place"
        return p if p["health"] == health else None
    return check


def test_health_changes_apply_in_place_through_the_watcher(daemon_factory):
    """A probe added to a running process runs; a failing probe replaced by a passing one
    makes it healthy; removing the probes forgets the verdict; all with the same pid."""
    d = daemon_factory({"web.yaml": HEALTH_BASE}).start()
    pid = _running(d, ["web:api"])["web:api"]["pid"]
    path = d.conf / "web.yaml"
    _save_atomically(path, _with_probe("false"))
    retry_until(_health_is(d, pid, "unhealthy"), 15, 0.05, "added probe to fail")
    assert "exec: false exited 1" in (d.process("web:api")["health_reason"] or "")
    _save_atomically(path, _with_probe("true"))
    retry_until(_health_is(d, pid, "healthy"), 15, 0.05, "new probe to pass")
    _save_atomically(path, HEALTH_BASE)
    retry_until(_health_is(d, pid, "unknown"), 15, 0.05, "probes removed")
    assert d.process("web:api")["health_reason"] is None
