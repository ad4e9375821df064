"""Talking to the daemon from a command: one call, errors turned into exit codes."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import click

from wezparallel.errors import DaemonUnreachable, IpcError, RemoteError

EXIT_FAILED, EXIT_UNREACHABLE = 1, 3


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"wezparctl: {message}", err=True)
    sys.exit(code)


@contextmanager
def _errors_to_exit_codes() -> Iterator[None]:
    try:
        yield
    except DaemonUnreachable as exc:
        _fail(str(exc), EXIT_UNREACHABLE)
    except RemoteError as exc:
        _fail(exc.message, EXIT_FAILED)
    except IpcError as exc:
        _fail(str(exc), EXIT_FAILED)


def call(ctx: click.Context, method: str, params: dict[str, Any] | None = None,
         timeout: float = 60.0) -> Any:
    from wezparallel.ipc.client import Client

    with _errors_to_exit_codes(), Client(ctx.obj.paths.socket, timeout=timeout) as client:
        return client.call(method, params or {})


def stream(ctx: click.Context, method: str, params: dict[str, Any]) -> Iterator[Any]:
    from wezparallel.ipc.client import Client

    with _errors_to_exit_codes(), Client(ctx.obj.paths.socket, timeout=None) as client:
        yield from client.stream(method, params)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))
