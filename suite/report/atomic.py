"""Replacing an output directory as a whole: readers see the old tree or the complete new one."""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path


def _link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    try:
        os.link(source, target, follow_symlinks=False)
    except OSError:
        shutil.copy2(source, target, follow_symlinks=False)


def _carry(entry: Path, target: Path) -> None:
    """Bring an entry into the new tree without copying data where the file system allows hard links."""
    if entry.is_dir() and not entry.is_symlink():
        shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
    else:
        _link_or_copy(entry, target)


@contextlib.contextmanager
def replaced_directory(out_dir: str | os.PathLike, owned: Iterable[str]) -> Iterator[Path]:
    """Yield an empty staging directory; when the block succeeds it becomes `out_dir`.

    Entries of an existing `out_dir` whose names are not in `owned` (for instance the results.json
    a report is made from) are carried into the new tree. The staging directory is a sibling of
    `out_dir`, so the switch is two renames on one file system; if the block raises, `out_dir` is
    left exactly as it was and the staging directory is removed.
    """
    out_dir = Path(out_dir).absolute()
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    owned = set(owned)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp", dir=parent))
    try:
        yield stage
        mode_source = out_dir if out_dir.is_dir() else parent
        os.chmod(stage, stat.S_IMODE(os.stat(mode_source).st_mode))
        if not out_dir.exists():
            os.rename(stage, out_dir)
            return
        for entry in out_dir.iterdir():
            if entry.name not in owned and not (stage / entry.name).exists():
                _carry(entry, stage / entry.name)
        old = parent / f".{out_dir.name}.{uuid.uuid4().hex}.old"
        os.rename(out_dir, old)
        try:
            os.rename(stage, out_dir)
        except BaseException:
            os.rename(old, out_dir)
            raise
        shutil.rmtree(old, ignore_errors=True)
    finally:
        if stage.exists():
            shutil.rmtree(stage, ignore_errors=True)
