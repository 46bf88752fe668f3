"""The demo panel: tap or remove the demo cards, pull the reader, make the printer fail, age the data.

A small separate window (the kiosk itself stays full screen). It drives ``terminal.readers.DemoReaders``
— the same reader port the PC/SC supervisor implements — so the app cannot tell the difference.
"""

from __future__ import annotations

from functools import partial

from PySide6.QtCore import QCoreApplication
from PySide6.QtWidgets import QCheckBox, QGridLayout, QLabel, QVBoxLayout, QWidget

from kiosk_ui.backend import Backend, TextFilePrinter
from kiosk_ui.widgets import button
from terminal.receipt import PaperOut

translate = QCoreApplication.translate
DAY = 86_400


class DemoPanel(QWidget):
    def __init__(self, backend: Backend) -> None:
        super().__init__()
        self.backend = backend
        self.setWindowTitle(translate("Demo", "Panel demo KHBS"))
        self.setStyleSheet("QWidget { font-size: 12pt; } QPushButton { font-size: 12pt; min-height: 30px; }")
        column = QVBoxLayout(self)
        column.addWidget(QLabel(translate("Demo", "Tempelkan kartu demo:")))
        grid = QGridLayout()
        for i, card in enumerate(backend.demo_cards):
            b = button(card.label, "", partial(self.tap, card.key), f"demo_{card.key}")
            grid.addWidget(b, i // 2, i % 2)
        column.addLayout(grid)
        column.addWidget(button(translate("Demo", "Angkat kartu"), "primary", self.remove, "demo_remove"))
        self.unplugged = QCheckBox(translate("Demo", "Cabut pembaca kartu"))
        self.unplugged.toggled.connect(self.set_unplugged)
        column.addWidget(self.unplugged)
        self.paper = QCheckBox(translate("Demo", "Kertas printer habis"))
        self.paper.toggled.connect(self.set_paper_out)
        self.paper.setEnabled(isinstance(backend.printer, TextFilePrinter))
        column.addWidget(self.paper)
        self.stale = QCheckBox(translate("Demo", "Data tidak disinkronkan 8 hari"))
        self.stale.toggled.connect(self.set_stale)
        self.stale.setEnabled(backend.clock is not None)
        column.addWidget(self.stale)
        column.addStretch(1)

    def tap(self, key: str) -> None:
        demo = self.backend.demo
        if demo is not None:
            card = self.backend.card(key)
            demo.tap(card.card, torn=card.torn)

    def remove(self) -> None:
        if self.backend.demo is not None:
            self.backend.demo.remove()

    def set_unplugged(self, on: bool) -> None:
        demo = self.backend.demo
        if demo is not None:
            (demo.unplug if on else demo.plug)()

    def set_paper_out(self, on: bool) -> None:
        if isinstance(self.backend.printer, TextFilePrinter):
            self.backend.printer.fault = PaperOut("demo: paper out") if on else None

    def set_stale(self, on: bool) -> None:
        if self.backend.clock is not None:
            self.backend.clock.offset = 8 * DAY if on else 0.0
