"""The window both apps are built on: the citizen kiosk (``kiosk_ui.kiosk``) and the clerk counter
(``kiosk_ui.counter``).

:class:`CardWindow` holds what the two share: the header with the language switch over a stack of named
screens; the reader bridge, the worker jobs and the link to the card; one holder's card at a time, read
off the GUI thread; the holder's PIN (unless the card says it is blocked); any error as a plain-words
refusal; and, when the holder's session ends, nothing of the holder left on any screen. Each app adds
its own screens and flows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from kiosk_ui import texts
from kiosk_ui.backend import Backend
from kiosk_ui.i18n import Language
from kiosk_ui.presenting import Refusal, RefusalInfo, pin_tries_left, refusal_for_error
from kiosk_ui.qtcompat import emit
from kiosk_ui.screens import PinScreen, ReadingScreen, RefusalScreen
from kiosk_ui.widgets import Header, Screen
from kiosk_ui.worker import CardLink, Jobs, ReaderBridge
from terminal.card.session import KhbsSession
from terminal.readers import CardInserted, CardRemoved, ReadersChanged
from terminal.tap import TapResult

T = TypeVar("T")


class CardWindow(QWidget):
    """Header over a stack of named screens, the readers and the jobs; one holder's card at a time.

    The ``reading``, ``pin`` and ``refusal`` screens are made here; a subclass makes the others, hands
    them all to :meth:`add_screens` in stack order, and says what happens on a reader change
    (:meth:`on_readers`), when the holder's card arrives or leaves (:meth:`card_inserted`,
    :meth:`card_removed`) and how a refusal is shown (:meth:`_refuse`). ``start()`` begins watching the
    readers.
    """

    screen_changed = Signal(str)

    #: What the log calls the app.
    NAME = "window"
    #: Screens that show nothing of the holder: :meth:`_forget_holder` leaves them as they are.
    KEEP_ON_FORGET: tuple[str, ...] = ()

    def __init__(self, backend: Backend, language: Language, title: str, *, counter: bool = False) -> None:
        super().__init__()
        self.backend = backend
        self.terminal = backend.terminal
        self.language = language
        self.setWindowTitle(title)
        self.jobs = Jobs(self)
        self.link = CardLink()
        self.bridge = ReaderBridge(backend.readers, self)
        self.tap: TapResult | None = None
        #: The reader the holder's card is on (None: no card).
        self.card_reader: str | None = None

        self.column = QVBoxLayout(self)
        self.column.setContentsMargins(0, 0, 0, 0)
        self.column.setSpacing(0)
        self.header = Header()
        self.header.language_requested.connect(self.set_language)
        self.column.addWidget(self.header)
        self.stack = QStackedWidget()
        self.column.addWidget(self.stack, 1)
        self.reading = ReadingScreen()
        self.pin = PinScreen()
        self.refusal = RefusalScreen(counter=counter)
        self.screens: dict[str, Screen] = {}

        self.bridge.inserted.connect(self.on_inserted)
        self.bridge.removed.connect(self.on_removed)
        self.bridge.changed.connect(self.on_readers)
        language.changed.connect(self._language_changed)

    def add_screens(self, screens: dict[str, Screen]) -> None:
        """Every screen of the app by name, in stack order."""
        self.screens = screens
        for screen in screens.values():
            self.stack.addWidget(screen)

    # -- lifecycle ---------------------------------------------------------------------------------------
    def start(self) -> None:
        self.bridge.start()

    def shutdown(self) -> None:
        self.bridge.stop()
        self.jobs.submit(self.link.close)
        self.jobs.shutdown()

    @property
    def current(self) -> str:
        widget = self.stack.currentWidget()
        return next(name for name, screen in self.screens.items() if screen is widget)

    def show_screen(self, name: str) -> None:
        self.stack.setCurrentWidget(self.screens[name])
        emit(self.screen_changed, name)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """A physical key no text field took: the shown screen's pad gets digits, Backspace and Enter."""
        screen = self.stack.currentWidget()
        if isinstance(screen, Screen) and screen.isEnabled() and screen.key(event):
            event.accept()
            return
        super().keyPressEvent(event)

    # -- language ------------------------------------------------------------------------------------------
    def set_language(self, lang: str) -> None:
        self.language.set(lang)

    def _language_changed(self, lang: str) -> None:
        texts.set_language(lang)
        self.header.show_language(lang)
        for screen in self.screens.values():
            screen.retranslate()

    # -- readers and the holder's card ---------------------------------------------------------------------
    def on_readers(self, event: ReadersChanged) -> None:
        raise NotImplementedError

    def on_inserted(self, event: CardInserted) -> None:
        if self.card_reader is not None and event.reader != self.card_reader:
            return  # one holder at a time: a card on another reader waits
        self.card_reader = event.reader
        self.card_inserted(event)

    def card_inserted(self, event: CardInserted) -> None:
        """The holder's card arrived (``card_reader`` is its reader)."""
        raise NotImplementedError

    def on_removed(self, event: CardRemoved) -> None:
        if event.reader != self.card_reader:
            return
        self.card_reader = None
        self.card_removed()

    def card_removed(self) -> None:
        """The holder's card left its reader."""
        raise NotImplementedError

    def read_card(
        self, event: CardInserted, read: Callable[[KhbsSession], T], done: Callable[[T], None]
    ) -> None:
        """Forget the last holder and read the card on the worker: ``done`` gets what ``read`` makes of it,
        :meth:`_failed` any error."""
        self.jobs.forget()
        self._forget_holder()
        self.show_screen("reading")
        link = self.link
        self.jobs.submit(lambda: read(link.open(event)), done, self._failed)

    def ask_holder_pin(self, title: tuple[str, str], subtitle: tuple[str, str], mode: str = "") -> None:
        """The PIN pad for the holder, unless the card says its PIN is blocked: then that refusal."""
        if self.tap is not None and pin_tries_left(self.tap) == 0:
            self._refuse(RefusalInfo(Refusal.PIN_BLOCKED))
            return
        self.pin.ask(title, subtitle)
        self.pin.mode = mode
        self.show_screen("pin")

    # -- endings ---------------------------------------------------------------------------------------------
    def _failed(self, exc: BaseException) -> None:
        info = refusal_for_error(exc)
        if info.kind is Refusal.SYSTEM_ERROR:
            log = logging.getLogger(type(self).__module__)  # the app's own logger (kiosk_ui.kiosk, ...)
            log.error("%s: unexpected %s", self.NAME, info.detail, exc_info=exc)
        self._refuse(info)

    def _refuse(self, info: RefusalInfo) -> None:
        """The refusal screen for ``info``."""
        raise NotImplementedError

    def _forget_holder(self) -> None:
        """Nothing of the last holder left: every screen but those in ``KEEP_ON_FORGET`` is cleared."""
        self.tap = None
        for name, screen in self.screens.items():
            if name not in self.KEEP_ON_FORGET:
                screen.clear()

    def _end_session(self) -> None:
        """Drop the late answers of running jobs, close the link to the card, forget the holder."""
        self.jobs.forget()
        self.jobs.submit(self.link.close)
        self._forget_holder()
