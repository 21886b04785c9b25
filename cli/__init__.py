"""The ``rps`` command line, the top of the import map: it may import every other package.

- ``cli.main``: the entry point, which registers each group's commands.
- One module per group of sub-commands: ``infra`` (``infra``, ``topics``), ``schemas``
  (``validate``, ``contracts``), ``streams`` (``worker``, ``demo``), ``producers``
  (``publish``, ``gateway``, ``publishers``), ``consumers`` (``subscribe``, ``holdings``,
  ``readmodel``), ``replay``, ``audit`` and ``portal``; ``common`` sets up settings and
  logging for each.
- ``cli.demo``: the whole story on a laptop (``rps demo``), its story, checks, tables and
  signing in ``cli._demo_*``; ``cli.spawn``: worker processes for the demo, the tests and
  the fault suite.

The command modules import only typer at module level; each command imports what
it uses when it runs, so ``rps --help`` and the light commands start quickly.
"""
