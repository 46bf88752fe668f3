"""Contrast, computed from the theme: every text and control colour pair meets WCAG AA (4.5:1 text,
3:1 large text and control outlines), every colour the UI paints with is the theme's, and the style
sheet's own colour pairs (a rule's text on its background) meet 4.5:1."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kiosk_ui import theme
from kiosk_ui.theme import MINIMUM, PAIRS, STYLE, Use, contrast

UI = Path(theme.__file__).parent
HEX = re.compile(r"#[0-9A-Fa-f]{6}\b")
PALETTE = {
    v.upper() for k, v in vars(theme).items() if k.isupper() and isinstance(v, str) and HEX.fullmatch(v)
}


def test_contrast_formula() -> None:
    assert contrast("#000000", "#FFFFFF") == pytest.approx(21.0)
    assert contrast("#777777", "#FFFFFF") == pytest.approx(4.48, abs=0.01)


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.what)
def test_every_pair_meets_wcag_aa(pair: theme.Pair) -> None:
    ratio = contrast(pair.fg, pair.bg)
    assert ratio >= MINIMUM[pair.use], f"{pair.what}: {pair.fg} on {pair.bg} is {ratio:.2f}:1"


def test_what_failed_before_is_listed() -> None:
    listed = {p.what for p in PAIRS}
    assert {"disabled button", "selected table row", "checkbox outline", "text field placeholder"} <= listed


def test_every_colour_in_the_ui_is_the_themes() -> None:
    for path in sorted(UI.glob("*.py")):
        for colour in HEX.findall(path.read_text(encoding="utf-8")):
            assert colour.upper() in PALETTE, f"{path.name}: {colour} is not a theme colour"


def _rules(style: str) -> list[tuple[str, dict[str, str]]]:
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", style):
        props = {}
        for decl in body.split(";"):
            if ":" in decl:
                key, value = decl.split(":", 1)
                props[key.strip()] = value.strip()
        rules.append((selector.strip(), props))
    return rules


def test_style_sheet_text_on_its_own_background() -> None:
    checked = 0
    for selector, props in _rules(STYLE):
        fg, bg = props.get("color"), props.get("background")
        if fg and bg and HEX.fullmatch(fg) and HEX.fullmatch(bg):
            assert contrast(fg, bg) >= MINIMUM[Use.TEXT], f"{selector}: {fg} on {bg}"
            checked += 1
        sel_fg, sel_bg = props.get("selection-color"), props.get("selection-background-color")
        if sel_fg and sel_bg:
            assert contrast(sel_fg, sel_bg) >= MINIMUM[Use.TEXT], f"{selector} selection"
    assert checked >= 8


def test_disabled_buttons_keep_readable_text() -> None:
    for selector, props in _rules(STYLE):
        if selector.endswith(":disabled"):
            assert contrast(props["color"], props["background"]) >= MINIMUM[Use.TEXT], selector
