"""Built-in workspace templates (the names users of the older wezterm-parallel know).

Templates are ordinary workspace files shipped in the package (`wezparallel/templates/`), each
valid as it stands, so `init` only swaps in the new workspace name and the project directory,
and the tests can validate every template with the same loader the daemon uses.

The project is where the user ran `init`. Its `cwd:` is written relative to the file when the
file lives inside the project (a conf.d in a checkout: the pair moves together with a clone)
and absolute otherwise (the XDG conf dir, where `..` would mean ~/.config/wezparallel).
"""

from __future__ import annotations

import importlib.resources
import json
import os
import re
from importlib.resources.abc import Traversable
from pathlib import Path

from wezparallel.errors import ConfigError, PermanentError
from wezparallel.spec.yamlsource import parse_document

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")  # the schema's `$defs/name`
_WORKSPACE_LINE = re.compile(r"^workspace:[^\n]*$", re.MULTILINE)
_CWD_LINE = re.compile(r"^cwd:[^\n]*$", re.MULTILINE)
_PLAIN = re.compile(r"^[A-Za-z0-9_./~+-][A-Za-z0-9_./+-]*$")  # needs no YAML quoting


def _folder() -> Traversable:
    return importlib.resources.files("wezparallel") / "templates"


def template_names() -> list[str]:
    return sorted(entry.name.removesuffix(".yaml") for entry in _folder().iterdir()
                  if entry.name.endswith(".yaml"))


def template_text(template: str) -> str:
    if template not in template_names():
        raise PermanentError(f"no template named {template!r}; the templates are: "
                             + ", ".join(template_names()))
    return (_folder() / f"{template}.yaml").read_text(encoding="utf-8")


def list_templates() -> list[tuple[str, str]]:
    """(name, description) of every built-in template."""
    result = []
    for name in template_names():
        try:
            data = parse_document(template_text(name).encode(), f"{name}.yaml").data
        except ConfigError:  # pragma: no cover - the shipped templates are tested valid
            data = None
        description = data.get("description", "") if isinstance(data, dict) else ""
        result.append((name, str(description)))
    return result


def render(template: str, workspace: str, project: Path | None = None,
           directory: Path | None = None) -> str:
    """The template's text with `workspace:` set to `workspace` and, given the absolute
    `project` and the `directory` the file goes to, `cwd:` pointing at the project."""
    check_name(workspace)
    text = _WORKSPACE_LINE.sub(f"workspace: {workspace}", template_text(template), count=1)
    if project is not None and directory is not None:
        text = _CWD_LINE.sub(lambda _m: cwd_line(project, directory), text, count=1)
    return text


def cwd_line(project: Path, directory: Path) -> str:
    """`cwd:` for a file in `directory` (both absolute) whose processes run in `project`."""
    inside = directory == project or project in directory.parents
    value = os.path.relpath(project, directory) if inside else str(project)
    value = value.replace("$", "$$")  # a literal `$`, not interpolation
    shown = value if _PLAIN.match(value) else json.dumps(value)
    why = "relative to this file: the directory `init` ran in" if inside else \
        "the directory `init` ran in"
    return f"cwd: {shown:<24} # {why}"


def check_name(workspace: str) -> None:
    if not NAME.match(workspace) or len(workspace) > 64:
        raise PermanentError(
            f"{workspace!r} is not a valid workspace name: use lower-case letters, digits, "
            "`_` and `-`, starting with a letter or digit (at most 64 characters)"
        )


def write_workspace(directory: Path, workspace: str, template: str = "basic",
                    project: Path | None = None) -> Path:
    """Write `DIRECTORY/WORKSPACE.yaml` from a template; never overwrites an existing file.
    With `project` (absolute), the file's `cwd:` points there."""
    text = render(template, workspace, project, Path(os.path.abspath(directory)))
    target = Path(directory) / f"{workspace}.yaml"
    try:
        Path(directory).mkdir(parents=True, exist_ok=True)
        with open(target, "x", encoding="utf-8") as handle:
            handle.write(text)
    except FileExistsError:
        raise PermanentError(f"{target} already exists; not overwriting it "
                             "(choose another name or remove the file)") from None
    except OSError as exc:
        raise PermanentError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
