"""PostgreSQL: the event store, read models, log followers, projections and their rebuild, the audit tree."""
