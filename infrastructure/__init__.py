"""Adapters for the application's ports: PostgreSQL, Redis, Taskiq, hashing, tokens, settings, embedded servers."""
