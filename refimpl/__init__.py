"""refimpl: exact float64 reference implementations of efficient attention.

Dense oracles written from the definitions, the papers' fast algorithms, and the checks
between them (``refimpl verify``). See ``CONTRACT.md`` for the public names.
"""

__version__ = "0.1.0"
