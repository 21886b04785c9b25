"""``python -m rps`` runs the ``rps`` command line."""

from rps.cli.main import main

main()
