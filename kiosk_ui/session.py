"""The citizen's session at the kiosk runs out: after a while without a touch it asks "Masih di sini?" with a
countdown and a button to stay, then goes back to the start (``kiosk_ui.kiosk.KioskWindow`` says what
the start is: every screen emptied, the language back to Bahasa Indonesia)."""

from __future__ import annotations

import math

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QVBoxLayout, QWidget

from kiosk_ui.qtcompat import emit
from kiosk_ui.widgets import button, label, panel

translate = QCoreApplication.translate


class SessionTimer(QObject):
    """Runs out ``idle_s`` after the last :meth:`touch`. With ``warn=True`` the last ``warn_s`` are a
    countdown: ``warning(seconds_left)`` once a second, ``resumed`` if a touch ends it; then ``expired``."""

    warning = Signal(int)
    resumed = Signal()
    expired = Signal()

    def __init__(self, idle_s: float, warn_s: float, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.idle_s, self.warn_s = idle_s, min(warn_s, idle_s)
        self.warn = True
        self.left = 0
        self._quiet = QTimer(self)
        self._quiet.setSingleShot(True)
        self._quiet.timeout.connect(self._countdown)
        steps = max(1, math.ceil(self.warn_s))
        self._tick = QTimer(self)
        self._tick.setInterval(max(1, round(self.warn_s * 1000 / steps)))
        self._tick.timeout.connect(self._step)

    @property
    def active(self) -> bool:
        return self._quiet.isActive() or self._tick.isActive()

    @property
    def warning_shown(self) -> bool:
        return self._tick.isActive()

    def start(self, warn: bool = True) -> None:
        """(Re)start from now; ``warn=False`` runs out quietly (no countdown)."""
        self.stop()
        self.warn = warn
        quiet_s = self.idle_s - self.warn_s if warn else self.idle_s
        self._quiet.setInterval(max(1, round(quiet_s * 1000)))
        self._quiet.start()

    def stop(self) -> None:
        was_warning = self.warning_shown
        self._quiet.stop()
        self._tick.stop()
        if was_warning:
            emit(self.resumed)

    def touch(self) -> None:
        """Someone is there: start again (ends a countdown)."""
        if self.active:
            self.start(self.warn)

    def _countdown(self) -> None:
        if not self.warn or self.warn_s <= 0:
            emit(self.expired)
            return
        self.left = max(1, math.ceil(self.warn_s))
        self._tick.start()
        emit(self.warning, self.left)

    def _step(self) -> None:
        self.left -= 1
        if self.left > 0:
            emit(self.warning, self.left)
            return
        self._tick.stop()
        emit(self.expired)


class StillHereOverlay(QFrame):
    """ "Masih di sini?" over the whole window: the seconds left and a large button to stay."""

    stay = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("stillHere")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#stillHere { background: rgba(17, 24, 39, 170); }")
        self.seconds = 0
        column = QVBoxLayout(self)
        column.addStretch(1)
        box, inner = panel()
        box.setMaximumWidth(760)
        inner.setContentsMargins(40, 30, 40, 30)
        inner.setSpacing(18)
        self.title = label("", "huge", align=Qt.AlignmentFlag.AlignCenter)
        self.title.setObjectName("stillHereTitle")
        self.title.setStyleSheet("font-size: 36pt; font-weight: 800;")
        inner.addWidget(self.title)
        self.countdown = label("", "subtitle", align=Qt.AlignmentFlag.AlignCenter)
        self.countdown.setObjectName("stillHereCountdown")
        self.countdown.setStyleSheet("font-size: 22pt;")
        inner.addWidget(self.countdown)
        self.stay_button = button("", "primary", lambda: emit(self.stay), "stay")
        self.stay_button.setMinimumHeight(90)
        self.stay_button.setStyleSheet("font-size: 24pt; font-weight: 800;")
        inner.addWidget(self.stay_button)
        column.addWidget(box, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addStretch(1)
        self.owner = parent
        parent.installEventFilter(self)
        self.hide()
        self.retranslate()

    def show_countdown(self, seconds: int) -> None:
        self.seconds = seconds
        self.retranslate()
        if not self.isVisible():
            self.setGeometry(self.owner.rect())
            self.show()
            self.raise_()

    def retranslate(self) -> None:
        self.title.setText(translate("StillHere", "Masih di sini?"))
        self.countdown.setText(
            translate("StillHere", "Layar kembali ke awal dalam {n} detik.").format(n=self.seconds)
        )
        self.stay_button.setText(translate("StillHere", "Ya, saya masih di sini"))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.owner and event.type() == QEvent.Type.Resize:
            self.setGeometry(self.owner.rect())
        return False
