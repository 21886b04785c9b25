"""What can go wrong when publishing, in one hierarchy.

::

    ProducerError                 root of everything raised by ``producers``
    ├── EventRejected             the event must not be sent; resending it unchanged never helps
    │   ├── InvalidInput          it is not a valid event (each field and rule in ``errors``)
    │   ├── SourceMismatch        its ``source`` is not the publisher's own
    │   └── NotPublishable        an outbound or audit type: publishers never write those topics
    ├── PublishFailed             no acknowledgement in time: transient, resend with the same id
    ├── InvalidSource             not ``urn:gss:<GSS code>`` or ``urn:org:<name>``
    ├── InvalidSigningKey         the configured signing key cannot be loaded (the file or the id)
    └── UnknownCredential         no publisher credential has that id

Messages name the field and the rule, never a personal value, so they are safe
to print, log and return to an HTTP caller.
"""

from __future__ import annotations

from schemas import FieldError, describe


class ProducerError(Exception):
    """Root of every error the publishing SDK, CLI and gateway raise."""


class EventRejected(ProducerError):
    """An event that is refused before it reaches Kafka."""

    def __init__(self, errors: tuple[FieldError, ...], event_id: str | None = None) -> None:
        self.errors = errors
        self.event_id = event_id
        super().__init__(describe(errors))


class InvalidInput(EventRejected):
    """The input is not a valid event."""


class SourceMismatch(EventRejected):
    """The event's ``source`` is not the publisher's own."""

    def __init__(self, event_id: str | None = None) -> None:
        super().__init__(
            (FieldError("source", "own_source", "source must be the publisher's own source"),),
            event_id,
        )


class NotPublishable(EventRejected):
    """An event type a publisher may not send (outbound deliveries, audit records)."""

    def __init__(self, event_id: str | None = None) -> None:
        super().__init__(
            (
                FieldError(
                    "type",
                    "publishable",
                    "type must be an inbound attribute, consent or subscription event",
                ),
            ),
            event_id,
        )


class PublishFailed(ProducerError):
    """Kafka did not acknowledge the event in time. It may still arrive; resend with the same id."""


class InvalidSource(ProducerError):
    """The source does not name a publisher."""

    def __init__(self) -> None:
        super().__init__("source must be urn:gss:<9-character GSS code> or urn:org:<name>")


class UnknownCredential(ProducerError):
    """No credential has the given id."""

    def __init__(self) -> None:
        super().__init__("id must name an existing publisher credential")


class InvalidSigningKey(ProducerError):
    """``RPS_SIGNING_KEY_FILE`` / ``RPS_SIGNING_KEY_ID`` do not give a usable Ed25519 key."""
