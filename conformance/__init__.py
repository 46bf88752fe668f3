"""The card-vendor conformance kit: SPEC.md's contract run against a chip in a PC/SC reader (``kartu
conformance --reader R``, issue 15).

The kit personalises a fresh card with the published TEST keys of the vectors (SPEC §11.2) — never a card
that holds a production credential — and runs live cases named after the vector cases and the flows of
§9. A chip draws its own key pair, card nonces and ECDSA nonces, so the kit compares status words and
response layouts exactly, *verifies* every card signature with the chip's key, and checks the values the
chip chooses for form and freshness (SPEC §11.8). Cases that leave the card unusable (PIN blocked,
terminated) run last and only when asked; tearing cases need a :class:`~conformance.tearing.PowerSwitch`.

* :mod:`.link` — moves APDUs over a ``Connection``, follows 61xx, chains, times and records each exchange;
* :mod:`.chip` — the kit's terminal over the link: test personalisation, signed state, PIN envelopes;
* :mod:`.cases` — the cases and their oracles; :mod:`.tearing` — power cuts (a switch or the tester);
* :mod:`.report` — results as text and JSON; :mod:`.runner` — the order, the checks around each case.

The kit reads status words by design (it tests the applet, as the vector generator does); it never
imports the reference card.
"""

from conformance.report import Report
from conformance.runner import KitOptions, RefusedCard, run

__all__ = ["KitOptions", "RefusedCard", "Report", "run"]
