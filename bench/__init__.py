"""Benchmarks (run as scripts: bench/bench_*.py); a package only so that ``bench.support`` imports."""
