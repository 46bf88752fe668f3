"""Every word the kiosk and counter say, in Bahasa Indonesia, marked for Qt's translation to English.

Plain words for first-time users: short sentences, what happened and what to do next, no codes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from PySide6.QtCore import QCoreApplication

from card_applet_spec import constants as c
from kiosk_ui.i18n import QT_TRANSLATE_NOOP
from kiosk_ui.presenting import Age, Refusal, RefusalInfo, age_parts
from province.programs import ProgramInfo, format_rupiah
from terminal.entitlements import Entitlement, Status

translate = QCoreApplication.translate

_lang = {"current": "id"}


def set_language(lang: str) -> None:
    _lang["current"] = lang


def language() -> str:
    return _lang["current"]


#: Short English names for narrow tiles (the Indonesian short names come with the core's ProgramInfo).
SHORT_EN = {
    c.Program.BLT: "Cash aid (BLT)",
    c.Program.SEMBAKO: "Staple food",
    c.Program.PENDIDIKAN: "Education",
    c.Program.KESEHATAN: "Health care",
    c.Program.LAPANGAN_KERJA: "Jobs",
    c.Program.MODAL_TANI_NELAYAN: "Farm/fishing capital",
    c.Program.PERUMAHAN_GURU: "Teacher housing",
    c.Program.PELATIHAN: "Training",
}


def program_name(info: ProgramInfo, short: bool = False) -> str:
    if language() == "en":
        return SHORT_EN.get(info.program, info.name_en) if short else info.name_en
    return info.short_id if short else info.name_id


MONTHS = {
    "id": ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"),
    "en": ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
}


def date_text(moment: dt.datetime | dt.date | None) -> str:
    if moment is None:
        return "–"
    return f"{moment.day} {MONTHS[language()][moment.month - 1]} {moment.year}"


def datetime_text(moment: dt.datetime | None) -> str:
    if moment is None:
        return "–"
    return f"{date_text(moment)} {moment:%H:%M}"


def age_text(seconds: float) -> str:
    a: Age = age_parts(seconds)
    if a.days:
        return translate("Texts", "{d} hari {h} jam").format(d=a.days, h=a.hours)
    if a.hours:
        return translate("Texts", "{h} jam {m} menit").format(h=a.hours, m=a.minutes)
    return translate("Texts", "{m} menit").format(m=a.minutes)


def amount_text(unit: int | None, amount: int | None) -> str:
    """An amount in a program's unit, for people."""
    if amount is None or unit is None:
        return ""
    if amount == c.UNLIMITED:
        return translate("Texts", "tanpa batas")
    if unit == c.Unit.RUPIAH:
        return format_rupiah(amount)
    if unit in (c.Unit.GRAM, c.Unit.MILLILITRE):
        whole, frac = divmod(amount, 1000)
        number = f"{whole:,}".replace(",", ".") + (("," + f"{frac:03d}".rstrip("0")) if frac else "")
        return f"{number} kg" if unit == c.Unit.GRAM else f"{number} liter"
    if unit == c.Unit.PIECE:
        return translate("Texts", "{n} buah").format(n=amount)
    if unit == c.Unit.VISIT:
        return translate("Texts", "{n} kunjungan").format(n=amount)
    return str(amount)


def unit_label(unit: int | None) -> str:
    return {
        c.Unit.RUPIAH: "Rp",
        c.Unit.GRAM: "kg",
        c.Unit.MILLILITRE: "liter",
        c.Unit.PIECE: translate("Texts", "buah"),
    }.get(c.Unit(unit) if unit else c.Unit.STATUS, "")


def status_text(e: Entitlement) -> str:
    if e.kind is c.Kind.APPLICATION and e.status is Status.ACTIVE:
        return translate("Texts", "Bisa mendaftar")
    return {
        Status.ACTIVE: translate("Texts", "Aktif"),
        Status.USED_UP: translate("Texts", "Sudah habis"),
        Status.EXPIRED: translate("Texts", "Sudah berakhir"),
        Status.NOT_YET_VALID: translate("Texts", "Belum mulai"),
        Status.NOT_ENROLLED: translate("Texts", "Tidak terdaftar"),
        Status.REGISTERED: translate("Texts", "Terdaftar"),
        Status.ACCEPTED: translate("Texts", "Diterima"),
        Status.COMPLETED: translate("Texts", "Selesai"),
    }[e.status]


def status_tone(e: Entitlement) -> str:
    if e.status in (Status.ACTIVE, Status.REGISTERED, Status.ACCEPTED):
        return "ok"
    if e.status is Status.EXPIRED:
        return "bad"
    return "off"


def remaining_text(e: Entitlement) -> str:
    """What is left: money, quantity, or what the holder may do."""
    if e.status is Status.NOT_ENROLLED:
        return ""
    if e.kind is c.Kind.ELIGIBILITY:
        if e.remaining == c.UNLIMITED:
            return translate("Texts", "Gratis, tanpa batas")
        return amount_text(c.Unit.VISIT, e.remaining)
    if e.kind is c.Kind.APPLICATION:
        return ""
    return translate("Texts", "Sisa {amount}").format(amount=amount_text(e.unit, e.remaining))


def period_text(e: Entitlement, short: bool = False) -> str:
    if e.period_end is None:
        return ""
    if short:
        return translate("Texts", "s.d. {date}").format(date=date_text(e.period_end))
    return translate("Texts", "Berlaku s.d. {date}").format(date=date_text(e.period_end))


HOW_TO_CLAIM: dict[int, str] = {
    c.Program.BLT: QT_TRANSLATE_NOOP(
        "HowTo",
        "Ambil di loket kelurahan atau desa, kantor pos, atau bank penyalur pada jadwal penyaluran. "
        "Bawa kartu ini. Petugas memasukkan jumlahnya, Anda memasukkan PIN, lalu struk dicetak.",
    ),
    c.Program.SEMBAKO: QT_TRANSLATE_NOOP(
        "HowTo",
        "Belanja di Operasi Pasar Sembako Murah di kecamatan Anda (jadwal ada di papan pengumuman "
        "kelurahan). Tempelkan kartu di loket; jatah dikurangi sesuai yang Anda ambil.",
    ),
    c.Program.PENDIDIKAN: QT_TRANSLATE_NOOP(
        "HowTo",
        "Tunjukkan kartu ini di sekolah negeri atau madrasah saat mendaftar. Biaya sekolah ditanggung.",
    ),
    c.Program.KESEHATAN: QT_TRANSLATE_NOOP(
        "HowTo",
        "Tunjukkan kartu ini di puskesmas atau rumah sakit daerah. Pemeriksaan dan obat dasar gratis.",
    ),
    c.Program.LAPANGAN_KERJA: QT_TRANSLATE_NOOP(
        "HowTo",
        "Pilih lowongan di bawah, lalu tekan Daftar minat. Dinas Tenaga Kerja akan menghubungi Anda.",
    ),
    c.Program.MODAL_TANI_NELAYAN: QT_TRANSLATE_NOOP(
        "HowTo",
        "Ambil di Dinas Pertanian atau Perikanan kabupaten, atau di loket kelurahan pada jadwal "
        "penyaluran. Bawa kartu ini dan kartu kelompok tani atau nelayan.",
    ),
    c.Program.PERUMAHAN_GURU: QT_TRANSLATE_NOOP(
        "HowTo",
        "Pilih program rumah di bawah, lalu tekan Daftar minat. Dinas Pendidikan akan memeriksa data Anda.",
    ),
    c.Program.PELATIHAN: QT_TRANSLATE_NOOP(
        "HowTo",
        "Pilih pelatihan di bawah, lalu tekan Daftar minat. Dinas penyelenggara akan memberi tahu jadwalnya.",
    ),
}


def how_to_claim(program: int) -> str:
    return translate("HowTo", HOW_TO_CLAIM[program])


@dataclass(frozen=True)
class RefusalText:
    icon: str
    title: str
    body: str
    next_step: str


#: What each refusal screen says: icon, title, what happened, what to do next (sources in context
#: "Refusal"). Two screens say more: a clerk is told how to unblock a PIN, and "data too old" says how old.
REFUSALS: dict[Refusal, tuple[str, str, str, str]] = {
    Refusal.UNKNOWN_CARD: (
        "question",
        QT_TRANSLATE_NOOP("Refusal", "Kartu tidak dikenal"),
        QT_TRANSLATE_NOOP("Refusal", "Kartu ini bukan Kartu Huma Betang Sejahtera, atau tidak dapat dibaca."),
        QT_TRANSLATE_NOOP(
            "Refusal",
            "Periksa apakah kartu yang ditempelkan sudah benar. Jika sudah, bawa kartu ke kantor "
            "kelurahan atau desa.",
        ),
    ),
    Refusal.REVOKED_OR_BLOCKED: (
        "blocked",
        QT_TRANSLATE_NOOP("Refusal", "Kartu diblokir"),
        QT_TRANSLATE_NOOP(
            "Refusal", "Kartu ini sudah dicabut atau diblokir, jadi tidak bisa dipakai untuk layanan."
        ),
        QT_TRANSLATE_NOOP(
            "Refusal",
            "Datanglah ke kantor kelurahan atau desa dengan e-KTP Anda. Petugas akan menjelaskan "
            "alasannya dan membantu bila perlu kartu baru.",
        ),
    ),
    Refusal.EXPIRED: (
        "calendar",
        QT_TRANSLATE_NOOP("Refusal", "Kartu sudah tidak berlaku"),
        QT_TRANSLATE_NOOP("Refusal", "Masa berlaku kartu ini sudah habis."),
        QT_TRANSLATE_NOOP(
            "Refusal",
            "Bawa kartu ini dan e-KTP ke kantor kelurahan atau desa untuk mendapat kartu baru. "
            "Hak Anda tidak hilang.",
        ),
    ),
    Refusal.NOT_GENUINE: (
        "fake",
        QT_TRANSLATE_NOOP("Refusal", "Kartu tidak asli"),
        QT_TRANSLATE_NOOP("Refusal", "Kartu ini tidak lolos pemeriksaan keaslian."),
        QT_TRANSLATE_NOOP(
            "Refusal",
            "Jangan gunakan kartu ini. Bawa kartu dan e-KTP ke kantor kelurahan atau desa. "
            "Jika kartu Anda hilang atau dicuri, laporkan di sana.",
        ),
    ),
    Refusal.PIN_BLOCKED: (
        "lock",
        QT_TRANSLATE_NOOP("Refusal", "PIN terkunci"),
        QT_TRANSLATE_NOOP(
            "Refusal",
            "PIN salah dimasukkan 3 kali, jadi PIN dikunci. Kartu dan hak Anda tetap aman.",
        ),
        QT_TRANSLATE_NOOP(
            "Refusal",
            "Datanglah ke loket layanan dengan e-KTP. Petugas dapat membuka PIN Anda saat itu juga.",
        ),
    ),
    Refusal.READER_MISSING: (
        "reader_missing",
        QT_TRANSLATE_NOOP("Refusal", "Pembaca kartu tidak ditemukan"),
        QT_TRANSLATE_NOOP("Refusal", "Mesin ini tidak dapat membaca kartu saat ini."),
        QT_TRANSLATE_NOOP(
            "Refusal", "Silakan panggil petugas atau gunakan mesin lain. Kartu Anda tidak bermasalah."
        ),
    ),
    Refusal.DATA_TOO_OLD: (
        "clock",
        QT_TRANSLATE_NOOP("Refusal", "Belum bisa memeriksa kartu"),
        QT_TRANSLATE_NOOP(
            "Refusal", "Mesin ini belum punya data status kartu, jadi belum bisa memastikan kartu Anda."
        ),
        QT_TRANSLATE_NOOP(
            "Refusal",
            "Kartu Anda tidak ditolak. Coba lagi nanti, atau gunakan mesin lain atau loket kelurahan.",
        ),
    ),
    Refusal.CARD_LOST: (
        "card_tap",
        QT_TRANSLATE_NOOP("Refusal", "Kartu terlepas"),
        QT_TRANSLATE_NOOP("Refusal", "Kartu diangkat sebelum selesai dibaca."),
        QT_TRANSLATE_NOOP("Refusal", "Tempelkan kartu lagi dan tahan sampai layar berganti."),
    ),
    Refusal.SYSTEM_ERROR: (
        "error",
        QT_TRANSLATE_NOOP("Refusal", "Terjadi gangguan"),
        QT_TRANSLATE_NOOP("Refusal", "Mesin ini sedang mengalami gangguan."),
        QT_TRANSLATE_NOOP("Refusal", "Silakan coba lagi. Jika masih terjadi, panggil petugas."),
    ),
}


def refusal_text(info: RefusalInfo, *, counter: bool = False) -> RefusalText:
    icon_name, *sources = REFUSALS[info.kind]
    title, body, next_step = (translate("Refusal", source) for source in sources)
    if info.kind is Refusal.PIN_BLOCKED and counter:
        next_step = translate("Refusal", "Petugas dapat membuka PIN setelah memeriksa e-KTP warga.")
    if info.kind is Refusal.DATA_TOO_OLD and info.data_age_s is not None:
        body = translate(
            "Refusal",
            "Data di mesin ini terakhir diperbarui {age} yang lalu. Itu terlalu lama untuk memastikan "
            "status kartu Anda.",
        ).format(age=age_text(info.data_age_s))
    return RefusalText(icon_name, title, body, next_step)


PRINTER_FAULTS = {
    "offline": QT_TRANSLATE_NOOP("Printer", "printer mati atau offline"),
    "paper_out": QT_TRANSLATE_NOOP("Printer", "kertas printer habis"),
    "cover_open": QT_TRANSLATE_NOOP("Printer", "penutup printer terbuka"),
    "unplugged": QT_TRANSLATE_NOOP("Printer", "printer tidak terhubung"),
    "no printer": QT_TRANSLATE_NOOP("Printer", "tidak ada printer"),
    "near_end": QT_TRANSLATE_NOOP("Printer", "kertas hampir habis"),
}


def printer_fault_text(code: str | None) -> str:
    if code is None:
        return ""
    return translate("Printer", PRINTER_FAULTS.get(code, QT_TRANSLATE_NOOP("Printer", "printer bermasalah")))


REFUSAL_CODES = {
    "wrong_pin": QT_TRANSLATE_NOOP("Codes", "PIN salah"),
    "pin_blocked": QT_TRANSLATE_NOOP("Codes", "PIN terkunci"),
    "bad_pin_format": QT_TRANSLATE_NOOP("Codes", "PIN harus 4 sampai 8 angka"),
    "insufficient_balance": QT_TRANSLATE_NOOP("Codes", "Saldo tidak cukup"),
    "not_enrolled": QT_TRANSLATE_NOOP("Codes", "Warga tidak terdaftar di layanan ini"),
    "entitlement_expired": QT_TRANSLATE_NOOP("Codes", "Masa layanan sudah berakhir"),
    "bad_amount": QT_TRANSLATE_NOOP("Codes", "Jumlah tidak sah"),
    "card_refused": QT_TRANSLATE_NOOP("Codes", "Kartu menolak transaksi"),
    "counter_mismatch": QT_TRANSLATE_NOOP("Codes", "Kartu berubah sejak dibaca: tempelkan lagi"),
    "entitlement_not_valid_now": QT_TRANSLATE_NOOP("Codes", "Hak belum atau tidak lagi berlaku saat ini"),
    "previous_redemption_settled": QT_TRANSLATE_NOOP(
        "Codes", "Transaksi sebelumnya baru diselesaikan: periksa struk sebelum mengulang"
    ),
    "previous_redemption_open": QT_TRANSLATE_NOOP(
        "Codes", "Transaksi sebelumnya belum pasti: tempelkan kartu lagi"
    ),
    "card_removed": QT_TRANSLATE_NOOP("Codes", "Kartu terlepas dari pembaca"),
    "card_answer_malformed": QT_TRANSLATE_NOOP("Codes", "Jawaban kartu tidak sah"),
    "card_error": QT_TRANSLATE_NOOP("Codes", "Kartu menjawab di luar aturan"),
    "debit_outcome_unknown": QT_TRANSLATE_NOOP("Codes", "Hasil transaksi belum pasti: tempelkan kartu lagi"),
    "record_not_genuine": QT_TRANSLATE_NOOP("Codes", "Bukti transaksi tidak ditandatangani kartu"),
    "record_mismatch": QT_TRANSLATE_NOOP("Codes", "Bukti transaksi dari kartu tidak sesuai permintaan"),
    "record_not_stored": QT_TRANSLATE_NOOP("Codes", "Transaksi belum tersimpan: tempelkan kartu lagi"),
    "refusal_contradicted": QT_TRANSLATE_NOOP("Codes", "Kartu menolak, tetapi catatannya berisi transaksi"),
    "log_record_not_genuine": QT_TRANSLATE_NOOP("Codes", "Catatan kartu berisi data palsu"),
    "unresolved_intent": QT_TRANSLATE_NOOP("Codes", "Transaksi perlu diperiksa pusat"),
    "revoked": QT_TRANSLATE_NOOP("Codes", "Kartu dicabut"),
    "suspended": QT_TRANSLATE_NOOP("Codes", "Kartu ditangguhkan"),
    "card_blocked": QT_TRANSLATE_NOOP("Codes", "Kartu diblokir"),
    "card_terminated": QT_TRANSLATE_NOOP("Codes", "Kartu diakhiri"),
    "expired": QT_TRANSLATE_NOOP("Codes", "Kartu kedaluwarsa"),
    "not_genuine": QT_TRANSLATE_NOOP("Codes", "Kartu tidak asli"),
    "revocation_data_stale": QT_TRANSLATE_NOOP("Codes", "Data status terlalu lama"),
    "no_revocation_data": QT_TRANSLATE_NOOP("Codes", "Tidak ada data status"),
    "printer_offline": QT_TRANSLATE_NOOP("Codes", "Printer offline"),
    "printer_paper_out": QT_TRANSLATE_NOOP("Codes", "Kertas habis"),
    "printer_cover_open": QT_TRANSLATE_NOOP("Codes", "Penutup printer terbuka"),
    "printer_unplugged": QT_TRANSLATE_NOOP("Codes", "Printer tidak terhubung"),
}


def code_text(code: str) -> str:
    source = REFUSAL_CODES.get(code)
    return translate("Codes", source) if source else code.replace("_", " ")
