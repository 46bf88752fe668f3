"""Shared test helpers (test worlds, fixtures, fake ports, child processes)."""
