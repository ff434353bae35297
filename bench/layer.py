"""The Lambda layer's size: built as `sam build` builds it (`make layer`: the hash-checked lock's wheels for
python3.13 arm64 from PyPI, the podium package, bytecode where Python 3.13 is at hand), then zipped as SAM zips it
(deflate). Prints the whole layer, unzipped and zipped, next to each package in it, against Lambda's limits.

A package's share is the files its wheel installed (its RECORD) plus the bytecode compiled from them.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import zipfile
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MB = 1024 * 1024
# Lambda: a function and all its layers, unzipped; and a zip uploaded directly.
UNZIPPED_LIMIT, ZIPPED_LIMIT = 250 * MB, 50 * MB


def build(into: Path) -> Path:
    subprocess.run(["make", "-s", "-C", str(ROOT), "layer", f"LAYER_DIR={into}"], check=True)
    return into / "python"


def owners(site: Path) -> tuple[dict[str, str], dict[str, str]]:
    """file (relative to site) -> distribution, and distribution -> version, from each wheel's RECORD."""
    owner: dict[str, str] = {}
    versions: dict[str, str] = {}
    for record in site.glob("*.dist-info/RECORD"):
        name, _, version = record.parent.name.removesuffix(".dist-info").rpartition("-")
        versions[name] = version
        for line in record.read_text().splitlines():
            path = line.split(",")[0]
            owner[Path(path).as_posix()] = name
    return owner, versions


def owner_of(path: str, owner: dict[str, str]) -> str:
    if path.startswith("podium/"):
        return "podium (this repository)"
    parts = path.split("/")
    if "__pycache__" in parts:  # x/__pycache__/y.cpython-313.pyc comes from x/y.py
        i = parts.index("__pycache__")
        path = "/".join([*parts[:i], parts[-1].split(".")[0] + ".py"])
    return owner.get(path, "other")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = build(Path(tmp) / "layer")
        owner, versions = owners(site)
        archive = Path(tmp) / "layer.zip"
        unzipped: dict[str, int] = defaultdict(int)
        zipped: dict[str, int] = defaultdict(int)
        files = sorted(p for p in site.rglob("*") if p.is_file())
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for f in files:
                z.write(f, f.relative_to(site.parent).as_posix())
        with zipfile.ZipFile(archive) as z:
            for info in z.infolist():
                name = owner_of(info.filename.removeprefix("python/"), owner)
                unzipped[name] += info.file_size
                zipped[name] += info.compress_size
            names = z.namelist()
        total_unzipped, total_zipped = sum(unzipped.values()), archive.stat().st_size
        bytecode = any(n.endswith(".pyc") for n in names)
        leaks = [
            n
            for n in names
            if "podium_cli" in n or n.startswith("python/podium/local/") or n.startswith("python/tests/")
        ]

    print(f"Lambda layer (python3.13 arm64, from {ROOT.name}/layers/podium/requirements-lock.txt), {len(names)} files")
    print(f"  bytecode for Python 3.13: {'yes' if bytecode else 'no (no Python 3.13 on this machine)'}")
    print(f"  {'package':<28} {'version':<14} {'unzipped':>10} {'zipped':>10} {'share':>7}")
    for name in sorted(unzipped, key=lambda n: -unzipped[n]):
        version = versions.get(name, "")
        share = unzipped[name] / total_unzipped
        print(f"  {name:<28} {version:<14} {unzipped[name] / MB:>8.2f}MB {zipped[name] / MB:>8.2f}MB {share:>7.1%}")
    print(f"  {'total':<28} {'':<14} {total_unzipped / MB:>8.2f}MB {total_zipped / MB:>8.2f}MB")
    print(
        f"  Lambda's limits: {total_unzipped / UNZIPPED_LIMIT:.0%} of 250 MB unzipped (function and layers together), "
        f"{total_zipped / ZIPPED_LIMIT:.0%} of 50 MB zipped"
    )
    if leaks:
        print(f"  NOT IN THE LAYER, BUT FOUND: {leaks[:5]}")
        sys.exit(1)


if __name__ == "__main__":
    main()
