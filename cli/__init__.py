"""The ``rps`` command line: one entry point, one module per group of sub-commands."""
