"""The conf dir watcher on its own: which paths count, and following env files that live
outside the conf dir, through a real watchdog observer and real files."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from wezparallel.runtime.watcher import ConfWatcher, counts

FOLLOWED = frozenset({"/repo/.env", "/repo/conf.d/vars"})


@pytest.mark.parametrize(("path", "in_conf_dir", "expected"), [
    ("/repo/conf.d/web.yaml", True, True),
    ("/repo/conf.d/web.yml", True, True),
    ("/repo/conf.d/..data", True, True),
    ("/repo/conf.d/vars", True, True),  # a followed env file without a telling name
    ("/repo/conf.d/notes.txt", True, False),
    ("/repo/conf.d/.web.yaml.swp", True, False),
    ("/repo/conf.d/web.yaml~", True, False),
    ("/repo/.env", False, True),
    ("/repo/README.md", False, False),
    ("/repo/other.yaml", False, False),  # beside the conf dir, a yaml is not a workspace file
    ("/repo/old.env", False, False),  # nor is an env file nobody names
])
def test_which_events_count(path: str, in_conf_dir: bool, expected: bool) -> None:
    assert counts(path, in_conf_dir=in_conf_dir, followed=FOLLOWED) is expected


class Recorder:
    def __init__(self) -> None:
        self.calls = 0
        self.event = asyncio.Event()

    def __call__(self) -> None:
        self.calls += 1
        self.event.set()

    async def next(self) -> None:
        await asyncio.wait_for(self.event.wait(), timeout=20)
        self.event.clear()


def test_follows_env_files_outside_the_conf_dir_and_drops_them(tmp_path: Path) -> None:
    conf = tmp_path / "conf.d"
    shared = tmp_path / "shared"
    conf.mkdir()
    shared.mkdir()
    env = shared / "app.env"
    env.write_text("A=1\n")
    named: list[str] = [str(env)]

    async def scenario() -> None:
        changed = Recorder()
        watcher = ConfWatcher(conf, changed, env_files=lambda: named)
        watcher.start()
        try:
            assert watcher.followed_dirs == {str(shared)}
            env.write_text("A=2\n")
            await changed.next()
            # an editor's atomic save: a temp file renamed over the env file
            tmp = shared / ".app.env.tmp"
            tmp.write_text("A=3\n")
            os.replace(tmp, env)
            await changed.next()
            # the workspace file stops naming it: after that reload the directory is dropped
            named.clear()
            (conf / "web.yaml").write_text("workspace: web\n")
            await changed.next()
            assert watcher.followed_dirs == frozenset()
        finally:
            watcher.stop()

    asyncio.run(scenario())


def test_an_env_file_in_a_missing_directory_is_picked_up_after_the_next_reload(
        tmp_path: Path) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    later = tmp_path / "later"

    async def scenario() -> None:
        changed = Recorder()
        watcher = ConfWatcher(conf, changed,
                              env_files=lambda: [str(later / ".env")])
        watcher.start()
        try:
            assert watcher.followed_dirs == frozenset()
            later.mkdir()
            (conf / "web.yaml").write_text("workspace: web\n")
            await changed.next()
            assert watcher.followed_dirs == {str(later)}
            (later / ".env").write_text("A=1\n")
            await changed.next()
        finally:
            watcher.stop()

    asyncio.run(scenario())
