"""The worker: claims jobs, runs their processors, reports progress, heartbeats, rescues."""
