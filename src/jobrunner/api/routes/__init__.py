"""Every router of the HTTP API. A feature adds its own with one line here; the app
factory (``jobrunner/app.py``) includes them, with the page's (``jobrunner/web``)."""

from jobrunner.api.routes import admin, docs, downloads, flow, health, integrations, jobs, me, uploads

ROUTERS = [
    health.router,
    jobs.router,
    downloads.router,
    me.router,
    integrations.router,
    uploads.router,
    admin.router,
    flow.router,
    docs.router,
]
