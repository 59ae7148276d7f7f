"""Every router of the HTTP API. A feature adds its own with one line here; the app
factory (``jobrunner/app.py``) includes them, with the page's (``jobrunner/web``)."""

from jobrunner.api.routes import (
    admin,
    docs,
    downloads,
    events,
    flow,
    health,
    integrations,
    jobs,
    me,
    schedules,
    templates,
    uploads,
    webhooks,
)

ROUTERS = [
    health.router,
    # Before jobs: /v1/jobs/events is a stream, not a job id.
    events.router,
    jobs.router,
    templates.router,
    downloads.router,
    me.router,
    integrations.router,
    webhooks.router,
    uploads.router,
    admin.router,
    schedules.router,
    flow.router,
    docs.router,
]
