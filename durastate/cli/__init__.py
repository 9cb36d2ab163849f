"""The `durastate` command: schema setup and the demo (entry point: `durastate.cli.main`)."""
