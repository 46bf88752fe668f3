"""Key fingerprints as people compare them: on the enrolment sheet, on the screen, read aloud."""

from __future__ import annotations

import hashlib
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def fingerprint(key: ec.EllipticCurvePublicKey) -> str:
    """SHA-256 of the key's SubjectPublicKeyInfo, as 16 groups of 4 hex digits (what the sheet prints)."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashlib.sha256(der).hexdigest().upper()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def same_fingerprint(typed: str, key: ec.EllipticCurvePublicKey) -> bool:
    """The operator's typed fingerprint (any spacing, case, ':' or '-') is the key's, all 64 digits."""
    cleaned = re.sub(r"[\s:\-]", "", typed).upper()
    return cleaned == fingerprint(key).replace(" ", "")
