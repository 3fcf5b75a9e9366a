"""atomic_path: a writer that needs a file name either replaces the target whole or not at all."""

from __future__ import annotations

import pytest

from gis_desk.errors import WriterError
from gis_desk.io.atomic import atomic_path


def test_success_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "pack.pdf"
    target.write_text("old")
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".pdf" and not tmp.exists()
        tmp.write_text("new")
    assert target.read_text() == "new" and sorted(p.name for p in tmp_path.iterdir()) == ["pack.pdf"]


def test_a_failing_writer_keeps_the_old_file(tmp_path):
    target = tmp_path / "pack.pdf"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("renderer crashed")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["pack.pdf"]


def test_an_unwritable_place_is_a_writer_error_naming_the_file(tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("x")
    with pytest.raises(WriterError, match="the brochure") as caught:
        with atomic_path(blocker / "b.pdf", "the brochure"):
            pass
    assert caught.value.path.endswith("b.pdf")
