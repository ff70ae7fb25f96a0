"""Benchmarks (``vocwatch bench``): figures printed, never asserted in tests.

Every throughput figure is quoted next to a baseline measured in the same run, since
the machines this runs on are shared and noisy.
"""
