"""The offline bundle (deploy/bundle): what a field engineer copies to a USB stick.

Built once for the session (its wheels and Debian packages cached between runs); installed and booted in a
terminal under QEMU by tests/test_terminal_boot.py. Here: what apt itself makes of the stick, and what the
kiosk's package holds, without a terminal.
"""

from __future__ import annotations

import runpy
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.deploy.terminal import Bundle

pytestmark = pytest.mark.timeout(1800)  # a first build (the `bundle` fixture) downloads wheels and Debian packages


def apt_reads(stick: Path, keyring: Path, state: Path) -> subprocess.CompletedProcess[str]:
    """`apt-get update` on the stick's repository alone, as the bundle's install runs it (its own lists)."""
    (state / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (state / "sources.list").write_text(f"deb [signed-by={keyring}] file:{stick}/repo ./\n")
    options = ["-o", f"Dir::Etc::SourceList={state / 'sources.list'}", "-o", "Dir::Etc::SourceParts=/nonexistent",
               "-o", f"Dir::State::Lists={state / 'lists'}", "-o", f"Dir::Cache={state}",
               "-o", f"Dir::State::status={state / 'status'}", "-o", "Debug::NoLocking=true",
               "-o", "APT::Sandbox::User=root"]  # fmt: skip  (pytest's folders are closed to _apt)
    (state / "status").touch()
    return subprocess.run(["apt-get", *options, "update"], capture_output=True, text=True, timeout=120)


def copy_of(bundle: Bundle, where: Path) -> Path:
    stick = where / "ss-kiosk"
    shutil.copytree(bundle.path, stick)
    return stick


def test_apt_trusts_the_stick_signed_by_the_bundles_key(bundle: Bundle, tmp_path: Path) -> None:
    done = apt_reads(bundle.path, bundle.path / "ss-kiosk-bundle.gpg", tmp_path)
    assert done.returncode == 0 and "W:" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_apt_refuses_a_stick_whose_package_list_was_changed(bundle: Bundle, tmp_path: Path) -> None:
    stick = copy_of(bundle, tmp_path)
    packages = stick / "repo" / "Packages"
    packages.write_text(packages.read_text().replace("Package: ss-kiosk\n", "Package: ss-kiosk\nX-Evil: 1\n", 1))
    (stick / "repo" / "Packages.gz").unlink()
    done = apt_reads(stick, bundle.path / "ss-kiosk-bundle.gpg", tmp_path / "state")
    assert done.returncode != 0 or "Hash Sum mismatch" in done.stderr + done.stdout, done.stdout + done.stderr


def test_apt_refuses_a_stick_signed_by_another_key(bundle: Bundle, tmp_path: Path) -> None:
    """The terminal keeps the first key it trusted: a stick re-signed by someone else does not install."""
    stick = copy_of(bundle, tmp_path)
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--yes", "--passphrase", ""]
    subprocess.run([*gpg, "--quick-gen-key", "someone else <x@example>", "ed25519", "sign", "never"], check=True,
                   capture_output=True)  # fmt: skip
    (stick / "repo" / "InRelease").unlink()
    subprocess.run([*gpg, "--clearsign", "--output", str(stick / "repo" / "InRelease"),
                    str(stick / "repo" / "Release")], check=True, capture_output=True)  # fmt: skip
    (stick / "repo" / "Release.gpg").unlink()
    done = apt_reads(stick, bundle.path / "ss-kiosk-bundle.gpg", tmp_path / "state")
    said = done.stdout + done.stderr
    assert done.returncode != 0 or "NO_PUBKEY" in said or "not signed" in said, said
    assert "NO_PUBKEY" in said or "signature" in said.lower(), said


def test_the_kiosk_package_runs_at_its_prefix_and_holds_what_the_screen_needs(bundle: Bundle) -> None:
    deb = bundle.deb("ss-kiosk")
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    site = "./opt/ss-kiosk/venv/lib/python3.11/site-packages/"
    for needed in ("assets/pictures/insert-card.svg", "assets/persons/wang-ming.json", "ui/i18n/ss_kiosk_en.qm",
                   "ui/keyboard.qml", "kiosk/__pycache__/cli.cpython-311.pyc", "PySide6/QtWidgets.abi3.so"):
        assert site + needed in listing, needed
    assert "./lib/systemd/system/ss-kiosk.service" in listing
    assert "./usr/lib/systemd/logind.conf.d/ss-kiosk.conf" in listing
    assert "QtWebEngine" not in listing, "the parts of Qt the kiosk never loads are left out"
    assert "/etc/ss-kiosk" not in listing and "/var/lib/ss-kiosk" not in listing, "the hall's data is no package's"
    field = subprocess.run(["dpkg-deb", "-f", str(deb), "Version", "Depends"], capture_output=True, text=True).stdout
    assert f"Version: {bundle.version}" in field and "cage" in field and "pcscd" in field and "python3.11" in field
    hall = subprocess.run(["dpkg-deb", "-c", str(bundle.deb("ss-kiosk-hall"))], capture_output=True, text=True).stdout
    assert "/opt/ss-kiosk-hall/venv/lib/python3.11/site-packages/kiosk/hall/server.py" in hall
    assert "PySide6" not in hall, "a hall server has no screen: no Qt"


def test_the_stick_has_every_package_the_kiosk_needs(bundle: Bundle) -> None:
    """Every Depends of the two packages, and theirs, is in the stick's repository (a closed network has no mirror).
    A minimal Debian (mmdebstrap minbase) has nothing more to offer than its own essential packages."""
    names = {deb.name.split("_")[0] for deb in (bundle.path / "repo" / "pool").glob("*.deb")}
    for needed in ("cage", "seatd", "xwayland", "pcscd", "libccid", "espeak-ng", "fonts-noto-cjk", "python3.11",
                   "cups-client"):  # fmt: skip
        assert needed in names, needed
    assert not [p for p in bundle.path.rglob("*") if p.is_symlink()], "a FAT-formatted stick holds no symlinks"


def test_every_library_of_the_kiosks_qt_finds_the_others_it_needs(bundle: Bundle, tmp_path: Path) -> None:
    """What the bundle leaves out of Qt is not something a part it keeps loads (the keyboard's QML plugin links
    QtMultimedia, for one): no Qt library or plugin kept needs one of the Qt libraries left out. (A few plugins
    of the wheel need parts the wheel itself lacks, such as libQt6WaylandCompositor: not ours to judge.)"""
    unused = runpy.run_path(str(ROOT / "deploy" / "bundle"))["QT_UNUSED"]
    subprocess.run(["dpkg-deb", "-x", str(bundle.deb("ss-kiosk")), str(tmp_path)], check=True)
    qt = tmp_path / "opt/ss-kiosk/venv/lib/python3.11/site-packages/PySide6"
    missing = set()
    for library in [*qt.glob("*.so"), *(qt / "Qt").rglob("*.so*")]:
        if library.is_symlink() or not library.is_file():
            continue
        done = subprocess.run(["ldd", str(library)], capture_output=True, text=True)
        missing |= {f"{library.relative_to(qt)}: {line.split()[0]}" for line in done.stdout.splitlines()
                    if "not found" in line and any(f"libQt6{name}" in line for name in unused)}  # fmt: skip
    assert not missing, sorted(missing)[:20]
    interpreter = tmp_path / "opt/ss-kiosk/venv/bin/python3.11"
    assert str(interpreter.readlink()) == "/usr/bin/python3.11", "the package depends on python3.11, not python3"
