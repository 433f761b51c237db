"""Coverage-guided hunt with atheris (libFuzzer) driving the hypothesis fuzzers through `fuzz_one_input`.

    uv pip install atheris            # a wheel for CPython 3.11 on x86_64; not a project dependency
    .venv/bin/python -m tests.fuzz.coverage_guided codec|hub|edge [-max_total_time=600] [libFuzzer flags]

libFuzzer mutates the bytes hypothesis draws its examples from and keeps those that reach new lines of
services/interconnect (instrumented), so a long run explores the codec, the hub's decision and the edge's
status rules far beyond the bounded job of the test session. A failing example is printed by hypothesis and
libFuzzer writes its input as crash-*; add it to tests/interconnect/test_trust.py as a named regression.
"""

from __future__ import annotations

import sys


def main() -> None:
    import atheris

    target = sys.argv.pop(1) if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "hub"
    with atheris.instrument_imports(include=["services.interconnect"]):
        from services.interconnect import broker, edge, edxml, hub  # noqa: F401
    import tests.fuzz.conftest  # noqa: F401  (registers the "fuzz" hypothesis profile, as pytest does)
    if target == "codec":
        from tests.fuzz.test_fuzz_codec import test_parse_peek_and_trace_raise_nothing_but_edxml_errors as test
    elif target == "edge":
        from tests.fuzz.test_fuzz_edge import test_the_edge_takes_a_status_only_from_a_recipient as test
    else:
        from tests.fuzz.test_fuzz_hub import test_the_hub_decides_every_message as test
    atheris.Setup(sys.argv, test.hypothesis.fuzz_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
