"""The README's Python examples run, in order, as one script (the tour must stay true)."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_blocks_run():
    matplotlib.use("Agg")
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    assert blocks, "README.md has no python examples"
    namespace: dict = {}
    for number, block in enumerate(blocks, start=1):
        try:
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
        except Exception as exc:  # the message names the block
            raise AssertionError(f"README python block {number} failed: {exc!r}\n{block}") from exc
