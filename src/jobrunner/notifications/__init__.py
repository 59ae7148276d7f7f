"""Notifications: built-in templates (Jinja2, HTML autoescaped) and email over SMTP."""
