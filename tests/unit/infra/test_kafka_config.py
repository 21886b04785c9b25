"""The local broker's configuration, the version pin and the missing-tool messages."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from xml.etree import ElementTree

import pytest

from infra import kafka, kafka_config, kafka_jars
from infra.errors import MissingToolError, PortInUseError
from rps.settings import Settings


def _properties(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines() if line)


def test_version_is_pinned_once_in_the_pom_and_is_kafka_4() -> None:
    """The Kafka version comes from the POM's kafka.version property and is a 4.x release."""
    assert re.fullmatch(r"4\.\d+\.\d+", kafka_jars.kafka_version())
    pom = kafka_jars.POM.read_text()
    assert pom.count(f"<kafka.version>{kafka_jars.kafka_version()}</kafka.version>") == 1


def test_server_properties_are_kraft_combined_mode_on_loopback(tmp_path: Path) -> None:
    """One node is broker and controller, listens only on 127.0.0.1, with one-replica internals."""
    settings = Settings(state_dir=tmp_path, kafka_port=19092, kafka_controller_port=19093)
    paths = kafka_config.KafkaPaths.of(settings)
    props = _properties(kafka_config.server_properties(settings, paths))
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["offsets.topic.replication.factor"] == "1"
    assert props["transaction.state.log.replication.factor"] == "1"
    assert props["auto.create.topics.enable"] == "false"
    assert props["log.dirs"] == str(tmp_path / "kafka" / "data")


def test_the_retention_check_interval_is_kafkas_default_unless_set(tmp_path: Path) -> None:
    """Records past retention are looked for every 5 minutes (Kafka's default), or as often as
    RPS_KAFKA_RETENTION_CHECK_MS says; the first look is never later than the interval."""
    paths = kafka_config.KafkaPaths.of(Settings(state_dir=tmp_path))
    props = _properties(kafka_config.server_properties(Settings(state_dir=tmp_path), paths))
    assert props["log.retention.check.interval.ms"] == "300000"
    assert props["log.initial.task.delay.ms"] == "30000"
    quick = Settings(state_dir=tmp_path, kafka_retention_check_ms=1000)
    props = _properties(kafka_config.server_properties(quick, paths))
    assert props["log.retention.check.interval.ms"] == "1000"
    assert props["log.initial.task.delay.ms"] == "1000"


def test_log4j_configuration_is_valid_xml_writing_to_the_state_dir(tmp_path: Path) -> None:
    """The broker's log goes to kafka.log in the state directory, whatever the path holds."""
    odd = tmp_path / 'a "quoted" & <odd> dir'
    paths = kafka_config.KafkaPaths.of(Settings(state_dir=odd))
    root = ElementTree.fromstring(kafka_config.log4j_config(paths))
    rolling = root.find("Appenders/RollingFile")
    assert rolling is not None
    assert rolling.get("fileName") == str(odd / "kafka" / "kafka.log")


def test_cluster_ids_are_kafka_shaped() -> None:
    """Generated cluster ids are 22 URL-safe base64 characters that never start with '-'."""
    ids = {kafka_config.cluster_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", i) for i in ids)


@pytest.mark.parametrize(
    ("servers", "local"),
    [
        ("127.0.0.1:9092", True),
        ("localhost:9092", True),
        ("127.0.0.1:9092,localhost:9092", True),
        ("127.0.0.1:9093", False),
        ("kafka.council.example:9092", False),
        ("127.0.0.1:9092,broker-2:9092", False),
    ],
)
def test_only_the_configured_loopback_port_counts_as_the_local_broker(
    servers: str, local: bool
) -> None:
    """`up` runs Kafka only when bootstrap servers name 127.0.0.1/localhost at RPS_KAFKA_PORT."""
    assert kafka.is_local(Settings(bootstrap_servers=servers, kafka_port=9092)) is local


def test_missing_java_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Without java on PATH the error names the package to install."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match=r"openjdk-17-jre-headless"):
        kafka_jars.check_java()


def test_missing_maven_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With no cached classpath and no mvn on PATH the error names the maven package."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match=r"apt-get install -y maven"):
        kafka_jars.resolve_classpath(Settings(cache_dir=tmp_path / "cache"))


def test_a_foreign_process_on_the_port_is_refused(tmp_path: Path) -> None:
    """`launch` refuses to start when another process already listens on the Kafka port."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        settings = Settings(state_dir=tmp_path, kafka_port=port, kafka_controller_port=port)
        with pytest.raises(PortInUseError, match="RPS_KAFKA_PORT"):
            kafka.launch(settings)


def test_heap_setting_is_validated() -> None:
    """RPS_KAFKA_HEAP must be a JVM size such as 1g or 768m."""
    assert Settings(kafka_heap="768m").kafka_heap == "768m"
    with pytest.raises(ValueError, match="kafka_heap"):
        Settings(kafka_heap="lots")


def test_first_broker_writes_a_class_archive_and_later_ones_map_it(tmp_path: Path) -> None:
    """Without an archive the JVM is told to write one beside the classpath; with one, to use it."""
    settings = Settings(cache_dir=tmp_path)
    flags, partial = kafka_jars.sharing_flags(settings)
    archive = kafka_jars.class_archive(settings)
    assert partial is not None
    assert partial.parent == archive.parent
    assert flags == [f"-XX:ArchiveClassesAtExit={partial}"]
    archive.parent.mkdir(parents=True)
    archive.write_bytes(b"archive")
    assert kafka_jars.sharing_flags(settings) == ([f"-XX:SharedArchiveFile={archive}"], None)
