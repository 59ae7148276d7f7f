"""jobrunner: background jobs for web products on PostgreSQL."""

__version__ = "0.1.0"
