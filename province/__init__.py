"""What the province publishes and every party reads the same way: the terminal, the server and the
tools that check a receipt or a trust list.

- :mod:`province.nik` — the NIK (national ID number) and what it says (region, birth date, sex);
- :mod:`province.programs` — the eight programmes, their units and how amounts are written;
- :mod:`province.issuance` — what the issuer writes onto a card (DF26, holder commitment, grants);
- :mod:`province.trust` — the signed trust list (COSE_Sign1): root, issuer, status and terminal keys;
- :mod:`province.statuslist` — the signed card status list and its deltas;
- :mod:`province.receipt_qr` — the receipt's signed QR payload and the receipt key certificate;
- :mod:`province.keys` — key fingerprints as people compare them;
- :mod:`province.clock` — the one time zone receipts, screens and reports use (WIB).

It imports only the card contract (:mod:`card_applet_spec`); the terminal and the server import it,
never each other.
"""
