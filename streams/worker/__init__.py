"""The worker's logic, behind typed ports (``ports``), with no Faust and no aiokafka.

- ``processor``: one input record in, one ``Decision`` out (what to record, what to send).
- ``outbox``: the outbox rule, written once; ``stages`` and ``batches`` carry it out
  (record, then send, then ack).
- ``backfill``, ``expiry``: re-evaluations asked for when a subscription widens or a
  consent runs out.
- ``directory``: the subscription directory every worker holds.
- ``codec``, ``stored``: wire bytes to core values and back; the stored profile format.
- ``audit_chain``: the tamper-evident chain the stages link audit records into.
- ``errors``: the worker's exceptions.
"""
