"""KHBS benchmarks: run as python -m benchmarks.<name>; each ends with one JSON line."""
