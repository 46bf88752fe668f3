"""Helpers shared by the receipt/printer tests, the golden-file generator and benchmarks.receipt."""
