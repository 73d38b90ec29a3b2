"""ibfast benchmarks (pytest-benchmark); a package so its conftest never shadows tests/conftest."""
