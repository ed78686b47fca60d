"""Dialogs over a dimmed console, drawn straight from the console's own lines.

Textual draws a modal screen's translucent background by rendering the screen below as a Rich
renderable (BackgroundScreen), tinting every segment, then cutting the result back into lines:
at 160x50 that is thousands of colour blends and a full Rich render pass each time a dialog
opens. Here the screen below gives its lines (Strips) directly, and each style is tinted once
per (base style, style, tint): the same pixels, a fraction of the work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from rich.console import RenderableType
from rich.segment import Segment
from rich.color import Color as RichColor
from rich.style import Style as RichStyle
from textual.color import Color
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.visual import Visual

if TYPE_CHECKING:
    from textual.css.styles import RulesMap
    from textual.screen import Screen
    from textual.style import Style
    from textual.visual import RenderOptions

TINTED_STYLES = 4096  # (style, tint) pairs remembered; the console uses far fewer
NULL_STYLE = RichStyle()
ResultType = TypeVar("ResultType")


class RememberedTint(BackgroundScreen):
    """Textual's tint of a style (BackgroundScreen.process_segments): the style without its meta and
    links, its colours blended with the tint. Remembered per style, and the blend per colour pair:
    the cells of a table differ only in their meta (row, column), so a new screenful of cells costs
    a dict lookup each, not a colour blend."""

    _tinted: dict[tuple[RichStyle | None, Color], RichStyle] = {}
    _colours: dict[tuple[RichColor | None, RichColor | None, Color], RichStyle] = {}

    @classmethod
    def tint(cls, style: RichStyle | None, color: Color) -> RichStyle:
        tinted = cls._tinted
        new = tinted.get((style, color))
        if new is None:
            if len(tinted) >= TINTED_STYLES:
                tinted.clear()
                cls._colours.clear()
            plain = NULL_STYLE if style is None else style.clear_meta_and_links()
            key = (plain.color, plain.bgcolor, color)
            colours = cls._colours.get(key)
            if colours is None:
                cell = Segment(" ", RichStyle(color=plain.color, bgcolor=plain.bgcolor))
                blended = next(iter(BackgroundScreen.process_segments([cell], color))).style or NULL_STYLE
                colours = cls._colours[key] = RichStyle.from_color(blended.color, blended.bgcolor)
            new = tinted[(style, color)] = plain + colours
        return new

    @classmethod
    def process_segments(cls, segments: Iterable[Segment], color: Color) -> Iterable[Segment]:
        for segment in segments:
            text, style, control = segment
            yield segment if control else Segment(text, cls.tint(style, color))


class DimmedScreen(Visual):
    """The screen below a dialog, tinted: its compositor's lines, each segment's style tinted and
    laid over the dialog screen's own style, as Textual's Rich path (BackgroundScreen) gives them."""

    def __init__(self, screen: Screen, color: Color) -> None:
        self.screen = screen
        self.color = color

    def render_strips(self, width: int, height: int | None, style: Style, options: RenderOptions) -> list[Strip]:
        base = style.rich_style
        color = self.color
        tint = RememberedTint.tint
        styled: dict[RichStyle | None, RichStyle] = {}
        strips = []
        for line in self.screen._compositor.render_strips()[:height]:
            segments = []
            for text, seg_style, control in line:
                if control:
                    continue
                new = styled.get(seg_style)
                if new is None:
                    new = styled[seg_style] = base + tint(seg_style, color)
                segments.append(Segment(text, new))
            strips.append(Strip(segments).crop(0, width))
        return strips

    def get_optimal_width(self, rules: RulesMap, container_width: int) -> int:
        return container_width

    def get_height(self, rules: RulesMap, width: int) -> int:
        return self.screen._compositor.size.height


class DimmedModal(ModalScreen[ResultType]):
    """A ModalScreen whose dimmed background is the screen below's lines, one dict lookup per segment."""

    def render(self) -> RenderableType | Visual:  # type: ignore[override]
        background = super().render()
        if type(background) is BackgroundScreen:
            return DimmedScreen(background.screen, background.color)
        return background
