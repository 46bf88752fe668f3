"""What the kiosk says, as text (no Qt, no sound): numbers, rupiah and dates read the Indonesian (and the
English) way, one sentence per entitlement, displayed text made speakable, nothing secret said; the tones
as WAV; the ``voice`` setting."""

from __future__ import annotations

import datetime as dt
import io
import wave

import pytest

from card_applet_spec.constants import UNLIMITED, Kind, Program, Unit
from province.clock import WIB
from province.programs import PROGRAMS
from terminal.audio import Sound, VoiceMode, tone_wav
from terminal.config import ConfigError, parse_config
from terminal.entitlements import Entitlement, Status
from terminal.numwords import date_words, number_words, ordinal_words, rupiah_words, time_words
from terminal.speech import (
    Script,
    entitlement_sentence,
    lines_script,
    services_script,
    speakable,
)


@pytest.mark.parametrize(
    ("n", "indonesian", "english"),
    [
        (0, "nol", "zero"),
        (1, "satu", "one"),
        (10, "sepuluh", "ten"),
        (11, "sebelas", "eleven"),
        (15, "lima belas", "fifteen"),
        (21, "dua puluh satu", "twenty-one"),
        (100, "seratus", "one hundred"),
        (111, "seratus sebelas", "one hundred eleven"),
        (1000, "seribu", "one thousand"),
        (1500, "seribu lima ratus", "one thousand five hundred"),
        (2026, "dua ribu dua puluh enam", "two thousand twenty-six"),
        (11_000, "sebelas ribu", "eleven thousand"),
        (150_000, "seratus lima puluh ribu", "one hundred fifty thousand"),
        (600_000, "enam ratus ribu", "six hundred thousand"),
        (1_000_000, "satu juta", "one million"),
        (1_001_000, "satu juta seribu", "one million one thousand"),
        (2_750_500, "dua juta tujuh ratus lima puluh ribu lima ratus", None),
        (3_000_000_000, "tiga miliar", "three billion"),
    ],
)
def test_number_words(n: int, indonesian: str, english: str | None) -> None:
    assert number_words(n, "id") == indonesian
    if english is not None:
        assert number_words(n, "en") == english


def test_rupiah_dates_and_times() -> None:
    assert rupiah_words(600_000) == "enam ratus ribu rupiah"
    assert rupiah_words(600_000, "en") == "six hundred thousand rupiah"
    day = dt.date(2026, 12, 31)
    assert date_words(day) == "tiga puluh satu Desember dua ribu dua puluh enam"
    assert date_words(day, "en") == "the thirty-first of December, two thousand twenty-six"
    assert [ordinal_words(n) for n in (1, 2, 3, 12, 20, 22)] == [
        "first",
        "second",
        "third",
        "twelfth",
        "twentieth",
        "twenty-second",
    ]
    assert time_words(9, 5) == "pukul sembilan lewat lima menit"
    assert time_words(14, 0) == "pukul empat belas"
    assert time_words(9, 5, "en") == "nine oh five"


def ent(program: Program, status: Status, remaining: int | None, until: dt.date | None) -> Entitlement:
    unit = {Program.BLT: Unit.RUPIAH, Program.SEMBAKO: Unit.GRAM}.get(program)
    kind = {Program.BLT: Kind.CASH, Program.SEMBAKO: Kind.QUANTITY, Program.KESEHATAN: Kind.ELIGIBILITY}
    end = dt.datetime(until.year, until.month, until.day, 23, 59, tzinfo=WIB) if until else None
    return Entitlement(
        program=program,
        info=PROGRAMS[program],
        kind=kind.get(program, Kind.APPLICATION),
        status=status,
        unit=unit,
        remaining=remaining,
        period_end=end,
    )


END = dt.date(2026, 12, 31)


def test_entitlement_sentences() -> None:
    blt = ent(Program.BLT, Status.ACTIVE, 600_000, END)
    assert entitlement_sentence(blt, "id") == (
        "Bantuan Langsung Tunai, sisa enam ratus ribu rupiah, "
        "berlaku sampai tiga puluh satu Desember dua ribu dua puluh enam"
    )
    assert entitlement_sentence(blt, "en") == (
        "Direct cash assistance, left six hundred thousand rupiah, "
        "valid until the thirty-first of December, two thousand twenty-six"
    )
    rice = ent(Program.SEMBAKO, Status.ACTIVE, 2_500, END)
    assert "sisa dua koma lima kilogram" in entitlement_sentence(rice, "id")
    assert "left two point five kilograms" in entitlement_sentence(rice, "en")
    health = ent(Program.KESEHATAN, Status.ACTIVE, UNLIMITED, END)
    assert "gratis, tanpa batas" in entitlement_sentence(health, "id")
    jobs = ent(Program.LAPANGAN_KERJA, Status.ACTIVE, 0, END)
    assert "bisa mendaftar" in entitlement_sentence(jobs, "id")
    used = ent(Program.BLT, Status.USED_UP, 0, END)
    said = entitlement_sentence(used, "id")
    assert "sudah habis" in said and "rupiah" not in said
    ended = ent(Program.BLT, Status.EXPIRED, 600_000, dt.date(2026, 1, 31))
    assert entitlement_sentence(ended, "id") == (
        "Bantuan Langsung Tunai, sudah berakhir pada tiga puluh satu Januari dua ribu dua puluh enam"
    )
    none = ent(Program.PERUMAHAN_GURU, Status.NOT_ENROLLED, None, None)
    assert entitlement_sentence(none, "id") == "Perumahan bagi Guru, tidak terdaftar"


def test_services_script_reads_each_service_and_names_the_holder_only_when_private() -> None:
    items = [
        ent(Program.BLT, Status.ACTIVE, 600_000, END),
        ent(Program.MODAL_TANI_NELAYAN, Status.NOT_ENROLLED, None, None),
        ent(Program.PERUMAHAN_GURU, Status.NOT_ENROLLED, None, None),
    ]
    public = services_script("id", items, hint="Sentuh layanan untuk melihat rincian.")
    assert public.text.startswith("Halo. Bantuan Langsung Tunai, sisa enam ratus ribu rupiah")
    assert "Tidak terdaftar di Bantuan Modal Petani dan Nelayan, serta Perumahan bagi Guru." in public.text
    assert public.text.endswith("Sentuh layanan untuk melihat rincian.")
    private = services_script("en", items, name="Siti Rahmawati")
    assert private.text.startswith("Hello, Siti Rahmawati. Direct cash assistance, left six hundred")


@pytest.mark.parametrize(
    ("shown", "lang", "said"),
    [
        ("Sisa Rp 450.000", "id", "Sisa empat ratus lima puluh ribu rupiah"),
        ("Left Rp 1.250.000", "en", "Left one million two hundred fifty thousand rupiah"),
        ("Sisa 10 kg", "id", "Sisa sepuluh kilogram"),
        ("Left 2,5 kg", "en", "Left two point five kilograms"),
        (
            "Berlaku s.d. 31 Des 2026",
            "id",
            "Berlaku sampai tiga puluh satu Desember dua ribu dua puluh enam",
        ),
        ("PIN salah. Sisa 2 kali mencoba.", "id", "PIN salah. Sisa dua kali mencoba."),
        ("Membaca kartu…", "id", "Membaca kartu"),
        ("Layar kembali ke awal dalam 15 detik.", "id", "Layar kembali ke awal dalam lima belas detik."),
        ("15 Jun 2026 09:05 — Rp 150.000", "id", None),
    ],
)
def test_speakable(shown: str, lang: str, said: str | None) -> None:
    out = speakable(shown, "en" if lang == "en" else "id")
    if said is not None:
        assert out == said
    assert not any(ch.isdigit() for ch in out), out


def test_nothing_secret_is_spoken() -> None:
    for shown in ("NIK 6271********0001 · Palangka Raya", "NIK 6271034512870001", "KK 6271030101090001"):
        out = speakable(shown, "id")
        assert "6271" not in out and "enam ribu" not in out and "*" not in out, out
        assert "juta" not in out and "triliun" not in out, out


def test_script_text_ends_sentences_and_drops_empty_lines() -> None:
    script = lines_script("id", "Kartu diblokir", "", "Datanglah ke kantor kelurahan.")
    assert script == Script("id", ("Kartu diblokir", "Datanglah ke kantor kelurahan."))
    assert script.text == "Kartu diblokir. Datanglah ke kantor kelurahan."
    assert not lines_script("id", "", "…")


@pytest.mark.parametrize("sound", list(Sound))
def test_tones_are_short_wav_files(sound: Sound) -> None:
    with wave.open(io.BytesIO(tone_wav(sound))) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, 22_050)
        seconds = w.getnframes() / w.getframerate()
        frames = w.readframes(w.getnframes())
    assert 0.05 < seconds < 1.0
    peak = max(abs(int.from_bytes(frames[i : i + 2], "little", signed=True)) for i in range(0, 2000, 2))
    assert peak > 1000
    assert len({tone_wav(s) for s in Sound}) == len(Sound)  # three different tones


CONFIG = """
[terminal]
id = "T6271001"
site = "Kantor Kelurahan Langkai"
region = 6271
mode = "kiosk"
[server]
url = "https://khbs.example"
[paths]
data_dir = "/var/lib/kartu"
trust_anchor = "/etc/kartu/trust-anchor.pem"
"""


def test_voice_setting() -> None:
    assert parse_config(CONFIG).voice is VoiceMode.BUTTON
    auto = parse_config(CONFIG + '[devices]\nvoice = "auto"\n')
    assert auto.voice is VoiceMode.AUTO
    assert parse_config(auto.to_toml()).voice is VoiceMode.AUTO
    with pytest.raises(ConfigError, match=r"\[devices\] voice.*off, button, auto"):
        parse_config(CONFIG + '[devices]\nvoice = "loud"\n')
