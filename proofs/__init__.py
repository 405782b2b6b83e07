"""Exact symbolic (sympy) proofs of the identities refimpl's fast algorithms rely on.

Each module exposes ``prove_*() -> bool`` functions and an ``ALL_PROOFS`` list; see
``proofs/README.md`` for the index and ``tests/test_proofs.py`` for how they are run.
"""
