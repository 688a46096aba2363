"""`python -m cli`: the `taskflow` command."""

from cli.main import main

main()
