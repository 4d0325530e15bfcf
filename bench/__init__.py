"""Benchmarks (make bench): figures and ratios against baselines run in the same process."""
