"""The processes `taskflow` runs: the API server, worker, projector, scheduler, and what keeps them running."""
