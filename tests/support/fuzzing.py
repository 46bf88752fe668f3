"""Hypothesis side of the fuzz targets (``benchmarks.fuzz_targets``): inputs and the one property.

Inputs are random bytes and stacked mutations of the target's seed corpus (the campaign's own
mutator, driven by a drawn seed so that failures replay and shrink). Bounded for CI: each target runs
``Target.examples`` examples, derandomised, without a database and without deadlines.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.fuzz_targets import Target, get, mutate, untyped

_SETTINGS = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


def inputs(target: Target) -> st.SearchStrategy[bytes]:
    corpus = list(target.seeds)
    mutated = st.builds(
        lambda seed, r: mutate(seed, random.Random(r), corpus),
        st.sampled_from(target.seeds),
        st.integers(0, 2**32 - 1),
    )
    return st.one_of(mutated, st.binary(max_size=target.max_size), mutated, st.sampled_from(target.seeds))


def assert_typed(target: Target, data: bytes) -> None:
    exc = untyped(target, data)
    if exc is not None:
        raise AssertionError(
            f"{target.name} raised {type(exc).__name__}: {exc} (typed: "
            f"{', '.join(t.__name__ for t in target.typed) or 'none'}) for input {data.hex() or '(empty)'}"
        ) from exc


def check_parser(name: str) -> None:
    """Run the property for one target: any input parses or raises the target's typed errors."""
    target = get(name)

    @settings(max_examples=target.examples, **_SETTINGS)  # type: ignore[arg-type]
    @given(inputs(target))
    def prop(data: bytes) -> None:
        assert_typed(target, data)

    prop()
