"""Shared pytest fixtures (plugin ``gis_desk`` via the pytest11 entry point).

Every test gets its own user configuration folder so settings, recent projects and plugin
state never leak between tests or into the developer's real configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DIR = REPO_ROOT / "sample_surveys"
SHARED_REAL_DATA = REPO_ROOT.parent / "shared" / "data" / "real"


@pytest.fixture(autouse=True)
def _isolated_user_config(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("GIS_DESK_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))


@pytest.fixture
def real_data() -> Path:
    """The shared folder of real public data (skips when it is not beside the checkout)."""
    if not SHARED_REAL_DATA.exists():
        pytest.skip(f"shared real data not found at {SHARED_REAL_DATA}")
    return SHARED_REAL_DATA


@pytest.fixture
def session():
    """A Session with every installed plugin and an empty project."""
    from gis_desk.session import Session

    return Session()


@pytest.fixture(autouse=True)
def _no_blocking_message_boxes(request, monkeypatch):
    """A modal message box nobody answers would hang the suite until the timeout: record it,
    return at once, and fail the test (tests that expect boxes use ``dialogs``)."""
    shown: list[str] = []

    def unexpected_exec(box: QMessageBox) -> int:
        shown.append(f"{box.windowTitle()}: {box.text()} {box.informativeText()} {box.detailedText()}")
        return 0

    def unexpected_question(parent, title, text, *args, **kwargs):
        shown.append(f"{title}: {text}")
        return QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QMessageBox, "exec", unexpected_exec)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(unexpected_question))
    yield
    if shown and "dialogs" not in request.fixturenames:
        pytest.fail("unexpected modal message box(es): " + " | ".join(shown))


@dataclass
class DialogRecorder:
    boxes: list[dict] = field(default_factory=list)
    answer: QMessageBox.StandardButton = QMessageBox.StandardButton.Discard
    click: str | None = None  # text of the custom button to press in the next box

    def texts(self) -> list[str]:
        return [f"{b['title']}: {b['text']} {b['informative']}" for b in self.boxes]


@pytest.fixture
def dialogs(monkeypatch) -> "DialogRecorder":
    rec = DialogRecorder()

    def fake_exec(box: QMessageBox) -> int:
        rec.boxes.append({"title": box.windowTitle(), "text": box.text(), "informative": box.informativeText(),
                          "details": box.detailedText()})
        if rec.click:
            for button in box.buttons():
                if button.text() == rec.click:
                    button.click()
                    break
        return 0

    def fake_question(parent, title, text, *args, **kwargs):
        rec.boxes.append({"title": title, "text": text, "informative": "", "details": ""})
        return rec.answer

    monkeypatch.setattr(QMessageBox, "exec", fake_exec)
    monkeypatch.setattr(QMessageBox, "question", staticmethod(fake_question))
    return rec
