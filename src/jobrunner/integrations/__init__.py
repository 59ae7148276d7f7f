"""External endpoints an organization configures (webhook notifications, sync targets):
their storage, and signed delivery of JSON to them."""
