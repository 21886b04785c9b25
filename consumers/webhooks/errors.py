"""The webhooks' errors, one root for the package.

::

    WebhookError
    ├── InsecureEndpoint     an endpoint URL that is not https:// (http:// only on loopback)
    ├── UnknownEndpoint      no endpoint is registered for the authority
    └── EndpointExists       the authority has one already (rotate or remove it)

What an endpoint answers is not an error: ``consumers.webhooks._answers`` turns
it into a verdict (applied, refused, retry).
"""

from __future__ import annotations


class WebhookError(Exception):
    """Root of the webhooks' errors; the message names the argument and the rule."""

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.rule = rule


class InsecureEndpoint(WebhookError):
    def __init__(self) -> None:
        super().__init__("URL", "must be https:// (http:// only on a loopback address)")


class UnknownEndpoint(WebhookError):
    def __init__(self) -> None:
        super().__init__("AUTHORITY", "has no webhook endpoint registered")


class EndpointExists(WebhookError):
    def __init__(self) -> None:
        super().__init__("AUTHORITY", "has an endpoint already: rotate its secret or remove it")
