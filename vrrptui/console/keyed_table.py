"""KeyedTable: the console's DataTable, kept in sync with a list of (row key, cells) by key.

A refresh changes only the cells whose text changed, adds new rows with `add_row(key=...)` and
removes rows that went away (dolphie). DataTable.update_cell re-renders every cell of the table
(its render caches are all keyed on one update count) and repaints the whole widget; here a
change that keeps the column's width re-renders that cell and repaints its row only: a ticking
countdown costs a cell, not a table.
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

from rich.cells import cell_len
from rich.text import Text
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowKey

from vrrptui.console.framestyle import OneStylePerFrame

SHRINK_ROWS = 32  # tables up to this many rows also shrink columns when cells get narrower
LAZY_ROWS = 32  # tables with more rows update only the rows in view (sync_lazily)
RENDER_CACHE_LINES = 100  # rendered lines a table keeps (a screen or two)
# DataTable's (private) render caches, keyed (row key, column key, ...), (row key, ...), (y, ...) and
# (update count, row index, ...); the cell data is _data[row key][column key].
CELL_CACHE, ROW_CACHE, LINE_CACHE, RENDERABLES_CACHE = (
    "_cell_render_cache", "_row_render_cache", "_line_cache", "_row_renderable_cache")


class KeyedTable(DataTable, OneStylePerFrame):
    """A DataTable kept in sync with a list of (row key, cells)."""

    COLUMNS: tuple[tuple[str, str], ...] = ()  # (key, label)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._cells: dict[str, tuple[Any, ...]] = {}
        self._lazy: tuple[list[str], Callable[[str], tuple[Any, ...]]] | None = None
        self._stale: dict[RowKey, set[ColumnKey]] = {}  # cells changed in place, rendered again on the next frame
        # DataTable keeps up to 10,000 rendered cells and 1,000 lines; at 2,550 adverts/s every cached
        # object lengthens Python's full GC pause. DataTable has no public setting for these sizes: its
        # (private) caches are shrunk through LRUCache's public maxsize. If a Textual release renames
        # them, they are left alone and cells are updated by DataTable.update_cell (the whole table).
        sizes = {LINE_CACHE: RENDER_CACHE_LINES, ROW_CACHE: RENDER_CACHE_LINES, CELL_CACHE: RENDER_CACHE_LINES * 12,
                 RENDERABLES_CACHE: RENDER_CACHE_LINES}
        caches = {name: getattr(self, name, None) for name in sizes}
        for name, lru in caches.items():
            if isinstance(lru, LRUCache):
                lru.maxsize = sizes[name]
        self._in_place = all(isinstance(c, LRUCache) for c in caches.values()) and isinstance(
            getattr(self, "_data", None), dict)

    def on_mount(self) -> None:
        for key, label in self.COLUMNS:
            self.add_column(label, key=key)

    # --- in-place cell updates ---------------------------------------------------------

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: Any, *,
                    update_width: bool = False) -> None:
        """DataTable.update_cell; without a width change only this cell is rendered again and its row repainted."""
        if update_width or not self._in_place:
            super().update_cell(row_key, column_key, value, update_width=update_width)
            return
        row_key = RowKey(row_key) if isinstance(row_key, str) else row_key
        column_key = ColumnKey(column_key) if isinstance(column_key, str) else column_key
        row_index = self._row_locations.get(row_key)
        if row_index is None or column_key not in self._column_locations:
            raise CellDoesNotExist(f"No cell exists for row_key={row_key!r}, column_key={column_key!r}.")
        self._data[row_key][column_key] = value
        self._stale.setdefault(row_key, set()).add(column_key)
        self.refresh_row(row_index)  # nothing if the row is out of view: its cells are dropped all the same

    def render_lines(self, crop: Region) -> list[Strip]:
        if self._stale:
            self._drop_stale()
        return super().render_lines(crop)

    def _drop_stale(self) -> None:
        """Forget what was rendered from the cells changed in place (and from their rows), nothing else."""
        stale, self._stale = self._stale, {}
        cells: LRUCache = getattr(self, CELL_CACHE)
        for key in [k for k in cells.keys() if k[1] in stale.get(k[0], ())]:
            cells.discard(key)
        rows: LRUCache = getattr(self, ROW_CACHE)
        for key in [k for k in rows.keys() if k[0] in stale]:
            rows.discard(key)
        renderables: LRUCache = getattr(self, RENDERABLES_CACHE)
        indexes = {self._row_locations.get(key) for key in stale}
        for key in [k for k in renderables.keys() if k[1] in indexes]:
            renderables.discard(key)
        lines: LRUCache = getattr(self, LINE_CACHE)
        for key in [k for k in lines.keys() if self._line_row(k[0]) in stale]:
            lines.discard(key)

    def _line_row(self, y: int) -> RowKey | None:
        try:
            return self._get_offsets(y)[0]
        except LookupError:
            return None

    # --- sync --------------------------------------------------------------------------

    def sync_lazily(self, keys: list[str], cells_for: Callable[[str], tuple[Any, ...]]) -> None:
        """sync() for tables of any size: cells are made for new rows and the rows in view only.

        255 instances are ~20 screens; the rows out of view are brought up to date the moment
        they scroll in (watch_scroll_y), so what is on screen is always current.
        """
        self._lazy = (keys, cells_for)
        if len(keys) <= LAZY_ROWS:
            self.sync([(key, cells_for(key)) for key in keys])
            return
        in_view = self._keys_in_view()
        self.sync([(key, cells_for(key)) for key in keys if key in in_view or key not in self._cells], set(keys))

    def _keys_in_view(self) -> set[str]:
        top = round(self.scroll_y)
        shown = self.scrollable_content_region.height - (self.header_height if self.show_header else 0)
        keys: set[str] = set()
        for index in range(top, top + max(shown, 1) + 1):
            row_key = self._row_locations.get_key(index)
            if row_key is not None and row_key.value is not None:
                keys.add(row_key.value)
        return keys

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if self._lazy is not None and round(old) != round(new):
            self.call_later(self._sync_lazy)

    def _sync_lazy(self) -> None:
        if self._lazy is not None:
            self.sync_lazily(*self._lazy)

    def sync(self, rows: list[tuple[str, tuple[Any, ...]]], present: set[str] | None = None) -> None:
        """Rows as (key, cells); `present`: every key still in the table when `rows` is a subset."""
        seen = set() if present is None else present
        for key, cells in rows:
            seen.add(key)
            old = self._cells.get(key)
            if old is None:
                self.add_row(*cells, key=key)
            else:
                for (col, _), before, after in zip(self.COLUMNS, old, cells, strict=False):
                    if before != after:
                        # update_width re-measures the column and relayouts the screen: only when the
                        # width changed (a ticking "1m05s" never does); big tables' columns only grow
                        # (a narrower cell re-measures the whole column: O(rows^2) with 255 instances)
                        width, was = _cell_width(after), _cell_width(before)
                        resize = width > was or (width < was and len(self._cells) <= SHRINK_ROWS)
                        self.update_cell(key, col, after, update_width=resize)
            self._cells[key] = cells
        for key in [k for k in self._cells if k not in seen]:
            self.remove_row(key)
            del self._cells[key]

    @property
    def selected_key(self) -> str | None:
        if not self._cells or self.cursor_row < 0:
            return None
        try:
            return self.coordinate_to_cell_key(Coordinate(self.cursor_row, 0)).row_key.value
        except Exception:
            return None


def _cell_width(value: Any) -> int:
    return value.cell_len if isinstance(value, Text) else cell_len(str(value))
