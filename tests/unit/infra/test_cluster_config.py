"""The three-broker cluster's layout: ports counted up in twos, one quorum of all three, every
topic replicated three ways with two in sync."""

from __future__ import annotations

from pathlib import Path

from infra import cluster
from rps.settings import Settings


def test_three_nodes_share_one_quorum_on_their_own_ports(tmp_path: Path) -> None:
    """Node n listens on the client and controller ports + 2(n-1), in its own directory, and
    every node names the same three voters, replication factor 3 and min.insync.replicas 2."""
    settings = Settings(state_dir=tmp_path, kafka_port=29092, kafka_controller_port=29093)
    nodes = cluster.nodes(settings, 3)
    assert [(n.id, n.port, n.controller_port) for n in nodes] == [
        (1, 29092, 29093),
        (2, 29094, 29095),
        (3, 29096, 29097),
    ]
    assert len({n.paths.home for n in nodes}) == 3
    assert cluster.bootstrap(settings, 3) == "127.0.0.1:29092,127.0.0.1:29094,127.0.0.1:29096"
    for node in nodes:
        lines = dict(
            line.split("=", 1)
            for line in cluster.node_properties(settings, node, nodes).splitlines()
        )
        assert lines["node.id"] == str(node.id)
        assert lines["controller.quorum.voters"] == (
            "1@127.0.0.1:29093,2@127.0.0.1:29095,3@127.0.0.1:29097"
        )
        assert lines["default.replication.factor"] == "3"
        assert lines["offsets.topic.replication.factor"] == "3"
        assert lines["min.insync.replicas"] == "2"
        assert lines["unclean.leader.election.enable"] == "false"
        assert lines["log.dirs"] == str(node.paths.data)
