"""Languages: Bahasa Indonesia (the source language of every string) and English (a Qt translation).

Qt's own translation system: strings are marked with ``translate("Context", "teks")``
(``QCoreApplication.translate``); ``pyside6-lupdate`` (shipped with PySide6-Essentials) extracts them
into ``translations/khbs_en.ts``, a translator fills that file in (Qt Linguist, or any editor: it is
XML), and ``pyside6-lrelease`` compiles it to ``khbs_en.qm``, which a ``QTranslator`` loads at run
time. Both files are committed; ``python -m kiosk_ui.i18n`` redoes both steps after strings change,
and a test fails when the committed ``.qm`` is stale or a string has no English translation.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, QTranslator, Signal

from kiosk_ui.qtcompat import emit

HERE = Path(__file__).parent
TS = HERE / "translations" / "khbs_en.ts"
QM = HERE / "translations" / "khbs_en.qm"
LANGUAGES = ("id", "en")


def QT_TRANSLATE_NOOP(context: str, source: str) -> str:
    """Mark ``source`` for translation in ``context``; translate it later with ``translate(context, ...)``.

    A typed stand-in for PySide6's own (typed as returning ``object``); this file is not scanned.
    """
    return source


def _tool(name: str) -> str:
    found = Path(sys.executable).with_name(name)
    if found.exists():
        return str(found)
    which = shutil.which(name)
    if which is None:
        raise FileNotFoundError(f"{name} not found (it ships with PySide6-Essentials)")
    return which


def sources() -> list[Path]:
    return sorted(p for p in HERE.glob("*.py") if p.name not in {"i18n.py"})


def lupdate(ts: Path = TS) -> None:
    """Extract the marked strings into ``ts`` (existing translations are kept)."""
    ts.parent.mkdir(parents=True, exist_ok=True)
    cmd = [_tool("pyside6-lupdate"), *map(str, sources()), "-no-obsolete", "-locations", "none"]
    subprocess.run([*cmd, "-source-language", "id", "-target-language", "en", "-ts", str(ts)], check=True)


def lrelease(ts: Path = TS, qm: Path = QM) -> None:
    subprocess.run([_tool("pyside6-lrelease"), str(ts), "-qm", str(qm)], check=True, capture_output=True)


class Language(QObject):
    """The current language; switching installs or removes the English QTranslator."""

    changed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.current = "id"
        self._translator = QTranslator(self)
        self._loaded = False

    def _load(self) -> bool:
        if not self._loaded:
            path = QM
            if not path.exists():  # e.g. a checkout without the compiled file: compile it now
                path = Path(tempfile.mkdtemp(prefix="khbs-qm-")) / QM.name
                try:
                    lrelease(TS, path)
                except (OSError, subprocess.CalledProcessError):
                    return False
            self._loaded = self._translator.load(str(path))
        return self._loaded

    def set(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"language {lang!r}: one of {LANGUAGES}")
        if lang == self.current:
            return
        app = QCoreApplication.instance()
        if lang == "en" and self._load() and app is not None:
            app.installTranslator(self._translator)
        elif app is not None:
            app.removeTranslator(self._translator)
        self.current = lang
        emit(self.changed, lang)

    def toggle(self) -> None:
        self.set("en" if self.current == "id" else "id")


if __name__ == "__main__":
    lupdate()
    lrelease()
    print(f"updated {TS.relative_to(HERE.parent)} and {QM.relative_to(HERE.parent)}")
