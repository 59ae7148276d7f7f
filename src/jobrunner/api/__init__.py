"""The HTTP API: its routes, dependencies and problem details. ``jobrunner.app.create_app``
builds the app from them (with the page of ``jobrunner.web``)."""
