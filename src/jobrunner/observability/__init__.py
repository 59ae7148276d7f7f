"""What operators see of a running jobrunner: structured logs (``logs``), Prometheus
metrics of this process (``metrics``), the cluster-wide snapshot the API serves
(``snapshot``) and a worker's own metrics port (``server``). See docs/operations.md."""
