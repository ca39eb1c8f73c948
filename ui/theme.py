"""The look: two colour themes (default ≥ 4.5:1, high contrast ≥ 7:1), three text scales, big touch targets."""

from __future__ import annotations

from dataclasses import dataclass

FONT_FAMILY = "Noto Sans CJK SC"
SCREEN = "screen"  # the object name of a whole screen: the kiosk window, the staff panel, the set-up wizard
BODY_PX = 32  # body text at ×1 (DESIGN §9)
TITLE_PX = 52
BUTTON_PX = 34
SMALL_PX = 32  # nothing on screen is smaller than body text
TOUCH_PX = 96  # touch targets at least 96 × 96 px
GAP_PX = 24  # between touch targets (≥ 16)
LINE_HEIGHT = 1.4  # ≥ 1.3
SCALES = (1.0, 1.25, 1.5)
HELP_SCALE = 1.25  # the help banner's words grow no larger: at ×1.5 a landscape screen has no height left for it


@dataclass(frozen=True)
class Theme:
    name: str
    background: str
    text: str
    muted_text: str  # still ≥ the theme's minimum contrast
    card: str
    card_border: str
    primary: str  # the one main action
    on_primary: str
    secondary: str
    on_secondary: str
    urgent: str
    on_urgent: str
    focus: str
    minimum_contrast: float


DEFAULT = Theme(
    name="default", background="#F7F5EF", text="#1A1A1A", muted_text="#3D4A57", card="#FFFFFF",
    card_border="#5A6B7D", primary="#0B5CAD", on_primary="#FFFFFF", secondary="#DDE6F0", on_secondary="#0B2F57",
    urgent="#B3261E", on_urgent="#FFFFFF", focus="#E07B00", minimum_contrast=4.5,
)  # fmt: skip
HIGH_CONTRAST = Theme(
    name="high_contrast", background="#000000", text="#FFFFFF", muted_text="#F0F0F0", card="#000000",
    card_border="#FFFFFF", primary="#FFD400", on_primary="#000000", secondary="#1F1F1F", on_secondary="#FFFFFF",
    urgent="#FFD400", on_urgent="#000000", focus="#00E5FF", minimum_contrast=7.0,
)  # fmt: skip


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #RRGGBB colours."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_pairs(theme: Theme) -> list[tuple[str, str, str]]:
    """Every (what, text colour, background colour) pair the stylesheet uses."""
    return [
        ("text on background", theme.text, theme.background),
        ("muted text on background", theme.muted_text, theme.background),
        ("text on card", theme.text, theme.card),
        ("muted text on card", theme.muted_text, theme.card),
        ("primary button", theme.on_primary, theme.primary),
        ("secondary button", theme.on_secondary, theme.secondary),
        ("urgent badge", theme.on_urgent, theme.urgent),
    ]


def stylesheet(theme: Theme, scale: float) -> str:
    def px(size: int) -> int:
        return round(size * scale)

    t = theme
    return f"""
    QWidget {{ color: {t.text}; font-family: "{FONT_FAMILY}"; font-size: {px(BODY_PX)}px; }}
    /* The background once, on the screen itself (SCREEN): on every QWidget each nested layout's widget filled the
       whole page again, 37 % of a repaint. Scroll areas' own widgets fill with the palette unless told not to. */
    QWidget#{SCREEN} {{ background: {t.background}; }}
    QScrollArea, QScrollArea > QWidget, QScrollArea > QWidget > QWidget {{ background: transparent; }}
    QLabel {{ background: transparent; }}
    QLabel[role="title"] {{ font-size: {px(TITLE_PX)}px; font-weight: bold; }}
    QLabel[role="subtitle"] {{ font-size: {px(BODY_PX)}px; color: {t.muted_text}; }}
    QLabel[role="muted"] {{ font-size: {px(SMALL_PX)}px; color: {t.muted_text}; }}
    QLabel[role="dots"] {{ font-size: {px(TITLE_PX)}px; letter-spacing: 12px; }}
    QFrame[role="card"] {{ background: {t.card}; border: 3px solid {t.card_border}; border-radius: 16px; }}
    QFrame[role="card"][urgent="true"] {{ border: 6px solid {t.urgent}; }}
    QFrame[role="card"][pressed="true"] {{ border: 6px solid {t.focus}; }}
    QFrame[role="card"] QLabel {{ background: {t.card}; }}
    QFrame[role="banner"] {{ background: {t.secondary}; border-radius: 16px; }}
    QFrame[role="banner"] QLabel {{ background: {t.secondary}; color: {t.on_secondary}; }}
    QFrame[role="help"] {{ background: {t.primary}; border: 4px solid {t.focus}; }}
    QFrame[role="help"] QLabel {{ background: {t.primary}; color: {t.on_primary}; }}
    QFrame[role="help"] QLabel[role="title"] {{ font-size: {round(TITLE_PX * min(scale, HELP_SCALE))}px; }}
    QFrame[role="overlay"] {{ background: {t.card}; border: 6px solid {t.focus}; border-radius: 24px; }}
    QFrame[role="overlay"] QLabel {{ background: {t.card}; }}
    /* after the card rules, which would otherwise paint the badge in the card's colour */
    QLabel[role="badge"], QFrame[role="card"] QLabel[role="badge"] {{
        font-size: {px(SMALL_PX)}px; font-weight: bold; color: {t.on_urgent};
        background: {t.urgent}; border-radius: 8px; padding: 2px 12px; }}
    QPushButton {{ min-height: {TOUCH_PX}px; min-width: {TOUCH_PX}px; padding: 8px 24px;
        font-size: {px(BUTTON_PX)}px; border-radius: 16px;
        background: {t.secondary}; color: {t.on_secondary}; border: 3px solid {t.card_border}; }}
    QPushButton[role="primary"] {{ background: {t.primary}; color: {t.on_primary}; border: 3px solid {t.primary};
        font-weight: bold; }}
    QPushButton[role="key"] {{ font-size: {px(TITLE_PX)}px; font-weight: bold; }}
    QPushButton[role="notice"] {{ text-align: left; background: {t.card}; color: {t.text};
        border: 3px solid {t.card_border}; padding: 12px 24px; }}
    QPushButton[role="notice"][urgent="true"] {{ border: 6px solid {t.urgent}; }}
    QToolButton {{ min-height: {TOUCH_PX}px; min-width: {TOUCH_PX}px; padding: 16px 32px;
        font-size: {px(BODY_PX)}px; border-radius: 16px;
        background: {t.secondary}; color: {t.on_secondary}; border: 3px solid {t.card_border}; }}
    QToolButton:pressed {{ border: 6px solid {t.focus}; }}
    QPushButton:checked, QPushButton[chosen="true"] {{ background: {t.primary}; color: {t.on_primary}; }}
    QPushButton:pressed {{ border: 6px solid {t.focus}; }}
    QPushButton:disabled, QPushButton[role="primary"]:disabled {{ color: {t.muted_text}; background: {t.background};
        border: 3px dashed {t.card_border}; }}
    QLineEdit {{ background: {t.card}; border: 3px solid {t.card_border}; border-radius: 12px; padding: 8px 16px;
        font-size: {px(BUTTON_PX)}px; }}
    QLineEdit:focus {{ border: 6px solid {t.focus}; }}
    QScrollBar:vertical {{ width: 32px; background: {t.background}; }}
    QScrollBar::handle:vertical {{ background: {t.card_border}; border-radius: 12px; min-height: 96px; }}
    """
