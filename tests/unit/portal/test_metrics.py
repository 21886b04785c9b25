"""The portal counts its requests by route template and status: a resident id in a path never
becomes a label."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tests.unit.portal.conftest import ALICE, Site


def _count(route: str, status: str) -> float:
    labels = {"service": "portal", "route": route, "status": status}
    return REGISTRY.get_sample_value("rps_http_requests_total", labels) or 0.0


async def test_requests_are_counted_by_route_template(site: Site) -> None:
    """A signed-in page view and a refused one are counted under the route's template."""
    route = "/residents/{resident}/your-details"
    before_ok, before_redirect = _count(route, "200"), _count(route, "303")
    assert (await site.client.get(f"/residents/{ALICE}/your-details")).status_code == 303
    signed = await site.sign_in()
    assert (await site.client.get(signed.headers["location"])).status_code == 200
    assert _count(route, "303") == before_redirect + 1
    assert _count(route, "200") == before_ok + 1
    labelled = [
        s for m in REGISTRY.collect() for s in m.samples if ALICE in "".join(s.labels.values())
    ]
    assert labelled == []
