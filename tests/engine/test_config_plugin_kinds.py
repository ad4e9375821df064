"""The daemon's config read asks for plugin probe kinds only when a file names a kind that is
not built in, and then reads as if it had known them from the start (real files, real
schema; `more` stands for the plugin host's discovery)."""

from __future__ import annotations

from pathlib import Path

from wezparallel.runtime.config import ConfigSnapshot, load
from wezparallel.runtime.lastgood import LastGood
from wezparallel.spec.loader import load_conf_dir

PLUGIN = ("workspace: w\nprocesses:\n  s:\n    command: sleep 600\n"
          "    health: [{kind: path-exists, options: {path: ready}}]\n")
BUILTIN = ("workspace: b\nprocesses:\n  s:\n    command: sleep 600\n"
           "    health: [{kind: tcp, port: 80}]\n")
IN_DEFAULTS = ("workspace: d\ndefaults:\n  health: [{kind: path-exists}]\n"
               "processes:\n  s: {command: sleep 600}\n")


class Discovery:
    def __init__(self, kinds: frozenset[str]) -> None:
        self.kinds = kinds
        self.calls = 0

    def __call__(self) -> frozenset[str]:
        self.calls += 1
        return self.kinds


def _conf(tmp_path: Path, **files: str) -> Path:
    conf = tmp_path / "conf.d"
    conf.mkdir(parents=True)
    for name, text in files.items():
        (conf / f"{name}.yaml").write_text(text)
    return conf


def _load(conf: Path, more: Discovery, kept: LastGood | None = None,
          known: frozenset[str] = frozenset()) -> ConfigSnapshot:
    return load(conf, {}, ConfigSnapshot(), 0.0, known, kept, more_kinds=more)


def test_builtin_kinds_never_ask_for_plugins(tmp_path: Path) -> None:
    more = Discovery(frozenset({"path-exists"}))
    snapshot = _load(_conf(tmp_path, b=BUILTIN), more)
    assert not snapshot.problems and more.calls == 0
    assert [p.id for p in snapshot.processes().values()] == ["b:s"]


def test_a_plugin_kind_asks_once_and_validates(tmp_path: Path) -> None:
    more = Discovery(frozenset({"path-exists"}))
    snapshot = _load(_conf(tmp_path, w=PLUGIN, d=IN_DEFAULTS, b=BUILTIN), more)
    assert snapshot.problems == () and more.calls == 1
    assert sorted(snapshot.processes()) == ["b:s", "d:s", "w:s"]
    assert snapshot.processes()["w:s"].health[0].kind == "path-exists"


def test_kinds_already_known_need_no_discovery(tmp_path: Path) -> None:
    more = Discovery(frozenset({"path-exists"}))
    snapshot = _load(_conf(tmp_path, w=PLUGIN), more, known=frozenset({"path-exists"}))
    assert snapshot.problems == () and more.calls == 0


def test_an_unknown_kind_gives_the_same_located_error_as_ever(tmp_path: Path) -> None:
    for installed in (frozenset(), frozenset({"path-exists"})):
        conf = _conf(tmp_path / str(len(installed)), w=PLUGIN.replace("path-exists", "ping"))
        more = Discovery(installed)
        snapshot = _load(conf, more)
        eager = load_conf_dir(conf, {}, installed)  # what a daemon that knew them said
        assert snapshot.problems == eager.problems and more.calls == 1
        (problem,) = snapshot.problems
        assert (problem.line, problem.column) == (5, 21)
        assert problem.message.startswith("`processes.s.health[0].kind`: must be one of exec, "
                                          "http, tcp, output, idle, memory")
        assert ("path-exists" in problem.message) == bool(installed)


def test_a_broken_files_kept_version_with_a_plugin_kind_runs(tmp_path: Path) -> None:
    conf = _conf(tmp_path, w=PLUGIN)
    kept = LastGood(tmp_path / "lastgood")
    assert _load(conf, Discovery(frozenset({"path-exists"})), kept).problems == ()
    (conf / "w.yaml").write_text("workspace: w\nprocesses: [\n")  # broken, then a restart
    more = Discovery(frozenset({"path-exists"}))
    snapshot = _load(conf, more, kept)
    assert list(snapshot.processes()) == ["w:s"] and more.calls == 1
