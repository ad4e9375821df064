"""The README's example workspace must stay valid as the format evolves."""

from __future__ import annotations

from pathlib import Path

from wezparallel.spec.loader import load_paths

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_example_is_a_valid_workspace(tmp_path: Path) -> None:
    block = README.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]
    conf = tmp_path / "conf.d"
    conf.mkdir()
    (conf / "webapp.yaml").write_text(block)
    (conf / ".env").write_text("API_TOKEN=x\n")  # env_file paths are relative to the file
    result = load_paths([conf], {})
    assert result.problems == (), [str(p) for p in result.problems]
    (ws,) = result.workspaces.values()
    assert {p.name for p in ws.processes} == {"api", "web"}
