"""The ``refimpl`` command line: ``verify`` and ``bench``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["main"]


def _verify(args) -> int:
    from . import verify

    try:
        results = verify.run(quick=args.quick, families=args.family, json_path=args.json)
    except (ValueError, TypeError) as exc:  # an unknown family: say so, check nothing
        print(f"refimpl verify: {exc}", file=sys.stderr)
        return 2
    return 0 if results and all(r.verdict == "pass" for r in results) else 1


def _bench(args) -> int:
    from . import bench

    try:
        bench.run(quick=args.quick, only=args.only, json_path=args.json, plot=args.plot)
    except (ImportError, ValueError, RuntimeError) as exc:  # reported, not a traceback
        print(f"refimpl bench: {exc}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="refimpl",
        description="Exact float64 reference implementations of efficient attention.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("verify", help="run every check: fast path vs oracle, oracle vs closed form")
    p.add_argument("--quick", action="store_true", help="small sizes (under a minute)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--family", action="append", metavar="NAME",
                   help="only this family (repeatable), e.g. masked")
    p.set_defaults(func=_verify)

    p = sub.add_parser("bench", help="scaling of each fast path against its dense oracle")
    p.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    p.add_argument("--json", metavar="PATH", help="also write the timings as JSON")
    p.add_argument("--only", action="append", metavar="NAME",
                   help="only this benchmark (repeatable)")
    p.add_argument("--plot", metavar="DIR", help="write time-vs-size plots (PNG) into DIR")
    p.set_defaults(func=_bench)
    _add_certify_parser(sub)
    lib = sub.add_parser(
        "libraries", help="certify every shipped adapter whose library is installed",
        description="Certify each adapter of refimpl.testing.backends whose library is "
                    "installed (float64 and float32), confirm each value finding with "
                    "mpmath, and write the JSON results and the Markdown page of certified "
                    "libraries.")
    lib.add_argument("--max-examples", type=int, default=100, metavar="N",
                     help="generated cases per aspect (default 100)")
    lib.add_argument("--json", metavar="PATH", help="where to write the results as JSON")
    lib.add_argument("--page", metavar="PATH", help="where to write the Markdown page")
    lib.add_argument("--only", action="append", metavar="ADAPTER",
                     help="only the adapters whose module path contains ADAPTER (repeatable)")
    lib.add_argument("--merge", action="store_true",
                     help="keep the other adapters' rows of the existing --json file (for a "
                          "library installed in another environment)")
    lib.set_defaults(func=_libraries)
    return parser


def _add_certify_parser(sub) -> None:
    p = sub.add_parser(
        "certify", help="check another backend's functions against refimpl",
        description="Check every refimpl name that MODULE provides, aspect by aspect: "
                    "values on generated inputs, invariants, non-finite inputs (refused or "
                    "propagated), refimpl's error contract (required with --strict); a "
                    "valid input the backend refuses is an unsupported feature, not a "
                    "wrong value. Exit status 0 only if no aspect failed and every provided "
                    "name had enough certified value cases; 1 otherwise, also when nothing "
                    "was certified; 2 for a usage error.")
    p.add_argument("backend", metavar="MODULE[:ATTR]",
                   help="a module path (imported with the current directory on sys.path), "
                        "MODULE:ATTR for an object in it, or a .py file")
    p.add_argument("--dtype", default="float64", choices=("float64", "float32", "float16"),
                   help="precision certified: inputs are rounded to it (default float64)")
    p.add_argument("--json", metavar="PATH", help="also write the report as JSON")
    p.add_argument("--max-examples", type=int, default=100, metavar="N",
                   help="generated cases per check (default 100)")
    p.add_argument("--functions", action="append", metavar="NAME",
                   help="only this public name (repeatable)")
    p.add_argument("--replay-dir", metavar="DIR",
                   help="where to write the replay .npz of each failure (default: a new "
                        "temporary directory)")
    p.add_argument("--shrink", action="store_true",
                   help="stop each aspect at its first failure and shrink it to a minimal "
                        "case (slower)")
    p.add_argument("--strict", action="store_true",
                   help="also require refimpl's error contract (ValueError/TypeError on "
                        "every invalid input) and fail on unsupported input features")
    p.add_argument("--shapes", choices=("auto", "few", "many"), default="auto",
                   help="few: sizes 1, 2, 3, 5 only, for backends that compile per shape "
                        "(auto: what the backend's REFIMPL_SHAPES asks for, else many)")
    p.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                   help="live progress per name on standard error (auto: on a terminal)")
    p.add_argument("--statistical-budget", type=int, default=None, metavar="CALLS",
                   help="backend calls per fixed case of the stochastic names' statistical "
                        "checks (default 1000; the smallest bias detected shrinks as "
                        "1/sqrt(CALLS))")
    p.add_argument("--skip-statistical", action="store_true",
                   help="skip the statistical checks (the stochastic names are then not "
                        "certified)")
    p.set_defaults(func=_certify)


def _certify(args) -> int:
    from .testing import certify

    try:
        progress = {"always": True, "never": None}.get(args.progress, sys.stderr.isatty()
                                                               or None)
        report = certify(args.backend, functions=args.functions, max_examples=args.max_examples,
                         dtype=args.dtype, replay_dir=args.replay_dir, shrink=args.shrink,
                         strict=args.strict, progress=progress, shapes=args.shapes,
                         skip_statistical=args.skip_statistical,
                         statistical_budget=args.statistical_budget)
    except (ImportError, AttributeError, ValueError, TypeError) as exc:  # not a traceback
        print(f"refimpl certify: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    print(report.format())
    if args.json:
        report.write_json(args.json)
    return 0 if report.passed else 1


def _libraries(args) -> int:
    from .testing import libraries

    if args.max_examples < 1:
        raise SystemExit(f"refimpl libraries: --max-examples must be at least 1, "
                         f"got {args.max_examples}")
    if args.merge and not (args.json and Path(args.json).is_file()):
        raise SystemExit("refimpl libraries: --merge needs --json naming an existing results "
                         f"file, got {args.json!r}")
    try:
        runs = libraries.select(args.only)
    except ValueError as exc:
        raise SystemExit(f"refimpl libraries: {exc}") from None
    progress = True if sys.stderr.isatty() else None
    data = libraries.run_all(max_examples=args.max_examples, runs=runs, progress=progress)
    if args.merge:
        old = json.loads(Path(args.json).read_text(encoding="utf-8"))
        data = libraries.merge(old, data)
    libraries.write(data, args.json, args.page)
    print(libraries.format_page(data))
    return 0


def main(argv=None) -> int:
    """Entry point of the ``refimpl`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
