"""Benchmarks: run ``python benchmarks/token_endpoint.py`` (see README.rst here)."""
