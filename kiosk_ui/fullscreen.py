"""Kiosk mode (``kartu kiosk --fullscreen``): the window is the whole screen and a citizen has no way out.

A production kiosk runs no desktop: a bare X server, or ``cage`` (the Wayland kiosk compositor in
``deploy/systemd/kartu-kiosk.service``). Without a window manager, asking for full screen
(``showFullScreen``) changes nothing, so the window also takes the screen's geometry itself (and again
whenever the screen changes size), without a frame, above every other window. There is no close button,
and a close request (Alt+F4 through a window manager, the compositor closing the toplevel) is refused,
as are Escape and Alt+F4 when they reach the app; systemd stops the app with SIGTERM.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, QRect, Qt
from PySide6.QtGui import QKeyEvent, QScreen
from PySide6.QtWidgets import QApplication, QWidget

#: Window flags of a kiosk window: no frame (so no close button), above other windows.
KIOSK_FLAGS = Qt.WindowType.FramelessWindowHint | Qt.WindowType.WindowStaysOnTopHint


class KioskLock(QObject):
    """Installed on the kiosk window: refuses close requests, Escape and Alt+F4, and keeps the window
    on the whole screen. :meth:`release` lets it close again (tests, an orderly shutdown)."""

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.refused = 0
        self._screen: QScreen | None = None
        window.installEventFilter(self)
        self.follow(window.screen())

    def follow(self, screen: QScreen | None) -> None:
        """Cover ``screen``, now and whenever its geometry changes."""
        if self._screen is not None:
            self._screen.geometryChanged.disconnect(self._cover)
        self._screen = screen
        if screen is not None:
            screen.geometryChanged.connect(self._cover)
            self._cover(screen.geometry())

    def _cover(self, geometry: QRect) -> None:
        self.window.setGeometry(geometry)

    def release(self) -> None:
        self.window.removeEventFilter(self)
        if self._screen is not None:
            self._screen.geometryChanged.disconnect(self._cover)
            self._screen = None

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is not self.window:
            return False
        if event.type() == QEvent.Type.Close:
            event.ignore()
            self.refused += 1
            return True
        if event.type() in (QEvent.Type.KeyPress, QEvent.Type.ShortcutOverride):
            assert isinstance(event, QKeyEvent)
            alt_f4 = event.key() == Qt.Key.Key_F4 and bool(
                event.modifiers() & Qt.KeyboardModifier.AltModifier
            )
            if event.key() == Qt.Key.Key_Escape or alt_f4:
                event.accept()
                return True
        return False


def show_kiosk(window: QWidget) -> KioskLock:
    """Show ``window`` as a kiosk: frameless, on top, full screen with or without a window manager."""
    window.setWindowFlags(window.windowFlags() | KIOSK_FLAGS)
    app = QApplication.instance()
    screen = window.screen() or (app.primaryScreen() if isinstance(app, QApplication) else None)
    if screen is not None:
        window.setGeometry(screen.geometry())
    window.showFullScreen()
    lock = KioskLock(window)
    window.windowHandle().screenChanged.connect(lock.follow)
    window.activateWindow()
    window.raise_()
    return lock
