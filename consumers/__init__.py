"""Consumers of the hub's topics: the reference authority subscriber and the hub's read model.

- ``consumers.subscriber``: ``rps subscribe AUTHORITY --db URL`` keeps an
  authority's own database in step with its delivery topic.
- ``consumers.readmodel``: ``rps readmodel`` keeps the hub's read model of every
  resident's profile, consents and decision history.

Errors::

    ConsumerError                 root: catch this to catch everything below
    ├── ConfigurationError        bad command-line input or settings (field and rule named)
    ├── PoisonRecord              a record that can never be applied: dead-lettered, then committed
    └── TransientFailure          the database stayed away through every retry: the process ends
"""

from consumers.errors import ConfigurationError, ConsumerError, PoisonRecord, TransientFailure

__all__ = ["ConfigurationError", "ConsumerError", "PoisonRecord", "TransientFailure"]
