"""The database: SQLAlchemy models, engines per process, Alembic migrations."""
