"""Storage: SQLAlchemy models, the async engine and the migrations that build the schema."""
