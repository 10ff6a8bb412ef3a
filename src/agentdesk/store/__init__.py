"""Storage: the SQLAlchemy schema, Alembic migrations, and the local store written through one writer thread."""
