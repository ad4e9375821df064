"""The one place that runs tmux: escaping for its parsers, and a hung server's timeout."""

from __future__ import annotations

import asyncio
import os
import signal
import time

import pytest

from tests.panes.conftest import Box, processes_mentioning
from wezparallel.backends.tmux_cmd import SEP, TmuxServer, escape_arg, format_literal
from wezparallel.errors import BackendError

HOSTILE = ["a;", ";", "a\\;", "\\", ";;", "x#{pane_id};", "#(echo pwned)", "##", "{", "}",
           "a b; run-shell 'echo pwned'", ""]


def test_only_the_separator_ends_a_command() -> None:
    assert escape_arg("a;") == "a\\;" and escape_arg(";") == "\\;"
    assert escape_arg("a\\;") == "a\\\\;" and escape_arg("a;b") == "a;b"
    assert escape_arg(SEP) == ";" and TmuxServer(None).argv("x", SEP, "y;") == [
        "tmux", "x", ";", "y\\;"]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_comes_back_from_tmux_exactly(box: Box, text: str) -> None:
    box.tmux("new-session", "-d", "sleep", "30")
    server = TmuxServer(box.socket)

    async def scenario() -> tuple[str, str]:
        shown = await server.run("display-message", "-p", format_literal(text), SEP,
                                 "display-message", "-p", "after")
        await server.run("set-buffer", "-b", "t", "--", text or " ")
        return shown, await server.run("show-buffer", "-b", "t")

    shown, buffered = asyncio.run(scenario())
    assert shown == f"{text}\nafter\n"
    assert buffered == (text or " ")


def test_a_stopped_server_is_an_error_after_the_timeout_and_no_client_is_left(
        box: Box) -> None:
    box.tmux("new-session", "-d", "sleep", "30")
    pid = int(box.tmux("display-message", "-p", "#{pid}"))
    server = TmuxServer(box.socket, timeout=0.5)
    os.kill(pid, signal.SIGSTOP)
    try:
        begun = time.monotonic()
        with pytest.raises(BackendError, match=r"no answer within 0.5s"):
            asyncio.run(server.run("list-sessions"))
        took = time.monotonic() - begun
        clients = [p for p in processes_mentioning(str(box.socket)) if p != pid]
    finally:
        os.kill(pid, signal.SIGCONT)
    assert took < 5
    assert clients == []
    assert asyncio.run(server.alive())
