"""The reference card: the KHBS applet in Python, used by every test and the demo."""

from card_applet_spec.reference_card.card import CardError, ReferenceCard
from card_applet_spec.reference_card.state import CardState, CardTorn, FileStore, MemoryStore

__all__ = ["CardError", "CardState", "CardTorn", "FileStore", "MemoryStore", "ReferenceCard"]
