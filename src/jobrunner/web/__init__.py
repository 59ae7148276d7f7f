"""The people's side of jobrunner: the jobs page (``/``), its static files (``/static``),
the demo sign-in endpoints (demo mode only) and ``GET /v1/me``."""
