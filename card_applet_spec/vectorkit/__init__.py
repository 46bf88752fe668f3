"""The parts of the test-vector generator (``python -m card_applet_spec.vectorgen``, SPEC.md §11).

* :mod:`.inputs` — the fixed inputs: the card DRBG, the published test keys, clock, holder, terminal values;
* :mod:`.payloads` — the command data the vector terminals send (DEBIT fields, PIN envelopes, resets);
* :mod:`.views` — JSON views of parsed answers (the ``expect`` and ``args`` of steps);
* :mod:`.recorder` — a recording against a fresh reference card: exchanges, status words, steps;
* :mod:`.tap` — the terminal operations over it, as the terminal session makes them;
* :mod:`.profiles` — the setup profiles (``setup.json``);
* :mod:`.case` and :mod:`.cases` — the cases, one group per vector file.

The commands come from :mod:`card_applet_spec.commands` and the answers are parsed by
:mod:`card_applet_spec.responses`, as in the terminal session. The cases speak only to the Tap (terminal
operations and APDUs); a few also check reference-card state no answer shows (the holder-check tries).
"""
