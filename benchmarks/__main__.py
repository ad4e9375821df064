"""`python -m benchmarks [--quick] [--only FAMILY ...] [--out FILE]`: see the package docstring."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmarks import harness, results, sampling, suite, sup_driver, wez_driver

DEFAULT_OUT = Path(__file__).resolve().parent / "RESULTS.md"


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=__doc__ and sys.modules["benchmarks"].__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="few processes and samples (CI smoke run, ~1 min)")
    parser.add_argument("--only", nargs="+", choices=[f.name for f in suite.FAMILIES],
                        default=[], help="run only these workload families")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"where to write the report (default: {DEFAULT_OUT} for a full "
                             "run; a quick run writes no file unless asked)")
    return parser.parse_args(argv)


def build_tools() -> tuple[suite.Tools, dict[str, str], Path | None]:
    missing: dict[str, str] = {}
    sup_bin: Path | None = None
    wez_driver.ensure_installed()  # no fallback: a figure of the editable copy would mislead
    try:
        sup_bin = sup_driver.ensure_installed()
    except (harness.BenchError, OSError) as exc:
        missing[results.SUP] = f"not installed: {exc}"
    tools = suite.Tools(
        supervisord=sup_driver.tool(sup_bin) if sup_bin else None,
        wezparallel=wez_driver.tool(),
        wezparallel_watching=wez_driver.tool(watch=True),
        wezparallel_tmux=wez_driver.tool(backend="tmux"),
        wezparallel_quiet=wez_driver.tool(extra=sampling.NO_METRICS))
    return tools, missing, sup_bin


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    budget = harness.Budget.for_mode(args.quick)
    try:
        tools, missing, sup_bin = build_tools()
    except (harness.BenchError, OSError) as exc:  # wezparallel itself could not be installed
        print(f"benchmarks: {exc}", file=sys.stderr)
        return 2
    versions = results.tool_versions(wez_driver.BIN / "wezparallel",
                                     (sup_bin or sup_driver.VENV / "bin") / "supervisord")
    info = results.machine_info(versions)
    start = harness.now()
    rows = suite.run(tools, budget, args.only, missing)
    report = results.render_report(rows, info, args.quick, harness.ms_since(start) / 1000,
                                    suite.method())
    print(report)
    out = args.out or (None if args.quick else DEFAULT_OUT)
    if out is not None:
        out.write_text(report, encoding="utf-8")
        print(f"benchmarks: wrote {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
