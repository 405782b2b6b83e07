"""``refimpl verify``: every fast path against its oracle, every oracle against its closed form.

Checks are registered per family (see ``refimpl.verify._registry``); :func:`run` runs
them and prints the table.

Examples
--------
>>> from refimpl import verify
>>> len(verify.registry()) > 0
True
"""

from ._registry import Check, Outcome, Result, check, compare, registry, run, worst

__all__ = ["Check", "Outcome", "Result", "check", "compare", "registry", "run", "worst"]
