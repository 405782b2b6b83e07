"""A backend file for the command-line and plugin tests: one buggy function, one honest class.

``softmax_attention`` lets each query see the next key (the causal-leak mutant);
``ToeplitzMask`` is refimpl's own.
"""

from mutants import buggy_softmax

from refimpl.masks import ToeplitzMask  # noqa: F401

softmax_attention = buggy_softmax("causal_leak")
