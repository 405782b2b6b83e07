"""The conformance suite: ``refimpl certify`` as pytest tests, installed with refimpl.

Run it against any backend with::

    pytest --pyargs refimpl.conformance --refimpl-backend MODULE[:ATTR]

(options: ``--refimpl-dtype float32``, ``--refimpl-max-examples N``,
``--refimpl-functions a,b``, ``--refimpl-replay-dir DIR``, ``--refimpl-shrink``,
``--refimpl-strict``). There is one test per (public name, aspect):
``test_value[softmax_attention]``, ``test_invariants[rbf_kernel]``,
``test_non_finite[ToeplitzMask]``, ``test_error_contract[CausalMask]`` (skipped as "not
required" when the backend's errors differ from refimpl's, unless ``--refimpl-strict``).
Names the backend does not provide are skipped with "not provided"; without
``--refimpl-backend`` every test is skipped with a message saying so. Known failures
belong in the backend's own skip list (``pytest --deselect``), as with array-api-tests.

Examples
--------
>>> import refimpl.conformance
>>> refimpl.conformance.__name__
'refimpl.conformance'
"""
