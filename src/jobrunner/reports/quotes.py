"""``quotes``: every quote of the organization with its customer, money in its currency."""

from jobrunner.reports.registry import Column, Kind, Report, register_report

QUOTE_STATUSES = frozenset({"draft", "sent", "accepted", "rejected", "expired"})

REPORT = register_report(
    Report(
        name="quotes",
        title="Quotes",
        statement="report_quotes",
        columns=(
            Column("quote_number", "Quote Number"),
            Column("customer_name", "Customer"),
            Column("customer_email", "Customer Email"),
            Column("status", "Status"),
            Column("currency", "Currency"),
            Column("subtotal", "Subtotal", Kind.MONEY),
            Column("tax", "Tax", Kind.MONEY),
            Column("total", "Total", Kind.MONEY),
            Column("valid_until", "Valid Until", Kind.DATE),
            Column("created_at", "Created At (UTC)", Kind.TIMESTAMP),
        ),
        filters=("dateFrom", "dateTo", "status"),
        choices={"status": QUOTE_STATUSES},
    )
)
