"""Test configuration: Hypothesis profiles.

* ``ci``: deterministic (derandomised), bounded example counts, no deadline; used by
  ``.ci/run`` and the README's test command.
* ``dev``: the default locally; random, 50 examples.
* ``thorough``: 1000 examples per property, for nightly or pre-release runs.

Select with ``pytest --hypothesis-profile=NAME``.
"""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=40,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=50, deadline=None, print_blob=True)
settings.register_profile(
    "thorough",
    max_examples=1000,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("dev")
