"""The README's Python examples run, in order, as one script (the tour must stay true)."""

from __future__ import annotations

import math
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


_CLAIM = re.compile(r"^print\((?P<expr>.*)\)\s+# ~(?P<claim>[0-9.e+-]+)\s*$", flags=re.M)


def test_readme_printed_figures_are_what_prints():
    """A ``print(x)  # ~1e-15`` comment in the README states the printed figure's order of
    magnitude; it must be within a factor of 10 of what the line really prints."""
    matplotlib.use("Agg")
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    claims = [m for block in blocks for m in _CLAIM.finditer(block)]
    assert claims, "no '# ~figure' comments found: update this test if they were removed"
    seen = []

    def check(value, claim, line):
        value = float(value)
        seen.append(line)
        assert value > 0 and abs(math.log10(value / claim)) <= 1, (
            f"README says {line!r} but it prints {value:.3g}")

    namespace: dict = {"_check_claim": check}
    for block in blocks:
        block = _CLAIM.sub(
            lambda m: f"_check_claim({m['expr']}, {m['claim']}, {m.group(0).strip()!r})", block)
        exec(compile(block, "README.md", "exec"), namespace)
    assert len(seen) == len(claims)
