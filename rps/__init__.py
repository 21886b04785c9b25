"""The base pieces every process stands on, below everything but ``schemas``.

- ``rps.settings``: the one typed settings object (``RPS_*``).
- ``rps.logs``: structlog, configured once, with the allow-list that keeps personal data out.
- ``rps.reading``, ``rps.producing``: Kafka client helpers (read a topic to its end; the
  producer every part of the hub sends with).

It imports only ``schemas`` and libraries. Topic names live in ``schemas.topics``
(contracts and processes both use them); the command line lives in ``cli``.
"""
