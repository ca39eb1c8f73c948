"""A touch terminal under QEMU for the boot test: a minimal Debian 12 built from Debian's packages, booted with
software emulation (TCG: these machines' nested KVM hangs after the kernel loads), its screen read by QMP's
screendump, commands run in it through the QEMU guest agent (the harness's own channel, as an engineer's
serial cable would be: no shell on the terminal's screen), the bundle on a FAT USB stick, the card in a USB
CCID reader fed by the project's emulator (hardware/vscard.py).

The base image is cached outside the checkout, keyed by what it is made of (CACHE, below).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

CACHE = Path(os.environ.get("SS_KIOSK_TEST_CACHE", "/var/tmp/ss-kiosk-test"))
SUITE, MIRROR = "bookworm", "http://deb.debian.org/debian"
# What a field engineer's "minimal Debian 12" has, and the harness's agent; the bundle brings everything else.
BASE_PACKAGES = ["linux-image-amd64", "systemd-sysv", "udev", "initramfs-tools", "qemu-guest-agent"]
HOSTNAME = "hall-0101-01"
# Made in the image by mmdebstrap: the terminal's name, its root on the virtio disk, no login on the serial
# line the kernel logs to (the harness talks to the guest agent, not to a shell).
CUSTOMIZE = [
    f'echo {HOSTNAME} > "$1/etc/hostname"',
    'echo "/dev/vda / ext4 defaults 0 1" > "$1/etc/fstab"',
    'ln -sf /dev/null "$1/etc/systemd/system/serial-getty@ttyS0.service"',
    'mkdir -p "$1/media/usb"',
    # The hall's network by DHCP, as the Debian installer would have set it up (here systemd-networkd's).
    "printf '[Match]\\nName=en*\\n\\n[Network]\\nDHCP=yes\\n' > \"$1/etc/systemd/network/20-hall.network\"",
    'systemctl --root="$1" enable systemd-networkd.service',
]
IMAGE_SIZE = "6G"
SCREEN = (1920, 1080)  # DESIGN §1's terminal (at 1280×800 the bottom bar fell off the screen)


def quietly(*command: str | Path, log: Path, timeout: float = 1800) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(map(str, command))}\n")
        out.flush()
        done = subprocess.run(list(map(str, command)), stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"{command[0]} failed (exit {done.returncode}); see {log}")


# -- the bundle -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bundle:
    path: Path  # the folder the engineer copies: OUT/ss-kiosk
    version: str

    def deb(self, package: str) -> Path:
        return self.path / "repo" / "pool" / f"{package}_{self.version}_amd64.deb"


def built_bundle(out: Path, source: Path = ROOT, version: str | None = None) -> Bundle:
    """deploy/bundle run as an engineer runs it, signed with the test session's own key (kept in CACHE)."""
    command = [str(source / "deploy" / "bundle"), str(out), "--key-dir", str(CACHE / "bundle-key")]
    if version:
        command += ["--version", version]
    done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"deploy/bundle failed:\n{done.stdout}\n{done.stderr}")
    bundle = out / "ss-kiosk"
    return Bundle(bundle, (bundle / "VERSION").read_text().strip())


def previous_bundle(out: Path, source: Path = ROOT) -> Bundle | None:
    """The bundle of the commit before this one, as the hall would have it installed: built once per commit
    (kept in CACHE) from a clone of that commit. None when that commit had no deploy/bundle."""
    parent = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD~1"], capture_output=True, text=True)
    if parent.returncode != 0:
        return None
    commit = parent.stdout.strip()
    kept = CACHE / f"bundle-{commit[:12]}"
    if not (kept / "ss-kiosk" / "VERSION").exists():
        clone = out / "previous-source"
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(source), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "-q", "--detach", commit], check=True)
        if not (clone / "deploy" / "bundle").exists():
            return None
        shutil.rmtree(kept, ignore_errors=True)
        built_bundle(kept, clone)
    return Bundle(kept / "ss-kiosk", (kept / "ss-kiosk" / "VERSION").read_text().strip())


def fat_stick(bundle: Bundle, image: Path, *more: Path, label: str = "SSKIOSK") -> Path:
    """A FAT-formatted USB stick image holding the bundle folder (and any file in `more`), as an engineer's.
    In the terminal: /dev/disk/by-label/LABEL (the order of two sticks on the bus is not fixed)."""
    size_mb = int(sum(f.stat().st_size for f in bundle.path.rglob("*") if f.is_file()) / 2**20 * 1.1) + 64
    subprocess.run(["truncate", "-s", f"{size_mb}M", str(image)], check=True)
    subprocess.run(["mkfs.vfat", "-F", "32", "-n", label, str(image)], check=True, capture_output=True)
    subprocess.run(["mcopy", "-s", "-i", str(image), str(bundle.path), *map(str, more), "::/"], check=True,
                   capture_output=True)  # fmt: skip
    return image


# -- the terminal's disk ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BaseImage:
    disk: Path  # raw ext4, never written: each boot test runs on a qcow2 overlay of it
    kernel: Path
    initrd: Path


def base_image(log: Path) -> BaseImage:
    """Debian 12 minbase with a kernel, made once per recipe (about a minute and a half) and kept in CACHE."""
    recipe = json.dumps([SUITE, MIRROR, BASE_PACKAGES, CUSTOMIZE, IMAGE_SIZE], sort_keys=True)
    folder = CACHE / f"terminal-{hashlib.sha256(recipe.encode()).hexdigest()[:16]}"
    image = BaseImage(folder / "disk.raw", folder / "vmlinuz", folder / "initrd.img")
    if (folder / "ready").exists():
        return image
    shutil.rmtree(folder, ignore_errors=True)
    root = folder / "root"
    root.parent.mkdir(parents=True)
    hooks = [arg for line in CUSTOMIZE for arg in ("--customize-hook", line)]
    quietly("mmdebstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}", *hooks, SUITE, root,
            MIRROR, log=log)  # fmt: skip
    shutil.copy2(next((root / "boot").glob("vmlinuz-*")), image.kernel)
    shutil.copy2(next((root / "boot").glob("initrd.img-*")), image.initrd)
    quietly("mkfs.ext4", "-q", "-L", "terminal", "-d", root, image.disk, IMAGE_SIZE, log=log)
    shutil.rmtree(root)
    (folder / "recipe.json").write_text(recipe)
    (folder / "ready").touch()
    return image


# -- talking to QEMU ------------------------------------------------------------------------------------------
class JsonLine:
    """QMP and the guest agent both speak JSON objects over a Unix socket."""

    def __init__(self, path: Path, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.buffer = b""
        self.decoder = json.JSONDecoder()

    def send(self, message: dict) -> None:
        self.sock.sendall(json.dumps(message).encode() + b"\n")

    def receive(self, timeout: float) -> dict:
        self.sock.settimeout(timeout)
        while True:
            text = self.buffer.decode(errors="replace").lstrip()
            if text:
                with contextlib.suppress(json.JSONDecodeError):
                    message, end = self.decoder.raw_decode(text)
                    self.buffer = text[end:].encode()
                    return message
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("QEMU closed the socket")
            self.buffer += chunk

    def close(self) -> None:
        self.sock.close()


class Qmp(JsonLine):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.receive(30)  # the greeting
        self.command("qmp_capabilities")

    def command(self, name: str, **arguments: object) -> object:
        self.send({"execute": name, "arguments": arguments} if arguments else {"execute": name})
        while True:
            answer = self.receive(60)
            if "return" in answer:
                return answer["return"]
            if "error" in answer:
                raise RuntimeError(f"QMP {name}: {answer['error']}")


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


class GuestAgent:
    """qemu-guest-agent in the terminal: runs a command as root and returns what it printed."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.line: JsonLine | None = None

    def ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.line is None:
                    self.line = JsonLine(self.path, timeout=5)
                token = int(time.monotonic() * 1000) % 2**31
                self.line.send({"execute": "guest-sync", "arguments": {"id": token}})
                while self.line.receive(3).get("return") != token:
                    pass
                return True
            except (OSError, ConnectionError, TimeoutError):
                if self.line is not None:
                    self.line.close()
                self.line = None
                time.sleep(1)
        return False

    def run(self, command: str, timeout: float = 300) -> Ran:
        assert self.line is not None, "ready() first"
        self.line.send({"execute": "guest-exec",
                        "arguments": {"path": "/bin/sh", "arg": ["-c", command], "capture-output": True}})  # fmt: skip
        pid = self.line.receive(60)["return"]["pid"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.line.send({"execute": "guest-exec-status", "arguments": {"pid": pid}})
            status = self.line.receive(60)["return"]
            if status["exited"]:
                out, err = (base64.b64decode(status.get(key, "")).decode(errors="replace") for key in ("out-data",
                            "err-data"))  # fmt: skip
                return Ran(status.get("exitcode", -1), out, err)
            time.sleep(0.2)
        raise TimeoutError(f"in the terminal, still running after {timeout} s: {command}")

    def must(self, command: str, timeout: float = 300) -> str:
        ran = self.run(command, timeout)
        if ran.code != 0:
            raise AssertionError(f"in the terminal: {command}\nexit {ran.code}\n{ran.out}\n{ran.err}")
        return ran.out


class Terminal:
    """One power-on of the terminal: QEMU started, stopped by power_off() (or kill on the way out)."""

    def __init__(self, base: BaseImage, disk: Path, folder: Path, sticks: tuple[Path, ...] = (),
                 hall_port: int | None = None, ccid_port: int | None = None) -> None:  # fmt: skip
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("qmp.sock", "qga.sock"):
            (folder / name).unlink(missing_ok=True)
        width, height = SCREEN
        command = [
            "qemu-system-x86_64", "-accel", "tcg", "-m", "2048", "-smp", "2", "-no-reboot",
            "-cpu", "max",  # Qt 6 and numpy wheels need x86-64-v2 and more (SSE4.2, AVX): TCG's default qemu64 has not
            "-kernel", str(base.kernel), "-initrd", str(base.initrd),
            "-append", f"root=/dev/vda rw console=ttyS0 quiet video={width}x{height}",
            "-drive", f"file={disk},if=virtio,format=qcow2,cache=unsafe",  # a throwaway disk: no flush to wait for
            # virtio-gpu: wlroots (cage) needs a DRM driver with PRIME, which the plain VGA (bochs-drm) lacks
            "-device", f"virtio-vga,xres={width},yres={height}", "-display", "none",
            "-qmp", f"unix:{folder / 'qmp.sock'},server=on,wait=off",
            "-chardev", f"socket,path={folder / 'qga.sock'},server=on,wait=off,id=qga0",
            "-device", "virtio-serial", "-device", "virtserialport,chardev=qga0,name=org.qemu.guest_agent.0",
            "-serial", f"file:{folder / 'console.log'}", "-device", "qemu-xhci",
            "-device", "usb-tablet",  # a touch screen is an absolute pointer
        ]  # fmt: skip
        # The hall's network: the hall server and nothing else (slirp's restrict: no way out of the VM). One socat
        # a connection: guestfwd to a chardev is one stream for the VM's whole life, and the kiosk opens several.
        if hall_port is None:
            command += ["-nic", "none"]
        else:
            forward = f"guestfwd=tcp:10.0.2.100:8443-cmd:socat - TCP:127.0.0.1:{hall_port}"
            command += ["-nic", f"user,restrict=on,{forward}"]
        for n, image in enumerate(sticks):
            command += ["-drive", f"file={image},if=none,id=stick{n},format=raw",
                        "-device", f"usb-storage,drive=stick{n},removable=on"]  # fmt: skip
        if ccid_port is not None:
            command += ["-device", "usb-ccid", "-chardev", f"socket,id=ccid,host=127.0.0.1,port={ccid_port},"
                        "server=on,wait=off", "-device", "ccid-card-passthru,chardev=ccid"]  # fmt: skip
        self.powered_on = time.monotonic()
        self.qemu = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=(folder / "qemu.log").open("w"))
        self.qmp = Qmp(folder / "qmp.sock")
        self.agent = GuestAgent(folder / "qga.sock")

    def booted(self, timeout: float = 300) -> float:
        """Seconds from power-on until the guest agent answers (systemd is up)."""
        if not self.agent.ready(timeout):
            raise TimeoutError(f"the terminal did not boot in {timeout} s; see {self.folder / 'console.log'}")
        return time.monotonic() - self.powered_on

    def screendump(self, path: Path) -> Path:
        self.qmp.command("screendump", filename=str(path), format="png")
        return path

    def keys(self, *names: str) -> None:
        self.qmp.command("send-key", keys=[{"type": "qcode", "data": name} for name in names])

    def power_off(self, timeout: float = 120) -> None:
        with contextlib.suppress(Exception):
            self.agent.run("systemctl poweroff", timeout=10)
        try:
            self.qemu.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.qemu.poll() is None:
            self.qemu.kill()
            self.qemu.wait(10)


def overlay(base: BaseImage, path: Path) -> Path:
    """A fresh terminal: a copy-on-write disk over the cached base image."""
    path.unlink(missing_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base.disk), "-F", "raw", str(path)],
                   check=True)  # fmt: skip
    return path


def qemu_can_run() -> str | None:
    """Why QEMU cannot boot a terminal here, or None."""
    for tool in ("qemu-system-x86_64", "qemu-img", "mmdebstrap", "mkfs.vfat", "mcopy", "dpkg-deb", "socat"):
        if shutil.which(tool) is None:
            return f"{tool} is missing (./bootstrap installs it)"
    if os.geteuid() != 0:
        return "building the terminal's image (mmdebstrap, mkfs.ext4 -d) needs root"
    return None
