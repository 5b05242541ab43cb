"""Real full disks and read-only folders for the storage tests: a 1 MiB tmpfs, and a tmpfs remounted read-only.

Mounting needs root (or passwordless ``sudo``, as on GitHub's runners). Where neither
is available the full-disk tests skip, saying so. A read-only folder is a read-only
mount when we are root (root ignores file permissions, so ``chmod`` would prove
nothing) and a ``chmod a-w`` folder otherwise.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
from pathlib import Path
from typing import Iterator

import pytest

DISK_BYTES = 1 << 20


def _privileged() -> list[str] | None:
    """The prefix that runs ``mount`` with the right to mount: none as root, ``sudo -n`` if allowed; None if neither."""
    if os.geteuid() == 0:
        return []
    if shutil.which("sudo") and subprocess.run(["sudo", "-n", "true"], capture_output=True).returncode == 0:
        return ["sudo", "-n"]
    return None


def _run(prefix: list[str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*prefix, *args], capture_output=True, text=True)


def mount_tmpfs(folder: Path, size: int = DISK_BYTES) -> list[str]:
    """Mount a ``size``-byte tmpfs owned by us on ``folder``; skips the test (with the reason) where that is impossible."""
    prefix = _privileged()
    if prefix is None:
        pytest.skip("mounting a small tmpfs needs root or passwordless sudo, and this machine has neither")
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine")
    folder.mkdir(parents=True, exist_ok=True)
    done = _run(prefix, "mount", "-t", "tmpfs", "-o", f"size={size},mode=0700,uid={os.getuid()},gid={os.getgid()}",
                "tmpfs", str(folder))
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip() or done.returncode}")
    return prefix


def unmount(prefix: list[str], folder: Path) -> None:
    done = _run(prefix, "umount", str(folder))
    if done.returncode != 0:
        _run(prefix, "umount", "-l", str(folder))  # lazily, if a file is still open


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB filesystem (tmpfs), unmounted afterwards."""
    folder = tmp_path / "disk"
    prefix = mount_tmpfs(folder)
    try:
        yield folder
    finally:
        unmount(prefix, folder)


def fill(disk: Path, leave: int = 0) -> Path:
    """Fill ``disk`` until fewer than ``leave`` + 4 KiB bytes are free (``leave`` 0: completely full)."""
    filler = disk / "filler.bin"
    block = b"\0" * 4096
    with open(filler, "ab") as out:
        while shutil.disk_usage(disk).free > leave + len(block):
            try:
                out.write(block)
                out.flush()
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
        if leave == 0:  # the last bytes too, one at a time
            for _ in range(len(block)):
                try:
                    out.write(b"\0")
                    out.flush()
                except OSError:
                    break
    return filler


class ReadOnly:
    """A folder that cannot be written to, even by root: a tmpfs remounted read-only (or chmod a-w when not root)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.prefix = _privileged()
        self.mounted = False
        if self.prefix is not None and shutil.which("mount"):
            mount_tmpfs(folder, 16 * DISK_BYTES)
            self.mounted = True
        else:
            folder.mkdir(parents=True, exist_ok=True)

    def seal(self) -> None:
        """Make the folder read-only from now on (write what it must hold first)."""
        if self.mounted:
            done = _run(self.prefix or [], "mount", "-o", "remount,ro", str(self.folder))
            assert done.returncode == 0, done.stderr
        else:
            for path in [self.folder, *self.folder.rglob("*")]:
                path.chmod(path.stat().st_mode & ~0o222)
        probe = self.folder / ".probe"
        with pytest.raises(OSError):
            probe.write_text("x")  # really read-only, whoever we are

    def close(self) -> None:
        if self.mounted:
            unmount(self.prefix or [], self.folder)
        else:
            for path in [self.folder, *self.folder.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)


@pytest.fixture
def read_only_folder(tmp_path: Path) -> Iterator[ReadOnly]:
    folder = ReadOnly(tmp_path / "readonly")
    try:
        yield folder
    finally:
        folder.close()
