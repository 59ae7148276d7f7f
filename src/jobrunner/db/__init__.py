"""Everything that talks to PostgreSQL: the pool, the embedded server, the named SQL
statements, the repositories and the migrations."""
