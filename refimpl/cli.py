"""The ``refimpl`` command line: ``verify`` and ``bench``."""

from __future__ import annotations

import argparse
import sys

__all__ = ["main"]


def _verify(args) -> int:
    from . import verify

    results = verify.run(quick=args.quick, families=args.family, json_path=args.json)
    return 0 if all(r.verdict == "pass" for r in results) else 1


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
    return parser


def main(argv=None) -> int:
    """Entry point of the ``refimpl`` console script."""
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
