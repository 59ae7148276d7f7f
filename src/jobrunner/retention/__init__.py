"""Retention: deleting what an organization no longer needs (the ``cleanup`` job type)."""
