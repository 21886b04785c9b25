"""What the local broker runs on: the pinned Kafka version, Java 17+, and the jars Maven fetches.

``infra/pom.xml`` is the one place the Kafka version is spelled. Maven resolves
its runtime classpath once; the list of jars is cached under
``Settings.cache_dir``, so a second start runs no Maven at all. The JVM's
class-data-sharing archive of the broker's classes is kept beside it.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import uuid
from functools import cache
from pathlib import Path
from xml.etree import ElementTree

from infra.errors import MissingToolError, ServiceError
from rps.settings import Settings

POM = Path(__file__).with_name("pom.xml")
_POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@cache
def kafka_version() -> str:
    """The Kafka version pinned in ``infra/pom.xml`` (the one place it is spelled)."""
    root = ElementTree.parse(POM).getroot()
    version = root.findtext("m:properties/m:kafka.version", namespaces=_POM_NS)
    if not version:
        raise ServiceError(f"{POM} has no <kafka.version> property")
    return version.strip()


def check_java() -> str:
    """The path of a Java 17+ runtime, or a MissingToolError saying what to install."""
    java = shutil.which("java")
    advice = (
        f"Kafka {kafka_version()} needs Java 17 or newer: install it, for example "
        "`apt-get install -y openjdk-17-jre-headless`, and make sure `java` is on PATH"
    )
    if java is None:
        raise MissingToolError(f"java not found. {advice}")
    probe = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', probe.stderr + probe.stdout)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0_392" style
        major = int(match.group(2))
    if major < 17:
        raise MissingToolError(f"java at {java} is version {major or 'unknown'}. {advice}")
    return java


def _classpath_file(settings: Settings) -> Path:
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:12]
    return settings.cache_dir.expanduser() / f"kafka-{kafka_version()}" / f"classpath-{digest}.txt"


def class_archive(settings: Settings) -> Path:
    """Where the JVM's class-data-sharing archive of the broker's classes is kept."""
    return _classpath_file(settings).with_name(
        _classpath_file(settings).name.replace("classpath-", "classes-").replace(".txt", ".jsa")
    )


def sharing_flags(settings: Settings) -> tuple[list[str], Path | None]:
    """JVM flags for class-data sharing, and the partial archive this run will write, if any.

    Starting the JVM is most of a warm start's cost. The first broker dumps the
    classes it loaded into an archive when it exits (at `down`); later starts map
    that archive and start markedly faster. A stale or foreign archive is
    ignored by the JVM, which then starts as usual.
    """
    archive = class_archive(settings)
    if archive.is_file():
        return [f"-XX:SharedArchiveFile={archive}"], None
    partial = archive.with_name(f"{archive.name}.{uuid.uuid4().hex[:8]}.partial")
    return [f"-XX:ArchiveClassesAtExit={partial}"], partial


def cached_classpath(settings: Settings) -> list[Path] | None:
    """The cached classpath, when every jar on it is still present."""
    try:
        entries = _classpath_file(settings).read_text().strip().split(":")
    except FileNotFoundError:
        return None
    jars = [Path(entry) for entry in entries if entry]
    return jars if jars and all(jar.is_file() for jar in jars) else None


def resolve_classpath(settings: Settings) -> list[Path]:
    """The broker's runtime classpath: cached, or resolved by Maven (slow the first time)."""
    cached = cached_classpath(settings)
    if cached is not None:
        return cached
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MissingToolError(
            "mvn not found: Maven fetches the Kafka jars from Maven Central. "
            "Install it, for example `apt-get install -y maven`"
        )
    target = _classpath_file(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    command = [
        mvn,
        "-B",
        "-q",
        "-f",
        str(POM),
        "dependency:build-classpath",
        f"-Dmdep.outputFile={partial}",
        "-Dmdep.includeScope=runtime",
    ]
    if settings.maven_repo is not None:
        command.append(f"-Dmaven.repo.local={settings.maven_repo.expanduser()}")
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not partial.is_file():
        output = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise ServiceError(
            f"Maven could not resolve Kafka {kafka_version()} from {POM} "
            f"(exit {result.returncode}). Is Maven Central reachable?\n{output}"
        )
    partial.replace(target)
    jars = cached_classpath(settings)
    if jars is None:
        raise ServiceError(f"Maven wrote a classpath with missing jars: {target}")
    return jars
