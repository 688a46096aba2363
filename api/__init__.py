"""The HTTP API (Litestar) and the `taskflow` command line."""
