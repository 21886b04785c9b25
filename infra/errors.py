"""What can go wrong when fetching, starting and configuring the services.

    InfraError                    the root: anything `infra` refuses or fails to do
    ├── MissingToolError          Java, Maven, apt or PostgreSQL is absent; says what to install
    ├── ServiceError              a service failed to start, stop or answer in time
    │   └── PortInUseError        another process already listens on a port we need
    └── TopicLayoutError          existing topics disagree with the design (partition
                                  counts of co-partitioned topics, clean-up policy)

Every message names the tool, port, setting or topic concerned and never a
personal value or a password.
"""

from __future__ import annotations


class InfraError(Exception):
    """Root of every error raised by `infra`."""


class MissingToolError(InfraError):
    """A program the local services need is not installed."""


class ServiceError(InfraError):
    """A local service did not start, stop or answer."""


class PortInUseError(ServiceError):
    """A port we would listen on is held by a process we did not start."""


class TopicLayoutError(InfraError):
    """Existing topics do not match the layout the design requires."""
