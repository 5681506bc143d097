"""Run every benchmark in tests/bench and print their figures (`make bench`).

    .venv/bin/python tests/bench/run_all.py                 # every bench_*.py, default options
    .venv/bin/python tests/bench/run_all.py --only push     # modules whose name contains "push"
    .venv/bin/python tests/bench/run_all.py --only bench_push.py --seconds 10 --push-variants A   # exactly that one
    .venv/bin/python tests/bench/run_all.py --seconds 10 --json var/bench.json
    .venv/bin/python tests/bench/run_all.py --list          # what would run
    .venv/bin/python tests/bench/bench_push.py --help       # one module alone, with its own options

Convention for a benchmark module (tests/bench/bench_<name>.py):

- `async def main(args: argparse.Namespace) -> dict[str, Any]` — runs the benchmark and returns its
  figures as a dict (name → number, string or bool, or one level of such dicts, e.g. per scenario);
  it must be JSON-serialisable for --json. It may print progress and its own
  detailed summary; the runner prints the returned figures again in one table at the end.
  Two optional keys have a meaning: `"targets"` → `{"description": bool met, …}` (shown as
  MET/MISSED and summed up by the runner) and `"notes"` → `[str, …]` (printed under the figures).
  Never assert on timing: report, do not fail. Raise only when the benchmark itself broke (e.g.
  the server answered errors); the runner reports the exception and carries on with the next module.
- `def add_arguments(parser: argparse.ArgumentParser) -> None` (optional) — the module's own options.
  All modules share one parser, so prefix option names with the module's name (`--push-clients`);
  the common options `--seconds` (measured duration per scenario, default 20) and `--warmup`
  (default 2) are defined by the runner and must not be redefined.
- The first line of the module docstring is its title.
- A module cleans up after itself (processes it started, temp dirs); it may create its own database
  (e.g. via `shared.devdb.resolve_database_url("test")` with a `TEST_DATABASE_NAME` of its own) but
  must never touch another one. Environment changes it makes are undone by the runner.
- Standalone run: end the module with
      if __name__ == "__main__":
          from run_all import run_standalone
          raise SystemExit(run_standalone(sys.modules[__name__]))
  (tests/bench is the script directory, so `run_all` is importable.)

Helpers that are not benchmarks (e.g. pyspy_summary.py) must not be named bench_*.py. Do not start two
bench runs at once on one PostgreSQL: each module recreates its own database (DROP … WITH (FORCE)),
which ends the other run's connections.

Modules run one after another in this process, each in its own event loop (uvloop when installed,
as the services use it through uvicorn[standard]). Exit status: 0 if every module ran, 1 otherwise;
a missed target does not change the exit status.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import sys
import time
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent.parent
for p in (str(ROOT), str(BENCH_DIR)):
    if p not in sys.path:
        sys.path.insert(0, p)


def discover(only: list[str] | None = None) -> list[Path]:
    paths = sorted(BENCH_DIR.glob("bench_*.py"))
    if only:
        # "bench_push.py" names one module exactly; anything else is a substring of the module name
        paths = [p for p in paths if any(o == p.name if o.endswith(".py") else o in p.stem for o in only)]
    return paths


def load(path: Path) -> ModuleType:
    name = path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def title(module: ModuleType) -> str:
    return ((module.__doc__ or "").strip().splitlines() or [module.__name__])[0]


def base_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description="Run the benchmarks in tests/bench.")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured duration of each scenario (default 20)")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured load before each measurement (default 2)")
    parser.add_argument("--json", metavar="PATH", help="also write all figures as JSON to PATH")
    return parser


def _run_coroutine(coro: Any) -> Any:
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def print_figures(name: str, figures: dict[str, Any]) -> None:
    print(f"\n=== {name} ===")
    plain = {k: v for k, v in figures.items() if k not in ("targets", "notes") and not isinstance(v, (dict, list))}
    width = max((len(k) for k in plain), default=10)
    for key, value in plain.items():
        print(f"  {key:<{width}}  {_fmt(value)}")
    for key, value in figures.items():
        if isinstance(value, dict) and key != "targets":
            print(f"  {key}:")
            for k, v in value.items():
                print(f"    {k:<{max(width - 2, 1)}}  {_fmt(v)}")
    for desc, met in (figures.get("targets") or {}).items():
        print(f"  [{'MET   ' if met else 'MISSED'}] {desc}")
    for note in figures.get("notes") or []:
        print(f"  note: {note}")


def run_module(module: ModuleType, args: argparse.Namespace) -> tuple[dict[str, Any] | None, str | None]:
    saved_env = dict(os.environ)
    started = time.monotonic()
    try:
        figures = _run_coroutine(module.main(args))
        figures = dict(figures or {})
        figures.setdefault("wall_seconds", round(time.monotonic() - started, 1))
        return figures, None
    except KeyboardInterrupt:
        raise
    except BaseException:  # report and carry on with the next module
        return None, traceback.format_exc()
    finally:
        os.environ.clear()
        os.environ.update(saved_env)


def run_standalone(module: ModuleType) -> int:
    """Entry point for `python tests/bench/bench_x.py [options]`."""
    parser = base_parser(prog=Path(module.__file__ or module.__name__).name)
    if hasattr(module, "add_arguments"):
        module.add_arguments(parser)
    args = parser.parse_args()
    figures, error = run_module(module, args)
    if error:
        print(error, file=sys.stderr)
        return 1
    name = Path(module.__file__ or module.__name__).stem
    print_figures(f"{name}: {title(module)}", figures or {})
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({name: figures}, indent=2, ensure_ascii=False, default=str))
    return 0


def main(argv: list[str] | None = None) -> int:
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--only", action="append")
    known, _ = pre.parse_known_args(argv)
    modules = [load(p) for p in discover(known.only)]

    parser = base_parser()
    parser.add_argument(
        "--only",
        action="append",
        metavar="SUBSTRING",
        help="run only modules whose name contains it, or exactly FILE.py (repeatable)",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    for module in modules:
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)
    args = parser.parse_args(argv)

    if args.list or not modules:
        for module in modules:
            print(f"{module.__name__:<24} {title(module)}")
        if not modules:
            print("no benchmark modules found", file=sys.stderr)
        return 0

    results: dict[str, Any] = {}
    failed: list[str] = []
    for module in modules:
        print(f"\n##### {module.__name__}: {title(module)}", flush=True)
        figures, error = run_module(module, args)
        if error:
            print(f"!!! {module.__name__} failed:\n{error}", file=sys.stderr, flush=True)
            failed.append(module.__name__)
            results[module.__name__] = {"error": error.strip().splitlines()[-1]}
        else:
            results[module.__name__] = figures

    print("\n" + "#" * 72 + "\n# BENCHMARK FIGURES\n" + "#" * 72)
    missed = 0
    for name, figures in results.items():
        print_figures(name, figures)
        missed += sum(1 for met in (figures.get("targets") or {}).values() if not met)
    print(
        f"\n{len(results) - len(failed)}/{len(results)} benchmarks ran; {missed} target(s) missed"
        + (f"; failed: {', '.join(failed)}" if failed else "")
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
        print(f"figures written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
