"""Benchmarks: the pytest plugin, measurement, timing passes and the results file."""
