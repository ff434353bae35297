"""The Lambda layer: what layers/podium/Makefile builds (the target `sam build` runs) and the lock it installs.

The tests build the layer's own code with the Makefile's layer-code target, which needs no network. Its other half
installs the locked wheels from PyPI, so here it is checked by what it would run (`make -n`) and by the lock
itself; `make layer` and bench/layer.py build the whole layer.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from podium_cli.template import load_template

ROOT = Path(__file__).resolve().parents[2]
LAYER = ROOT / "layers" / "podium"
MAKEFILE = LAYER / "Makefile"
LOCK = LAYER / "requirements-lock.txt"
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def make(target: str, artifacts: Path, *flags: str) -> str:
    program = shutil.which("make")
    assert program, "make is not on the PATH"
    done = subprocess.run(
        [program, "-s", *flags, "-f", str(MAKEFILE), target, f"ARTIFACTS_DIR={artifacts}", f"PYTHON={sys.executable}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every requirement in the lock (a requirement and its `--hash` lines)."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in LOCK.read_text().splitlines():
        if match := PIN.match(line):
            name = canonicalize_name(match.group(1))
            pins[name] = (match.group(2), [])
        elif line.strip().startswith("--hash=sha256:") and name:
            pins[name][1].append(line.strip().removeprefix("--hash=sha256:").rstrip(" \\"))
    return pins


def test_the_layer_holds_the_podium_package_and_nothing_of_the_cli_the_local_stack_or_the_checkout(tmp_path):
    make("layer-code", tmp_path)

    built = files_under(tmp_path)
    source = {
        f"python/podium/{f}"
        for f in files_under(LAYER / "podium")
        if "__pycache__" not in f.split("/") and not f.endswith(".pyc")
    }
    assert built == source
    assert "python/podium/__init__.py" in built
    assert "python/podium/adapters/templates/base.html" in built and "python/podium/py.typed" in built
    for path in built:
        parts = path.split("/")
        assert parts[:2] == ["python", "podium"], path
        assert "podium_cli" not in parts and "local" not in parts and "tests" not in parts, path
        assert "__pycache__" not in parts and not path.endswith(".pyc"), path
        assert parts[-1] not in ("cli.py", "__main__.py", "entry_points.txt", "conftest.py"), path


def test_the_layer_installs_the_lock_with_hashes_as_wheels_for_the_functions_runtime_and_architecture(tmp_path):
    template = load_template(ROOT / "template.yaml")
    layer = template["Resources"]["PodiumLayer"]
    runtime = template["Globals"]["Function"]["Runtime"]
    (architecture,) = template["Globals"]["Function"]["Architectures"]
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    assert layer["Properties"]["CompatibleArchitectures"] == [architecture] == [layer["Metadata"]["BuildArchitecture"]]
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert (ROOT / layer["Properties"]["ContentUri"]).resolve() == LAYER

    commands = make("build-PodiumLayer", tmp_path, "-n").replace("\\\n", " ")
    (pip,) = (shlex.split(line) for line in commands.splitlines() if " -m pip install " in line)
    platform = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}[architecture]
    assert pip[pip.index("--platform") + 1] == platform
    assert f"python{pip[pip.index('--python-version') + 1]}" == runtime
    assert {"--require-hashes", "--no-deps", "--only-binary=:all:", "--no-compile"} <= set(pip)
    assert pip[pip.index("-r") + 1] == str(LOCK)
    assert pip[pip.index("--target") + 1] == f"{tmp_path}/python"


def test_the_lock_pins_every_package_it_ships_with_hashes_within_the_declared_ranges():
    pins = locked()
    declared = [
        Requirement(line)
        for line in (LAYER / "requirements.txt").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    for requirement in declared:
        name = canonicalize_name(requirement.name)
        assert name in pins, name
        assert requirement.specifier.contains(pins[name][0]), (name, pins[name][0], str(requirement.specifier))
    assert {"botocore", "markupsafe", "jmespath"} <= pins.keys()
    assert "podium" not in pins
    for name, (_, hashes) in pins.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), name
    # Nothing but pins, hashes and comments: an unpinned line would fail --require-hashes only at deploy time.
    for line in LOCK.read_text().splitlines():
        stripped = line.strip()
        assert not stripped or stripped.startswith(("#", "--hash=")) or PIN.match(line), line


def test_the_tests_run_the_versions_the_layer_ships():
    """make install constrains the environment to the lock, so what passes here is what Lambda runs."""
    drifted = {
        name: (version, metadata.version(name))
        for name, (version, _) in locked().items()
        if metadata.version(name) != version
    }
    assert drifted == {}
