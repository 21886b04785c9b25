"""The hub's stream processing: one consented profile per resident, kept by the worker.

Four rooms, each importing only the rooms above it in this list:

- ``streams.core``: the domain, pure: the merge rule, the consent gate and the
  decisions over plain data (standard library only, no I/O).
- ``streams.worker``: the worker's logic behind typed ports, without Faust or
  aiokafka: the processor, the outbox rule and the stages that keep it, backfill,
  expiry, the subscription directory, the codec and the stored profile format.
- ``streams.runtime``: the Faust runtime: the app and its wiring, and every
  workaround for Faust and aiokafka (listed with their canaries in its README).
- ``streams.operators``: operator tools over the topics: replay and rebuild,
  audit-chain verification and a resident's history.
"""
