"""The eight services: names (Bahasa Indonesia first, English second) and amount formatting."""

from __future__ import annotations

from dataclasses import dataclass

from card_applet_spec.constants import PROGRAM_KIND, UNLIMITED, Kind, Program, Unit


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


def parse_amount(unit: int, text: str) -> int:
    """Inverse of format_amount for entry on a numpad: rupiah whole, kg/litre with a comma decimal."""
    cleaned = text.strip().replace("Rp", "").replace(" ", "")
    if unit in (Unit.GRAM, Unit.MILLILITRE):
        whole, _, frac = cleaned.replace(".", "").partition(",")
        if not (whole or frac) or not (whole + frac).isdigit() or len(frac) > 3:
            raise ValueError(f"not a quantity: {text!r}")
        return int(whole or "0") * 1000 + int((frac or "0").ljust(3, "0"))
    digits = cleaned.replace(".", "")
    if not digits.isdigit():
        raise ValueError(f"not an amount: {text!r}")
    return int(digits)


def kind_of(program: int) -> Kind:
    return PROGRAM_KIND[Program(program)]
