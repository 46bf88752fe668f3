"""The kiosk's voice: tones on card detected / done / refused, and each screen's main message spoken in the
chosen language, from the large "Dengarkan" button in the header or, in headphone mode
(``VoiceMode.AUTO``), on every screen by itself.

What is said is decided in ``terminal.speech`` (from what the screen shows and the entitlements); the
sound goes to ``backend.audio`` (``terminal.audio.AudioOut``), which only queues: nothing here waits for
sound, so speech never holds up a card event or a paint. Pressing "Dengarkan" also speaks the next
screens of the same holder's session by themselves (a citizen who needed it once needs it on the next
screen too); the session's end stops the sound and forgets that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QSize, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QHBoxLayout, QPushButton

from kiosk_ui import texts
from kiosk_ui.theme import icon
from kiosk_ui.widgets import button
from terminal.audio import AudioOut, Sound, VoiceMode
from terminal.speech import Script, detail_script, lang_of, lines_script, services_script

if TYPE_CHECKING:
    from kiosk_ui.kiosk import KioskWindow

translate = QCoreApplication.translate

#: The tone a screen change plays: (screen shown, or (previous screen, screen shown)).
TONES: dict[str | tuple[str, str], Sound] = {
    "reading": Sound.CARD,
    ("reading", "services"): Sound.DONE,
    ("pin", "personal"): Sound.DONE,
    "refusal": Sound.REFUSED,
}


class KioskVoice(QObject):
    """Tones and speech for one :class:`~kiosk_ui.kiosk.KioskWindow`."""

    def __init__(self, window: KioskWindow, audio: AudioOut, mode: VoiceMode) -> None:
        super().__init__(window)
        self.window, self.audio, self.mode = window, audio, mode
        #: "Dengarkan" was pressed in this holder's session: every next screen speaks too.
        self.session_auto = False
        self._last = ""
        self.button: QPushButton | None = None
        if mode is not VoiceMode.OFF:
            self.button = self._header_button()
        window.screen_changed.connect(self._screen_changed)
        self.retranslate()

    def _header_button(self) -> QPushButton:
        """ "Dengarkan", large, in the header before the language switch (the same place on every
        screen)."""
        b = button("", "lang", self.listen, "listen")
        b.setIcon(QIcon(icon("speaker", 40)))
        b.setIconSize(QSize(40, 40))
        b.setStyleSheet("font-size: 20pt; font-weight: 800; min-height: 60px; padding: 2px 18px;")
        header = self.window.header
        row = header.layout()
        if isinstance(row, QHBoxLayout):
            row.insertWidget(row.indexOf(header.lang_id), b)
            row.insertSpacing(row.indexOf(header.lang_id), 28)
        return b

    @property
    def auto(self) -> bool:
        """Speak every screen by itself (headphone mode, or after "Dengarkan" in this session)."""
        return self.mode is VoiceMode.AUTO or (self.session_auto and self.mode is not VoiceMode.OFF)

    @property
    def private(self) -> bool:
        """Only the holder hears it (headphones): the name may be said."""
        return self.mode is VoiceMode.AUTO

    # -- what the window calls -----------------------------------------------------------------------------
    def listen(self) -> None:
        """The "Dengarkan" button: say this screen now, and the next ones of this session."""
        if self.mode is VoiceMode.OFF:
            return
        self.session_auto = True
        self.speak()

    def speak(self) -> None:
        self.audio.say(self.script())

    def tone(self, sound: Sound) -> None:
        if self.mode is not VoiceMode.OFF:
            self.audio.tone(sound)

    def refused(self) -> None:
        """A refusal without a screen change (a wrong PIN): the tone, and the message when speaking."""
        self.tone(Sound.REFUSED)
        if self.auto:
            self._speak_soon()

    def still_here(self) -> None:
        """The "Masih di sini?" countdown began."""
        if self.auto:
            self._speak_soon()

    def end_session(self) -> None:
        """The holder's session is over: silence now, and "Dengarkan" applies to the next holder anew."""
        self.session_auto = False
        self.audio.stop()

    def retranslate(self) -> None:
        if self.button is not None:
            self.button.setText(translate("Voice", "Dengarkan"))

    def close(self) -> None:
        self.audio.close()

    # -- screens ---------------------------------------------------------------------------------------------
    def _screen_changed(self, name: str) -> None:
        previous, self._last = self._last, name
        sound = TONES.get((previous, name)) or TONES.get(name)
        if sound is not None:
            self.tone(sound)
        if self.auto and name != "reading":  # a moment long: its tone says it, the next screen speaks
            self._speak_soon()

    def _speak_soon(self) -> None:
        # after this event (the paint first); the text is built then, from what is shown then
        QTimer.singleShot(0, self.speak)

    def script(self) -> Script:
        """What to say for what the window shows now (in the language it shows)."""
        w = self.window
        lang = lang_of(texts.language())
        if w.still_here.isVisible():
            o = w.still_here
            return lines_script(lang, o.title.text(), o.countdown.text(), o.stay_button.text())
        name = w.current
        if name == "services" and w.tap is not None:
            holder = w.tap.holder_name if self.private else None
            return services_script(lang, w.tap.entitlements, name=holder, hint=w.services.hint.text())
        if name == "detail" and w.detail.entitlement is not None:
            return detail_script(lang, w.detail.entitlement, w.detail.how.text())
        if name == "refusal":
            r = w.refusal
            return lines_script(lang, r.title.text(), r.body.text(), r.next_step.text())
        if name == "pin":  # never the digits: only what the screen asks and says
            p = w.pin
            return lines_script(lang, p.title.text(), p.subtitle.text(), p.message.text())
        if name == "personal":  # the details stay on the screen: only that they are there
            return lines_script(lang, w.personal.privacy.text())
        if name == "reading":
            return lines_script(lang, w.reading.title.text(), w.reading.subtitle.text())
        a = w.attract
        ok = a.readers is not None and a.readers.service_up and bool(a.readers.readers)
        return lines_script(
            lang, a.title.text(), a.subtitle.text(), "" if ok else a.reader_text.text(), a.hint.text()
        )
