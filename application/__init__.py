"""Use cases: command handlers and queries over the ports in `ports.py`. No framework types."""
