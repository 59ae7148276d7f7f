"""Every outbound HTTP request of the service goes through this package: which
destinations may be reached (``policy``), what a target URL may look like (``urls``) and
the one guarded client (``client``) that checks the resolved address at connect time."""
