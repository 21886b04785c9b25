"""Operator tools over the topics, run while workers run or instead of them.

``replay`` rebuilds resident state from the inbound topics and compares it with
the live table (and, refused while a worker runs, writes it back);
``auditing`` verifies the audit chain and gathers one resident's decisions.
Neither imports Faust; both read Kafka with aiokafka.
"""
