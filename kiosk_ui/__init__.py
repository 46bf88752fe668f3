"""The PySide6 kiosk (citizens) and counter (clerks) app for the Kartu Huma Betang Sejahtera card.

Qt Widgets, not Qt Quick. Why:

- testability: pytest-qt drives widgets directly (``qtbot.mouseClick``, ``findChild`` by object name,
  ``grab()`` for screenshots) in the offscreen platform, with no QML engine, no JavaScript and no
  scene-graph renderer in the test process — the whole citizen and clerk flows are tested that way;
- nothing extra to ship or to break: no QML files, QML runtime modules or OpenGL/RHI needs on a
  low-end kiosk PC (the offscreen and xcb platforms paint widgets in software);
- the screens are forms, tiles, pads and lists — what Widgets do well; touch targets are just big
  buttons (>= 72 px) and a style sheet gives the large, high-contrast look.

Languages: Bahasa Indonesia is the source language; English comes from Qt's own translation system
(``QTranslator`` loading ``translations/khbs_en.qm``, compiled by ``pyside6-lrelease`` from the
``.ts`` file that ``pyside6-lupdate`` extracts; both tools ship with PySide6-Essentials). See
``kiosk_ui.i18n``.

Threads: card I/O and printing never run on the GUI thread; reader events and job results come back
as Qt signals (``kiosk_ui.worker``). Only this package imports PySide6.

Composition: ``kiosk_ui`` imports no driver, no reference card and no demo world. ``kartu kiosk`` and
``kartu demo`` (``kartu.compose``) build the :class:`kiosk_ui.backend.Backend` and call
``kiosk_ui.app.run``; import-linter contracts keep it so.
"""
