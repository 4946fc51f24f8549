import os
import stat

import pytest

from llama_course.files import atomic_write


def test_atomic_write_replaces_the_file_with_normal_permissions(tmp_path):
    target = tmp_path / "weights.bin"
    atomic_write(target, lambda tmp: open(tmp, "w").write("new"))
    assert target.read_text() == "new"
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    target = tmp_path / "weights.bin"
    target.write_text("old")

    def crash(tmp):
        open(tmp, "w").write("half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, crash)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["weights.bin"]
