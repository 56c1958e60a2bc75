"""Benchmarks: run by hand or by ``make bench``, never collected by pytest (one short run is)."""
