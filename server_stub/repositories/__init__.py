"""Server repositories (no FastAPI imports here)."""
