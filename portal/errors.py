"""The portal's errors, one root for the package.

::

    PortalError
    ├── SignInRefused        the sign-in cannot complete (bad state, nonce, token, provider)
    └── PortalUnavailable    the portal cannot start (GOV.UK Frontend missing, bad settings)

Errors name the field and the rule, never a personal value.
"""

from __future__ import annotations


class PortalError(Exception):
    """Root of the portal's errors."""


class SignInRefused(PortalError):
    """The sign-in was refused; ``reason`` is a short code safe to log and show."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"sign-in refused: {reason}")
        self.reason = reason


class PortalUnavailable(PortalError):
    """The portal cannot start; the message says what to do."""
