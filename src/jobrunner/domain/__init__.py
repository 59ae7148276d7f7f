"""What jobrunner knows about jobs, independent of HTTP and of the database driver."""
