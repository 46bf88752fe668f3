"""Work-arounds for reference-count bugs in PySide6 6.12.0, applied only when a probe finds them.

Measured on this machine (PySide6-Essentials 6.12.0, CPython 3.11; 6.11.3 is clean):

- every PySide method returning ``void`` hands back ``None`` without a new reference, so each call
  (``setText``, ``setEnabled``, ``setStyleSheet``, ...) takes one reference away from ``None``;
- ``SignalInstance.emit()`` does the same with ``True``.

On Python 3.11, where ``None`` and ``True`` are ordinary reference-counted (statically allocated)
objects, the interpreter aborts with "Fatal Python error: none_dealloc / bool_dealloc" once they run
out — within minutes of a busy kiosk, or at exit. The real fix is to not install 6.12.0
(``PySide6-Essentials!=6.12.0``; asked of the lead, who owns pyproject.toml). Until then, and so that
the app is safe on whatever wheel is installed:

1. :func:`emit` gives back the reference ``emit()`` took (exact, per call);
2. when the probe finds the bug, :func:`reserve` adds 2**40 references to ``None``, ``True`` and
   ``False`` once. They are static singletons that are never freed legitimately, so surplus references
   cost nothing, and 2**40 lost references take years at any plausible rate. On Python >= 3.12 these
   objects are immortal and nothing is done.
"""

from __future__ import annotations

import ctypes
import logging
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

log = logging.getLogger(__name__)

_incref = ctypes.pythonapi.Py_IncRef
_incref.argtypes = [ctypes.py_object]
_incref.restype = None

RESERVE = 2**40
_IMMORTAL = sys.version_info >= (3, 12)


class _Probe(QObject):
    ping = Signal()


def _drops(obj: object, action: Any, tries: int = 8) -> bool:
    before = sys.getrefcount(obj)
    for _ in range(tries):
        action()
    dropped = before - sys.getrefcount(obj)
    for _ in range(max(0, dropped)):  # give back what the probe itself took
        _incref(obj)
    return dropped >= tries


_probe = _Probe()
#: This PySide6's ``emit()`` drops a reference to ``True``.
EMIT_DROPS_A_REFERENCE = not _IMMORTAL and _drops(True, _probe.ping.emit)
#: This PySide6's void methods drop a reference to ``None``.
VOID_DROPS_A_REFERENCE = not _IMMORTAL and _drops(None, lambda: _probe.setObjectName("probe"))


def reserve() -> bool:
    """Give ``None``, ``True`` and ``False`` a reserve of references if this PySide6 leaks them."""
    if _IMMORTAL or not (EMIT_DROPS_A_REFERENCE or VOID_DROPS_A_REFERENCE):
        return False
    for obj in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(obj))  # ob_refcnt, the first field of every object
        refcount.value += RESERVE
    log.warning("PySide6 reference-count bug detected: added a reserve of references (use PySide6 != 6.12.0)")
    return True


RESERVED = reserve()


def emit(signal: SignalInstance, *args: Any) -> None:
    """``signal.emit(*args)``, giving back the reference a buggy PySide6 takes from ``True``."""
    result: object = signal.emit(*args)  # type: ignore[func-returns-value]  # it returns True
    if EMIT_DROPS_A_REFERENCE:
        _incref(result)
