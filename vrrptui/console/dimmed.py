"""Dialogs over a dimmed console, the tint computed once per style instead of once per cell run.

Textual draws a modal screen's translucent background by tinting every segment of the screen
below (BackgroundScreen): at 160x50 that is thousands of colour blends each time a dialog opens
and on every frame while it is open. The console shows a few dozen distinct styles, so the
tinted style is remembered per (style, tint): the same pixels, a fraction of the work.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from rich.console import RenderableType
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.renderables.background_screen import BackgroundScreen
from textual.screen import ModalScreen

TINTED_STYLES = 4096  # (style, tint) pairs remembered; the console uses far fewer
ResultType = TypeVar("ResultType")


class RememberedTint(BackgroundScreen):
    _tinted: dict[tuple[Style | None, Color], Style] = {}

    @classmethod
    def process_segments(cls, segments: Iterable[Segment], color: Color) -> Iterable[Segment]:
        tinted = cls._tinted
        for segment in segments:
            text, style, control = segment
            if control:
                yield segment
                continue
            new = tinted.get((style, color))
            if new is None:
                if len(tinted) >= TINTED_STYLES:
                    tinted.clear()
                one = next(iter(BackgroundScreen.process_segments([Segment(" ", style)], color)))
                new = tinted[(style, color)] = one.style or Style()
            yield Segment(text, new)


class DimmedModal(ModalScreen[ResultType]):
    """A ModalScreen whose dimmed background costs one dict lookup per segment."""

    def render(self) -> RenderableType:
        background = super().render()
        if type(background) is BackgroundScreen:
            return RememberedTint(background.screen, background.color)
        return background
