"""Benchmarks: newscrawl's cost against the cheapest way to do the same work, as ratios, in one run.

`make bench` (or `python -m bench`) prints a table and writes data/bench.json. No timing is asserted in the
test suite; tests/test_bench.py only checks that a --quick run produces every key.
"""
