"""Who is calling (JWT) and what they may do (roles and permissions in the database)."""
