"""Export files: their names, their rows in ``export_files``, signed download links,
retention, and the presenter that puts a fresh link into a job's result."""
