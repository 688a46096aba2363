"""Redis: the task cache, the per-request access gate and records, rate limits, and the refund job queue."""
