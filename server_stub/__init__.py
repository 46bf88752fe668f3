"""Central registration server (FastAPI + SQLAlchemy 2)."""
