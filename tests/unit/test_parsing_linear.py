"""Parsing time grows linearly with the reply's length: a 1 MB reply parses in about 20 times the time
of a 50 KB one, for every adversarial shape issue 12 and the audit of ``agentkit/parsing`` found, and for
seeded random soups of markup fragments (the shapes live in ``benchmarks/parsing.py``, which reports
the same measurements as a table).

Times are compared within one test, never against absolute limits (the timeout is only a net that
turns a quadratic parser's hours into a failure). CPU time in samples of equal length (20 small parses
against one big one), the least of a few, with the cyclic garbage collector paused, keeps the ratio
steady on a shared machine (see ``benchmarks.parsing.cpu_seconds``); quadratic time gives about 400.
"""

from __future__ import annotations

import pytest

from agentkit.parsing import ParsedReply, parse_tool_calls
from benchmarks.parsing import BIG, SHAPES, SMALL, cpu_seconds

LINEAR = BIG / SMALL
LIMIT = 2 * LINEAR
"""At most about 20 times: twice that for caches (the objects of a 1 MB reply outgrow them, which costs
up to 1.6 times as much per character on this machine) and for busy neighbours; quadratic time gives
about 400."""
ROUNDS = 4
"""Measurements before a ratio over the limit counts: a busy neighbour can slow one of them."""


def _parse(text: str) -> None:
    assert isinstance(parse_tool_calls(text), ParsedReply)


@pytest.mark.slow
@pytest.mark.timeout(150)  # a net for quadratic parsers (hours on 1 MB); the assertion is the ratio
@pytest.mark.parametrize("shape", list(SHAPES))
def test_parsing_time_grows_linearly_with_the_reply(shape: str) -> None:
    small_text, big_text = SHAPES[shape](SMALL), SHAPES[shape](BIG)
    small = big = float("inf")
    batch = BIG // SMALL  # a sample of small parses lasts as long as one big parse
    for _ in range(ROUNDS):  # rounds alternate the sizes, so both meet the same neighbours' load
        small = min(small, cpu_seconds(_parse, small_text, 0.3, 3, batch))
        big = min(big, cpu_seconds(_parse, big_text, 0.3, 3))
        if big <= LIMIT * small:
            break
    assert big <= LIMIT * small, (
        f"{shape}: 1 MB took {big:.3f} s, {big / small:.1f} times the {small:.4f} s of 50 KB "
        f"(linear: {LINEAR:g})"
    )
