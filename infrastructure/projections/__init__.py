"""Projections: read tables kept from the event log."""
