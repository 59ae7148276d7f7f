"""Uploaded CSV files and the rejected-rows files imports produce, on local disk under
``DATA_DIR/uploads`` (kept apart from export storage; the two can share one Storage
interface once both are merged)."""
