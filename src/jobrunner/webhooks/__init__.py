"""Completion webhooks (docs/webhooks.md): each final state of a job with a callback URL
is POSTed, signed in the Standard Webhooks format, from the outbox the database fills in
the same transaction as the state change (migration 0013).

- ``signing``: the Standard Webhooks headers and secrets (``whsec_...``);
- ``keys``: the organization's signing secret, made on first use and sealed at rest;
- ``settings``: the organization's default callback URL and secret rotation (the API);
- ``outcomes``: one attempt's result sorted into delivered / retry / failed, in our words;
- ``dispatcher``: the delivery loop every worker process runs."""
