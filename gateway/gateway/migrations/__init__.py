"""The gateway's database schema, as Alembic migrations applied at start-up."""
