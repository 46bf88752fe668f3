"""The terminal core: card sessions, verification, revocation, entitlements, ledger and sync.

No Qt, no hardware libraries: drivers implement the small ports defined here.
"""
