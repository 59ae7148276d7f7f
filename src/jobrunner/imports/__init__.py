"""Bulk CSV imports (the ``data_processing`` job type): datasets and their row checks,
parsing into a spool of validated batches, and idempotent batch writes."""
