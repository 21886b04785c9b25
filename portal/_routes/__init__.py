"""The portal's routes, one router per group of pages; ``create_app`` includes them all.

- :mod:`.signing_in`: the start page, sign-in (GOV.UK One Login, development), sign-out
- :mod:`.details`: your details, who has your details
- :mod:`.sharing`: share with an authority (choose, preview, confirm), stop sharing
- :mod:`.reporting`: report a new email address or phone number
"""

from portal._routes import details, reporting, sharing, signing_in

ROUTERS = (signing_in.router, details.router, sharing.router, reporting.router)

__all__ = ["ROUTERS"]
