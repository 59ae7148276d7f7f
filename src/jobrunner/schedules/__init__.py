"""Recurring schedules: a cron expression in a time zone that creates a job at each fire
time (docs/workflows.md)."""
