"""The demo's webhook authority: a receiver on loopback, fed by ``rps webhooks run``.

The demo registers the receiver's URL as the authority's endpoint (in the
demo's own hub database), runs the webhook process until it has caught up,
prints what the receiver applied (ids, types, attributes and versions, never a
value), and checks it against what the pure core says the authority may hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from rich.console import Console
from rich.table import Table

from consumers import webhooks
from consumers.webhooks.receiver import Receiver, serving
from rps.settings import Settings


async def deliver_by_webhook(
    console: Console,
    demo: Settings,
    authority: str,
    title: str,
    workdir: Path,
    expected: Mapping[tuple[str, str], str],
) -> bool:
    """Run the webhook path for ``authority``; True when the receiver holds what it may."""
    hub = demo.model_copy(
        update={"database_url": SecretStr(f"sqlite+aiosqlite:///{workdir / 'hub.db'}")}
    )
    receiver = Receiver(secret="")
    async with serving(receiver) as url:
        endpoint = await webhooks.add_endpoint(hub, authority, url)
        receiver.secret = endpoint.secret
        stats = await webhooks.run(hub, authority, stop_at_end=True)
    table = Table(title=f"{title} received by webhook (signed, verified)", title_justify="left")
    for column in ("webhook-id", "type", "local reference", "attributes", "claim"):
        table.add_column(column)
    for webhook_id, event in receiver.applied.items():
        data = event["data"]
        attributes = data.get("attributes") or [data.get("attribute")]
        claim = (data.get("provenance") or {}).get("claim_id") or ""
        table.add_row(
            f"{webhook_id[:8]}….{webhook_id.rpartition('.')[2]}",
            event["type"].removeprefix("uk.gov.rps.").removesuffix(".v1"),
            data["local_reference"],
            ", ".join(str(a) for a in attributes),
            claim[:8],
        )
    console.print(table)
    console.print(
        f"{stats.applied} deliveries applied and acknowledged, {stats.refused} refused, "
        f"{stats.retries} retries; signatures refused: {receiver.refused_signatures}"
    )
    return receiver.refused_signatures == 0 and held(receiver.events()) == dict(expected)


def held(events: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    """What a receiver holds after applying ``events`` in order: claim id by (reference,
    attribute); ``consent.ended`` deletes."""
    out: dict[tuple[str, str], str] = {}
    for event in events:
        data = event["data"]
        if event["type"] == "uk.gov.rps.consent.ended.v1":
            for attribute in data["attributes"]:
                out.pop((data["local_reference"], attribute), None)
        elif data.get("provenance"):
            out[(data["local_reference"], data["attribute"])] = data["provenance"]["claim_id"]
        else:
            out.pop((data["local_reference"], data["attribute"]), None)
    return out
