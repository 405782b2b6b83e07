"""``python -m refimpl`` is the ``refimpl`` command."""

import sys

from .cli import main

sys.exit(main())
