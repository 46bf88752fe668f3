"""Protocol constants of the KHBS applet — the one place they are defined.

Everything here is normative and mirrors ``SPEC.md``; terminals, drivers, the reference card and the
server import these names instead of writing bytes by hand.
"""

from __future__ import annotations

from enum import IntEnum

# --- Identification -------------------------------------------------------------------------------
#: Proprietary AID: 'F0' (proprietary RID range) + ASCII "KHBS" + application 01 + version 01.
AID = bytes.fromhex("F04B4842530101")
APPLET_VERSION = (2, 0)

#: PC/SC part 3 ATR for an ISO 14443-4 card with no historical bytes (what pcscd reports for NFC).
ATR_CONTACTLESS = bytes.fromhex("3B80800101")


def _with_tck(atr: bytes) -> bytes:
    tck = 0
    for b in atr[1:]:
        tck ^= b
    return atr + bytes([tck])


#: Contact ATR: TD1 = 81 (T=1, TD2 follows), TD2 = 01 (T=1 only), 5 historical bytes "KHBS" 01, TCK.
ATR_CONTACT = _with_tck(bytes.fromhex("3B8581014B48425301"))

# --- Classes and instructions ---------------------------------------------------------------------
CLA_ISO = 0x00
CLA_PROPRIETARY = 0x80
CLA_CHAINING_BIT = 0x10  # ISO 7816-4 command chaining: more blocks follow

INS_SELECT = 0xA4
INS_GET_RESPONSE = 0xC0
INS_GET_DATA = 0xCA
INS_PUT_DATA = 0xDA
INS_VERIFY = 0x20
INS_CHANGE_REFERENCE_DATA = 0x24
INS_RESET_RETRY_COUNTER = 0x2C
#: GET CHALLENGE was withdrawn in applet version 2.0 (the card nonce of INTERNAL AUTHENTICATE replaced
#: it): the card answers 6D00. Kept so that tests can send it.
INS_GET_CHALLENGE_WITHDRAWN = 0x84
INS_INTERNAL_AUTHENTICATE = 0x88
# proprietary (CLA 80)
INS_GENERATE_KEY = 0x46
INS_DEBIT = 0x54
INS_READ_LOG = 0xB2
INS_LOAD_GRANT = 0xE2
INS_SET_STATUS = 0xF0

#: P2 of VERIFY / CHANGE REFERENCE DATA / RESET RETRY COUNTER: the holder PIN (local reference).
PIN_REFERENCE = 0x80
SELECT_BY_NAME = 0x04
PIN_BLOCK_LEN = 8
PIN_PAD = 0xFF
PIN_MIN_DIGITS = 4
PIN_MAX_DIGITS = 8
PIN_MAX_TRIES = 3
CHALLENGE_LEN = 16
CARD_NONCE_LEN = 16
NONCE_LEN = 8
TERMINAL_ID_LEN = 8
CARD_SERIAL_LEN = 8
#: DEBIT command data (§6.6): 29 bytes of fields, then the 8-byte MAC under the DEBIT key of the VERIFY.
DEBIT_FIELDS_LEN = 29
DEBIT_MAC_LEN = 8
DEBIT_DATA_LEN = DEBIT_FIELDS_LEN + DEBIT_MAC_LEN
KEY_ID_LEN = 8
LOG_CAPACITY = 16
MAX_SHORT_DATA = 255
MAX_CREDENTIAL_LEN = 256
MAX_ISSUER_KEYS = 2


class SW(IntEnum):
    """Status words the applet returns (ISO 7816-4 plus the proprietary 91xx range)."""

    OK = 0x9000
    WRONG_LENGTH = 0x6700
    LAST_COMMAND_EXPECTED = 0x6883
    CHAINING_NOT_SUPPORTED = 0x6884
    SECURITY_STATUS_NOT_SATISFIED = 0x6982
    PIN_BLOCKED = 0x6983  # also: RESET RETRY COUNTER with the holder check blocked (no holder tries)
    HOLDER_MISMATCH = 0x6984  # RESET RETRY COUNTER: the enciphered holder reference does not match
    CONDITIONS_NOT_SATISFIED = 0x6985
    COMMAND_NOT_ALLOWED = 0x6986
    WRONG_DATA = 0x6A80
    FILE_NOT_FOUND = 0x6A82
    NOT_ENOUGH_MEMORY = 0x6A84
    INCORRECT_P1P2 = 0x6A86
    DATA_NOT_FOUND = 0x6A88
    INS_NOT_SUPPORTED = 0x6D00
    CLA_NOT_SUPPORTED = 0x6E00
    NO_PRECISE_DIAGNOSIS = 0x6F00
    AUTHENTICATION_FAILED = 0x6300
    MEMORY_FAILURE = 0x6581
    INSUFFICIENT_BALANCE = 0x9101
    COUNTER_MISMATCH = 0x9102
    GRANT_NOT_VALID_NOW = 0x9103
    SEQUENCE_NOT_NEWER = 0x9104
    WRONG_KIND = 0x9105


SW1_MORE_DATA = 0x61  # 61xx: xx more bytes, fetch with GET RESPONSE
SW1_WRONG_LE = 0x6C
SW1_PIN_TRIES = 0x63  # 63Cx: wrong PIN, x tries left


def sw_pin_tries(tries: int) -> int:
    return 0x63C0 | (tries & 0x0F)


class LifeCycle(IntEnum):
    PERSONALISATION = 0x01
    OPERATIONAL = 0x0F
    BLOCKED = 0x8F
    TERMINATED = 0xFF


# --- Data objects (BER-TLV tags) ------------------------------------------------------------------
TAG_FCI = 0x6F
TAG_DF_NAME = 0x84
TAG_FCI_PROPRIETARY = 0xA5
TAG_VERSION = 0x80
TAG_CAPABILITIES = 0x81
TAG_LIFE_CYCLE = 0x82
TAG_CARD_SERIAL = 0x83
TAG_LOG_CAPACITY = 0x85
TAG_PUBLIC_KEY_TEMPLATE = 0x7F49
TAG_EC_POINT = 0x86
TAG_SIGNATURE = 0x9E
TAG_AUTH_BODY = 0xC1
TAG_TX_RECORD = 0xC2
TAG_GRANT_BODY = 0xC3
TAG_KEY_ID = 0xC4
TAG_TERMINAL_CERT_BODY = 0xC5
TAG_NEW_PIN = 0xC6
TAG_STATUS_BODY = 0xC7
TAG_CARD_NONCE = 0xC8
TAG_PIN_ENVELOPE = 0xC9
TAG_SIGNED_AUTH = 0xE2
TAG_SIGNED_TX = 0xE1
TAG_SIGNED_GRANT = 0xE3
TAG_TERMINAL_CERT = 0x7F21
TAG_ISSUER_KEY = 0xE4

# GET DATA / PUT DATA object identifiers (P1P2)
DO_CREDENTIAL = 0xDF21
DO_GRANTS = 0xDF22
DO_CARD_SERIAL = 0xDF24
DO_ISSUER_KEYS = 0xDF25
DO_PERSONAL_DATA = 0xDF26
DO_CARD_PUBLIC_KEY = 0xDF27
DO_HOLDER_REF = 0xDF28  # write-only (PUT DATA at personalisation; GET DATA answers 6A88)

#: Capability bits returned by SELECT.
CAP_CONTACTLESS = 0x01
CAP_PIN_RESET_BY_TERMINAL_CERT = 0x02
CAP_CHECK_IN = 0x04
CAP_CHAINING = 0x08

# --- Signature domain tags (8 bytes each, prefixed to every signed message) -----------------------
DOMAIN_AUTH = b"KHBS-AU2"  # AU1 (no card nonce) was applet version 1.0
DOMAIN_TX = b"KHBS-TX1"
DOMAIN_GRANT = b"KHBS-GR1"
DOMAIN_STATUS = b"KHBS-ST1"
DOMAIN_TERMINAL_CERT = b"KHBS-TC1"
DOMAIN_PIN_RESET = b"KHBS-PR2"  # PR1 (plain PIN, GET CHALLENGE) was applet version 1.0
#: Not signature domains: the PIN envelope key derivation (§6.14), the DEBIT MAC (§6.6) and the holder
#: commitment (§4.4).
DOMAIN_PIN_ENVELOPE = b"KHBS-PE1"
DOMAIN_DEBIT_MAC = b"KHBS-DM1"
DOMAIN_HOLDER_COMMIT = b"KHBS-HC2"  # HC1 (salt and holder_ref only) was a draft of version 2.0

# --- Programs, kinds and units --------------------------------------------------------------------


class Kind(IntEnum):
    CASH = 1  # amount in rupiah
    QUANTITY = 2  # amount in grams / millilitres / pieces
    ELIGIBILITY = 3  # no balance; each use is a signed check-in
    APPLICATION = 4  # registration status; uses are signed check-ins


class Unit(IntEnum):
    RUPIAH = 1
    GRAM = 2
    MILLILITRE = 3
    PIECE = 4
    VISIT = 5
    STATUS = 6


class Program(IntEnum):
    BLT = 1  # Bantuan Langsung Tunai
    SEMBAKO = 2  # Operasi Pasar Sembako Murah
    PENDIDIKAN = 3  # Pendidikan gratis
    KESEHATAN = 4  # Kesehatan gratis
    LAPANGAN_KERJA = 5  # Akses lapangan kerja
    MODAL_TANI_NELAYAN = 6  # Bantuan modal petani dan nelayan
    PERUMAHAN_GURU = 7  # Program perumahan bagi guru
    PELATIHAN = 8  # Pelatihan keterampilan dan wirausaha lokal


#: The kind each program's grants must have (a card refuses a grant whose kind disagrees).
PROGRAM_KIND: dict[Program, Kind] = {
    Program.BLT: Kind.CASH,
    Program.SEMBAKO: Kind.QUANTITY,
    Program.PENDIDIKAN: Kind.ELIGIBILITY,
    Program.KESEHATAN: Kind.ELIGIBILITY,
    Program.LAPANGAN_KERJA: Kind.APPLICATION,
    Program.MODAL_TANI_NELAYAN: Kind.CASH,
    Program.PERUMAHAN_GURU: Kind.APPLICATION,
    Program.PELATIHAN: Kind.APPLICATION,
}

#: Grant amount meaning "no limit" for eligibility-only programs.
UNLIMITED = 0xFFFFFFFF


class TxType(IntEnum):
    DEBIT = 0x01
    CHECK_IN = 0x02


class GrantStatus(IntEnum):
    """Amount field of APPLICATION grants."""

    ELIGIBLE = 1
    REGISTERED = 2
    ACCEPTED = 3
    COMPLETED = 4


class TerminalRole(IntEnum):
    PIN_RESET = 0x01


# --- Credential (COSE_Sign1 / CWT) ----------------------------------------------------------------
COSE_SIGN1_TAG = 18
COSE_HDR_ALG = 1
COSE_HDR_KID = 4
COSE_ALG_ES256 = -7
CWT_ISS = 1
CWT_EXP = 4
CWT_IAT = 6
#: Private-use CWT claim holding the KHBS claim map.
CWT_KHBS = -65537
CREDENTIAL_SCHEMA_VERSION = 2
ISSUER = "ID-62"


class Claim(IntEnum):
    """Keys of the KHBS claim map inside the credential."""

    SCHEMA = 1
    CARD_SERIAL = 2
    STATUS_INDEX = 3
    HOLDER_COMMIT = 4
    NAME = 5
    REGION = 6
    CARD_KEY = 7
    NIK_MASKED = 8


class PersonalField(IntEnum):
    """Keys of the PIN-protected personal data object (DO_PERSONAL_DATA)."""

    NIK = 1
    BIRTH_DATE = 2
    SEX = 3
    KK_NUMBER = 4
    HOLDER_SALT = 5


HOLDER_REF_LEN = 16
HOLDER_COMMIT_LEN = 16
HOLDER_SALT_LEN = 16
HOLDER_CHECK_MAX_TRIES = 5
HOLDER_REF_SALT_PREFIX = b"KHBS-NIK"
HOLDER_REF_SCRYPT_N = 2**14
HOLDER_REF_SCRYPT_R = 8
HOLDER_REF_SCRYPT_P = 1
NAME_MAX_BYTES = 48

#: Regency/city codes (Kemendagri numbering, as in the NIK).
REGIONS: dict[int, str] = {
    6201: "Kabupaten Kotawaringin Barat",
    6202: "Kabupaten Kotawaringin Timur",
    6203: "Kabupaten Kapuas",
    6204: "Kabupaten Barito Selatan",
    6205: "Kabupaten Barito Utara",
    6206: "Kabupaten Katingan",
    6207: "Kabupaten Seruyan",
    6208: "Kabupaten Sukamara",
    6209: "Kabupaten Lamandau",
    6210: "Kabupaten Gunung Mas",
    6211: "Kabupaten Pulang Pisau",
    6212: "Kabupaten Murung Raya",
    6213: "Kabupaten Barito Timur",
    6271: "Kota Palangka Raya",
}
