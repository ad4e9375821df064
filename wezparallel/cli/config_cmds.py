"""validate, schema, templates, init: the config side, which works without a daemon.

`validate` prints `path:line:col: message` lines the way compilers do, so editors, CI and
pre-commit annotate them. The loader (and jsonschema with it) is imported inside the commands:
`wezparctl status` must not pay for it.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
from pathlib import Path

import click

from wezparallel.errors import WezparallelError

EXIT_OK, EXIT_FAILED = 0, 1


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of problems.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], as_json: bool) -> None:
    """Check workspace files or directories (default: the conf dir).

    Exit 0 when all are valid, 1 with one `path:line:col: message` line per problem.
    """
    from wezparallel.events.plugins import load as load_plugins
    from wezparallel.spec.loader import load_paths

    kinds = frozenset(load_plugins().probe_kinds)  # probe kinds that installed plugins add
    result = load_paths(list(paths) or [ctx.obj.paths.conf_dir], os.environ, kinds)
    if as_json:
        click.echo(json.dumps([p.to_json() for p in result.problems], indent=2))
    else:
        for problem in result.problems:
            click.echo(str(problem))
        if result.ok:
            count = len(result.workspaces)
            click.echo(f"ok: {count} workspace{'s' * (count != 1)}, "
                       f"{result.process_count()} processes")
        else:
            click.echo(f"{len(result.problems)} problem(s) in "
                       f"{len(result.invalid_files)} file(s)", err=True)
    sys.exit(EXIT_OK if result.ok else EXIT_FAILED)


@click.command()
def schema() -> None:
    """Print the workspace JSON Schema (for editors: yaml-language-server, VS Code)."""
    from wezparallel.spec.schema import schema_text

    click.echo(schema_text(), nl=False)


@click.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print a JSON list of {name, description}.")
def templates(as_json: bool) -> None:
    """List the built-in workspace templates."""
    from wezparallel.spec.templates import list_templates

    entries = list_templates()
    if as_json:
        click.echo(json.dumps([{"name": n, "description": d} for n, d in entries], indent=2))
        return
    width = max(len(name) for name, _ in entries)
    for name, description in entries:
        click.echo(f"{name:<{width}}  {description}")


@click.command()
@click.argument("name")
@click.option("--template", "-t", default="basic", show_default=True,
              help="Template to start from (see `wezparctl templates`).")
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=None,
              help="Where to write NAME.yaml [default: the conf dir].")
@click.pass_context
def init(ctx: click.Context, name: str, template: str, directory: Path | None) -> None:
    """Write a new workspace file NAME.yaml from a template; never overwrites.

    Its processes run in the current directory: `cwd:` is written relative to the file when
    the file is inside it, absolute otherwise."""
    from wezparallel.paths import absolute
    from wezparallel.spec.templates import template_names, write_workspace

    if template not in template_names():  # a wrong argument is a usage error (exit 2)
        raise click.BadParameter(f"no template named {template!r}; the templates are: "
                                 + ", ".join(template_names()), param_hint="'--template'")
    project = absolute(os.getcwd())
    try:
        target = absolute(write_workspace(absolute(directory or ctx.obj.paths.conf_dir),
                                          name, template, project))
    except WezparallelError as exc:
        click.echo(f"wezparctl: {exc}", err=True)
        sys.exit(EXIT_FAILED)
    click.echo(f"wrote {target} (template {template}) for {project}; check it with "
               f"`wezparctl validate {shlex.quote(str(target))}`")
