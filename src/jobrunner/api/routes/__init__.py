"""Every router the app serves. A feature adds its own with one line here."""

from jobrunner.api.routes import docs, downloads, health, integrations, jobs, uploads
from jobrunner.web import me
from jobrunner.web import routes as web

ROUTERS = [
    health.router,
    jobs.router,
    downloads.router,
    me.router,
    web.router,
    integrations.router,
    uploads.router,
    docs.router,
]

# Served only when the service runs with demo data (settings.demo_mode).
DEMO_ROUTERS = [web.demo_router]
