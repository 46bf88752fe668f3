"""The terminal core: card sessions, verification, revocation, entitlements, ledger, sync. No Qt, no hardware libraries."""
