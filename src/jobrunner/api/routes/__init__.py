"""Every router the app serves. A feature adds its own with one line here."""

from jobrunner.api.routes import health, integrations, jobs, uploads

ROUTERS = [
    health.router,
    jobs.router,
    integrations.router,
    uploads.router,
]
