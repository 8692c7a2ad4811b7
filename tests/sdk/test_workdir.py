"""Working directories: fresh, empty and private for each execution, recycled when untouched."""

from __future__ import annotations

import os
import stat

from coflux import _workdir as workdir


def test_an_untouched_directory_is_renamed_and_a_used_one_replaced(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    first = workdir.make()
    second = workdir.next_name(first)
    workdir.renew(first, second)
    assert not os.path.exists(first)
    assert os.listdir(second) == []

    (tmp_path / second / "left.txt").write_text("x")
    (tmp_path / second / "sub").mkdir()
    third = workdir.next_name(second)
    workdir.renew(second, third)
    assert not os.path.exists(second)
    assert os.listdir(third) == []
    assert stat.S_IMODE(os.stat(third).st_mode) == 0o700

    os.chmod(third, 0o755)
    fourth = workdir.next_name(third)
    workdir.renew(third, fourth)
    assert stat.S_IMODE(os.stat(fourth).st_mode) == 0o700
    assert sorted(os.listdir(tmp_path)) == [os.path.basename(fourth)]


def test_names_are_unique_and_recognised(tmp_path):
    used = str(tmp_path / "coflux-abc")
    names = {workdir.next_name(used) for _ in range(100)}
    assert len(names) == 100
    assert all(workdir.is_working_directory(name) for name in names)
    assert not workdir.is_working_directory("/home/user")
    assert not workdir.is_working_directory("coflux-relative")
    assert not workdir.is_working_directory(None)


def test_removing_a_directory_that_is_gone_is_not_an_error(tmp_path):
    workdir.remove(str(tmp_path / "coflux-gone"))
    full = tmp_path / "coflux-full"
    (full / "deep").mkdir(parents=True)
    (full / "deep" / "file").write_text("x")
    workdir.remove(str(full))
    assert not full.exists()
