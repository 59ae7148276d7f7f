"""jobrunner's own processors, one module per job type (imported by ``plugins.load_imports``)."""
