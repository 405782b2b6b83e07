"""One pytest test per (public name, check) of ``refimpl.testing.certify``.

Parametrised over refimpl's op table; each test runs one check of one name on the backend
given by ``--refimpl-backend`` and fails with the discrepancy report (the call, the worst
element, the replay file).
"""

from __future__ import annotations

import functools
import tempfile

import pytest

from refimpl.testing._certify import check_op, resolve_backend
from refimpl.testing._ops import all_ops
from refimpl.testing._pytest_plugin import options_from

OPS = all_ops()
NAMES = list(OPS)


@functools.cache
def _backend(spec: str):
    return resolve_backend(spec)[0]


@pytest.fixture(scope="module")
def conformance(request):
    options = options_from(request.config)
    if not options.backend:
        pytest.skip("refimpl.conformance needs a backend: pytest --pyargs refimpl.conformance "
                    "--refimpl-backend MODULE[:ATTR] (the refimpl pytest plugin adds the option)")
    replay = options.replay_dir or tempfile.mkdtemp(prefix="refimpl-conformance-")
    return options, _backend(options.backend), replay


def _run(conformance, name, check):
    __tracebackhide__ = True
    options, backend, replay = conformance
    if options.functions and name not in options.functions:
        pytest.skip(f"{name} not selected by --refimpl-functions")
    fn = backend.get(name) if isinstance(backend, dict) else getattr(backend, name, None)
    if not callable(fn):
        pytest.skip(f"{name} not provided by {options.backend}")
    status, found, _ = check_op(OPS[name], fn, check, dtype=options.dtype,
                                max_examples=options.max_examples, shrink=options.shrink,
                                replay_dir=replay, strict=options.strict)
    if status == "-":
        pytest.skip(f"{name} has no {check} check (or refused every case)")
    if status == "not required":
        pytest.skip(f"{name}: {check} differs from refimpl's contract (required with "
                    f"--refimpl-strict)")
    if found is not None:
        pytest.fail(str(found), pytrace=False)


@pytest.mark.parametrize("name", NAMES)
def test_value(conformance, name):
    _run(conformance, name, "value")


@pytest.mark.parametrize("name", NAMES)
def test_non_finite(conformance, name):
    _run(conformance, name, "non-finite")


@pytest.mark.parametrize("name", NAMES)
def test_error_contract(conformance, name):
    _run(conformance, name, "error-contract")


@pytest.mark.parametrize("name", NAMES)
def test_invariants(conformance, name):
    _run(conformance, name, "invariant")
