"""``delivery.applied``, built one way for every delivery path.

The reference subscriber, the webhook process and the gateway's pull feed all
acknowledge with this function, so the hub sees the same event from each: the
id is derived from the authority and the decision id, so a resend after a
crash, or an acknowledgement sent twice, carries the same id and counts once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Final

from schemas.ids import source_of_authority
from schemas.outbound import DeliveryApplied
from schemas.types import DELIVERY_APPLIED

ACK_NAMESPACE: Final = uuid.UUID("5f1d7c1e-7a53-4c39-9a57-6a4f0c6b2e41")


def delivery_applied(
    authority: str,
    decision_id: str,
    subject: str,
    local_reference: str,
    applied_at: datetime,
    now: datetime,
    status: str = "applied",
) -> DeliveryApplied:
    """``authority``'s acknowledgement of decision ``decision_id``.

    ``status`` is ``applied``, or ``conflict`` when the delivery's local reference
    is bound to another resident at that authority and it was kept aside.
    """
    return DeliveryApplied.model_validate(
        {
            "specversion": "1.0",
            "id": str(uuid.uuid5(ACK_NAMESPACE, f"{authority}/{decision_id}")),
            "source": source_of_authority(authority),
            "type": DELIVERY_APPLIED,
            "subject": subject,
            "time": now,
            "data": {
                "authority": authority,
                "decision_id": decision_id,
                "local_reference": local_reference,
                "applied_at": applied_at,
                "status": status,
            },
        }
    )
