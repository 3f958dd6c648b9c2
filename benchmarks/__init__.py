"""Benchmark scripts (python -m benchmarks.NAME); not tests."""
