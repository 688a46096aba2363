"""The `taskflow` command line: a module per command group, each command a thin call through the composition root."""
