"""``customers``: the organization's customers."""

from jobrunner.reports.registry import Column, Kind, Report, register_report

REPORT = register_report(
    Report(
        name="customers",
        title="Customers",
        statement="report_customers",
        columns=(
            Column("id", "Customer ID", Kind.INTEGER),
            Column("name", "Name"),
            Column("email", "Email"),
            Column("country", "Country"),
            Column("created_at", "Created At (UTC)", Kind.TIMESTAMP),
        ),
        filters=("dateFrom", "dateTo"),
    )
)
