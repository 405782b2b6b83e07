"""The pytest plugin of refimpl (entry point ``pytest11``): options for ``refimpl.conformance``.

Inert unless its options are used: it only adds the ``--refimpl-*`` options and the
``refimpl_options`` fixture, and imports nothing but the standard library (pytest loads it
in every run of every project where refimpl is installed, as Hypothesis's plugin is).

Usage::

    pytest --pyargs refimpl.conformance --refimpl-backend mypackage.attention
    pytest --pyargs refimpl.conformance --refimpl-backend my_backend.py --refimpl-dtype float32

Examples
--------
>>> from refimpl.testing._pytest_plugin import RefimplOptions
>>> RefimplOptions(backend="m").dtype
'float64'
"""

from __future__ import annotations

import dataclasses

import pytest

__all__ = ["RefimplOptions"]


@dataclasses.dataclass(frozen=True)
class RefimplOptions:
    """The ``--refimpl-*`` options of one pytest run."""

    backend: str | None = None
    dtype: str = "float64"
    max_examples: int = 100
    functions: tuple = ()
    replay_dir: str | None = None
    shrink: bool = False
    strict: bool = False


def pytest_addoption(parser):
    group = parser.getgroup("refimpl", "refimpl conformance (pytest --pyargs refimpl.conformance)")
    group.addoption("--refimpl-backend", metavar="MODULE[:ATTR]", default=None,
                    help="the backend to certify: a module path, MODULE:ATTR, or a .py file")
    group.addoption("--refimpl-dtype", default="float64",
                    choices=("float64", "float32", "float16"),
                    help="precision certified (default float64)")
    group.addoption("--refimpl-max-examples", type=int, default=100, metavar="N",
                    help="generated cases per check (default 100)")
    group.addoption("--refimpl-functions", default="", metavar="NAME,...",
                    help="only these public names (comma-separated)")
    group.addoption("--refimpl-replay-dir", default=None, metavar="DIR",
                    help="where to write the replay .npz of each failure")
    group.addoption("--refimpl-shrink", action="store_true",
                    help="shrink failing cases to minimal ones (slower)")
    group.addoption("--refimpl-strict", action="store_true",
                    help="require refimpl's error contract (ValueError/TypeError)")


def options_from(config) -> RefimplOptions:
    """The options of ``config`` (defaults where this plugin is not loaded)."""
    get = config.getoption
    names = tuple(n.strip() for n in (get("--refimpl-functions", "") or "").split(",")
                  if n.strip())
    return RefimplOptions(backend=get("--refimpl-backend", None),
                          dtype=get("--refimpl-dtype", "float64"),
                          max_examples=get("--refimpl-max-examples", 100), functions=names,
                          replay_dir=get("--refimpl-replay-dir", None),
                          shrink=bool(get("--refimpl-shrink", False)),
                          strict=bool(get("--refimpl-strict", False)))


@pytest.fixture(scope="session")
def refimpl_options(request) -> RefimplOptions:
    """The ``--refimpl-*`` options (``backend`` is None when none was given)."""
    return options_from(request.config)


def pytest_report_header(config):
    backend = config.getoption("--refimpl-backend", None)
    if backend:
        return f"refimpl conformance: backend {backend}, dtype " \
               f"{config.getoption('--refimpl-dtype')}"
    return None
