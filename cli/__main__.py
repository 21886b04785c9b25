"""``python -m cli`` runs the ``rps`` command line."""

from cli.main import main

main()
