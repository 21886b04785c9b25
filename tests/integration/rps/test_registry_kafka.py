"""The publisher registry on the real broker: register, rotate, revoke, read back, and the CLI."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rps import registry
from rps.settings import Settings
from schemas.registry import Role
from schemas.signing import SigningKey

RPS = str(Path(sys.executable).with_name("rps"))
COUNCIL = "urn:gss:E08000012"


@pytest.fixture
def trust_settings(settings: Settings, tmp_path: Path) -> Settings:
    """The test's settings with keys under a temporary state directory and a 2 s grace."""
    return settings.model_copy(
        update={"state_dir": tmp_path / "state", "registry_grace_seconds": 2.0}
    )


async def test_a_registered_source_reads_back_with_its_role_and_keys(
    trust_settings: Settings,
) -> None:
    """add, rotate and revoke are records on the topic; a fresh read gives the same registry."""
    before = dt.datetime.now(dt.UTC)
    first = await registry.register(trust_settings, COUNCIL, Role.LOCAL_AUTHORITY)
    second = await registry.rotate(trust_settings, COUNCIL)
    revoked = await registry.revoke(trust_settings, COUNCIL, first.key_id)

    view = await registry.read_registry(trust_settings)
    assert view.roles == {COUNCIL: Role.LOCAL_AUTHORITY}
    assert set(view.keys) == {first.key_id, second.key_id}
    assert view.keys[first.key_id].revoked_at == revoked.revoked_at
    assert view.keys[second.key_id].revoked_at is None
    assert revoked.revoked_at is not None
    assert revoked.revoked_at >= before + dt.timedelta(seconds=2)
    assert view.keys[second.key_id].added_at >= before + dt.timedelta(seconds=2)
    assert view.as_of is not None
    assert view.as_of >= before
    loaded = SigningKey.from_file(first.path, first.key_id)
    assert view.keys[first.key_id].public_key == loaded.public_key()
    assert first.path.stat().st_mode & 0o777 == 0o600


async def test_a_role_never_changes_and_unknown_keys_cannot_be_revoked(
    trust_settings: Settings,
) -> None:
    """Registering a source again with another role, or revoking a key it lacks, is refused."""
    await registry.register(trust_settings, COUNCIL, Role.LOCAL_AUTHORITY)
    with pytest.raises(registry.RegistryRefused, match="role never changes"):
        await registry.register(trust_settings, COUNCIL, Role.REGISTRAR)
    with pytest.raises(registry.RegistryRefused, match="has no key"):
        await registry.revoke(trust_settings, COUNCIL, f"{COUNCIL}#nope")
    with pytest.raises(registry.RegistryRefused, match="not registered"):
        await registry.rotate(trust_settings, "urn:org:nobody")


def test_the_publishers_commands_manage_the_registry(trust_settings: Settings) -> None:
    """add --role writes a 0600 key and says where; list, revoke and history show the registry."""
    env = {
        **os.environ,
        "RPS_TOPIC_PREFIX": trust_settings.topic_prefix,
        "RPS_BOOTSTRAP_SERVERS": trust_settings.bootstrap_servers,
        "RPS_DATABASE_URL": trust_settings.database_url.get_secret_value(),
        "RPS_STATE_DIR": str(trust_settings.state_dir),
        "RPS_REGISTRY_GRACE_SECONDS": "0",
    }

    def rps(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [RPS, "publishers", *args], env=env, capture_output=True, text=True, timeout=120
        )

    added = rps("add", COUNCIL, "--role", "local_authority")
    assert added.returncode == 0, added.stderr
    lines = dict(line.split(":", 1) for line in added.stdout.splitlines() if ": " in line[:8])
    key_id = lines["key id"].strip()
    assert key_id.startswith(f"{COUNCIL}#")
    path = trust_settings.state_dir / "keys" / f"{key_id.replace(':', '_').replace('#', '_')}.pem"
    assert f"private key written to {path} (mode 0600)" in added.stdout
    assert path.stat().st_mode & 0o777 == 0o600
    assert "key:    rps_" in added.stdout  # the gateway API key, as before

    gateway = rps("add", "urn:org:rps-gateway", "--role", "gateway")
    assert gateway.returncode == 0, gateway.stderr
    assert "key:    rps_" not in gateway.stdout

    listed = rps("list")
    assert listed.returncode == 0, listed.stderr
    assert key_id in listed.stdout
    assert "2 registered source(s), 2 signing key(s)" in listed.stdout
    assert "1 credential(s)" in listed.stdout

    revoked = rps("revoke", COUNCIL, key_id)
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.startswith(f"revoked {key_id}: events stamped from ")
    again = rps("revoke", COUNCIL, key_id)
    assert (again.returncode, again.stderr.strip()) == (2, f"error: {key_id} is already revoked")
    changed_role = rps("add", COUNCIL, "--role", "registrar")
    assert changed_role.returncode == 2
    assert "a role never changes" in changed_role.stderr

    history = rps("history")
    assert history.returncode == 0, history.stderr
    assert f"registered  {COUNCIL} as local_authority by " in history.stdout
    assert f"key valid   {key_id}" in history.stdout
    assert f"key revoked {key_id} by " in history.stdout
    assert rps("list").stdout.count(key_id) == 1
    assert history.stdout.rstrip().endswith("5 change(s)")


async def test_a_follower_reads_on_when_an_event_is_newer_than_its_view(
    trust_settings: Settings,
) -> None:
    """A running view learns of a source registered after it started before judging an event
    stamped after that, and does not read again for events its view already covers."""
    follower = registry.RegistryFollower(trust_settings)
    started = await follower.start()
    try:
        assert started.roles == {}
        issued = await registry.register(trust_settings, COUNCIL, Role.LOCAL_AUTHORITY)
        assert follower.view.roles == {}
        covered = await follower.view_for(started.as_of or dt.datetime.now(dt.UTC))
        assert covered is started  # fresh enough: nothing read
        stamp = issued.valid_from + dt.timedelta(seconds=3)
        view = await follower.view_for(stamp)
        assert view.roles == {COUNCIL: Role.LOCAL_AUTHORITY}
        assert issued.key_id in view.keys
    finally:
        await follower.stop()
