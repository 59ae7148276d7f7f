"""``audit_log``: what happened in the organization. Admins only (the migration grants
``reports.export_audit_log`` to the admin role alone)."""

from jobrunner.reports.registry import Column, Kind, Report, register_report

REPORT = register_report(
    Report(
        name="audit_log",
        title="Audit log",
        statement="report_audit_log",
        columns=(
            Column("id", "Entry ID", Kind.INTEGER),
            Column("created_at", "Time (UTC)", Kind.TIMESTAMP),
            Column("actor", "Actor"),
            Column("user_id", "User"),
            Column("action", "Action"),
            Column("job_id", "Job"),
            Column("details", "Details"),
        ),
        filters=("dateFrom", "dateTo"),
        permission="reports.export_audit_log",
    )
)
