"""`python -m durastate.cli` runs the `durastate` command."""

from durastate.cli.main import main

main()
