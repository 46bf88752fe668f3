"""Server services (no FastAPI imports here)."""
