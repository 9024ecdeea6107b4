"""Alembic migrations of the decision register, shipped inside the package."""
