"""The vector cases, one group per vector file, grouped in modules by command (SPEC §11.6).

:data:`GROUPS` is the order the generator writes the case files in.
"""

from __future__ import annotations

from card_applet_spec.vectorkit.case import CaseGroup
from card_applet_spec.vectorkit.cases import (
    authenticate,
    debit,
    grants,
    personalisation,
    pin,
    pin_reset,
    select,
)

GROUPS: tuple[CaseGroup, ...] = (
    select.SELECT,
    select.GET_DATA,
    authenticate.INTERNAL_AUTHENTICATE,
    pin.VERIFY,
    pin.CHANGE_REFERENCE_DATA,
    pin_reset.RESET_RETRY_COUNTER,
    debit.DEBIT,
    debit.READ_LOG,
    grants.LOAD_GRANT,
    grants.SET_STATUS,
    personalisation.PERSONALISATION,
)
