"""The eight services: names (Bahasa Indonesia first, English second) and amount formatting."""

from __future__ import annotations

from dataclasses import dataclass

from card_applet_spec.constants import PROGRAM_KIND, UNLIMITED, Kind, Program, Unit

#: The unit each programme's grants count in when the issuer does not say otherwise.
DEFAULT_UNIT: dict[Program, Unit] = {
    Program.BLT: Unit.RUPIAH,
    Program.SEMBAKO: Unit.GRAM,
    Program.PENDIDIKAN: Unit.VISIT,
    Program.KESEHATAN: Unit.VISIT,
    Program.LAPANGAN_KERJA: Unit.STATUS,
    Program.MODAL_TANI_NELAYAN: Unit.RUPIAH,
    Program.PERUMAHAN_GURU: Unit.STATUS,
    Program.PELATIHAN: Unit.STATUS,
}


@dataclass(frozen=True)
class ProgramInfo:
    program: Program
    name_id: str
    name_en: str
    short_id: str
    icon: str  # icon resource name used by the UI


PROGRAMS: dict[Program, ProgramInfo] = {
    p.program: p
    for p in (
        ProgramInfo(Program.BLT, "Bantuan Langsung Tunai", "Direct cash assistance", "BLT", "cash"),
        ProgramInfo(Program.SEMBAKO, "Operasi Pasar Sembako Murah", "Cheap staple food", "Sembako", "rice"),
        ProgramInfo(Program.PENDIDIKAN, "Pendidikan Gratis", "Free education", "Pendidikan", "school"),
        ProgramInfo(Program.KESEHATAN, "Kesehatan Gratis", "Free health care", "Kesehatan", "health"),
        ProgramInfo(Program.LAPANGAN_KERJA, "Akses Lapangan Kerja", "Job openings", "Kerja", "jobs"),
        ProgramInfo(
            Program.MODAL_TANI_NELAYAN,
            "Bantuan Modal Petani dan Nelayan",
            "Capital aid for farmers and fishermen",
            "Modal Tani/Nelayan",
            "boat",
        ),
        ProgramInfo(
            Program.PERUMAHAN_GURU, "Perumahan bagi Guru", "Housing for teachers", "Rumah Guru", "house"
        ),
        ProgramInfo(
            Program.PELATIHAN,
            "Pelatihan Keterampilan dan Wirausaha",
            "Skills training and entrepreneurship",
            "Pelatihan",
            "training",
        ),
    )
}


def format_rupiah(amount: int) -> str:
    """``Rp 300.000``: dot as thousands separator, no decimals."""
    return "Rp " + f"{amount:,}".replace(",", ".")


def _decimal(value: int, scale: int) -> str:
    whole, frac = divmod(value, scale)
    if not frac:
        return f"{whole:,}".replace(",", ".")
    text = f"{frac / scale:.3f}"[2:].rstrip("0")
    return f"{whole:,}".replace(",", ".") + "," + text


def format_amount(unit: int, amount: int) -> str:
    """An amount in the card's base unit, for people (Indonesian conventions)."""
    if amount == UNLIMITED:
        return "tanpa batas"
    if unit == Unit.RUPIAH:
        return format_rupiah(amount)
    if unit == Unit.GRAM:
        return f"{_decimal(amount, 1000)} kg"
    if unit == Unit.MILLILITRE:
        return f"{_decimal(amount, 1000)} liter"
    if unit == Unit.PIECE:
        return f"{amount} buah"
    if unit == Unit.VISIT:
        return f"{amount} kunjungan"
    return str(amount)


_DIGITS = frozenset("0123456789")


def _whole(text: str) -> int:
    """ASCII digits, with dots only as thousands separators (``600.000``)."""
    groups = text.split(".")
    if not text or not all(set(g) <= _DIGITS and g for g in groups):
        raise ValueError(f"not a whole number: {text!r}")
    if len(groups) > 1 and (len(groups[0]) > 3 or any(len(g) != 3 for g in groups[1:])):
        raise ValueError(f"a dot separates thousands (600.000); use a comma for decimals: {text!r}")
    return int("".join(groups))


def parse_amount(unit: int, text: str) -> int:
    """Inverse of format_amount for entry on a numpad: rupiah whole, kg/litre with a comma decimal.

    Indonesian conventions: the dot groups thousands, the comma marks decimals (``2,5`` kg). Anything
    else — ``1.5``, other scripts' digits, empty text — is refused rather than guessed.
    """
    cleaned = text.strip().removeprefix("Rp").replace(" ", "")
    if unit in (Unit.GRAM, Unit.MILLILITRE):
        whole, _, frac = cleaned.partition(",")
        if not set(frac) <= _DIGITS or len(frac) > 3 or not (whole or frac):
            raise ValueError(f"not a quantity: {text!r}")
        return (_whole(whole) if whole else 0) * 1000 + int(frac.ljust(3, "0") or "0")
    return _whole(cleaned)


def kind_of(program: int) -> Kind:
    return PROGRAM_KIND[Program(program)]
