"""QR images of survey addresses, as SVG for print and PNG for everything else.

Pure rendering: a URL in, bytes out; neither Flask nor the database is involved. The same
URL always gives the same bytes, so that an ETag computed from the URL and
RENDERER_VERSION stays true to the image.
"""

from __future__ import annotations

import io
from functools import lru_cache
from xml.sax.saxutils import escape, quoteattr

import qrcode
from PIL import Image

# Change whenever a change here changes the output (level, quiet zone, SVG markup, PNG
# encoding): the ETags of every image change with it, so no cache keeps the old one.
RENDERER_VERSION = "1"

# Level Q (25 % of the codewords may be lost) rather than M (15 %): posters at a counter get
# scratched, stained, taped over at a corner and photographed under glare by cheap phones.
# A survey address (about 40 characters) still fits a version 3 or 4 symbol, whose modules
# are 3 mm wide on a 12 cm poster, far coarser than any phone camera needs.
ERROR_CORRECTION = qrcode.constants.ERROR_CORRECT_Q
ERROR_CORRECTION_LEVEL = "Q"

# The white margin the QR standard requires around the symbol, in modules.
QUIET_ZONE = 4

# An A4 poster prints the QR about 12 cm wide, i.e. about 1400 px at 300 dpi: 40 px per
# module gives 1320 px for the smallest symbols (version 2) and 1480 px for version 3.
DEFAULT_MODULE_PX = 40
PRINT_DPI = 300

# Bounded: one entry per active code is plenty, and a few KB each.
CACHE_SIZE = 1024

Matrix = tuple[tuple[bool, ...], ...]


@lru_cache(maxsize=CACHE_SIZE)
def qr_matrix(url: str) -> Matrix:
    """Return the modules of the URL's QR symbol, row by row (True is dark), without margin."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=1, border=0)
    code.add_data(url)
    code.make(fit=True)
    return tuple(tuple(bool(module) for module in row) for row in code.get_matrix())


def _with_quiet_zone(matrix: Matrix) -> Matrix:
    width = len(matrix) + 2 * QUIET_ZONE
    blank = ((False,) * width,) * QUIET_ZONE
    side = (False,) * QUIET_ZONE
    return blank + tuple(side + row + side for row in matrix) + blank


def _dark_runs(row: tuple[bool, ...]) -> list[tuple[int, int]]:
    """Return (start, length) of each run of dark modules in a row."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for x, is_dark in enumerate((*row, False)):
        if is_dark and start is None:
            start = x
        elif not is_dark and start is not None:
            runs.append((start, x - start))
            start = None
    return runs


def _svg_path(matrix: Matrix) -> str:
    """Return one path drawing every dark run as a 1-module-high rectangle.

    Each rectangle closes back to its own top-left corner, so the next one on the row is
    a short relative move away.
    """
    commands: list[str] = []
    for y, row in enumerate(matrix):
        previous_x: int | None = None
        for x, length in _dark_runs(row):
            move = f"M{x} {y}" if previous_x is None else f"m{x - previous_x} 0"
            commands.append(f"{move}h{length}v1h-{length}z")
            previous_x = x
    return "".join(commands)


@lru_cache(maxsize=CACHE_SIZE)
def qr_svg(url: str) -> str:
    """Return the URL's QR as a standalone SVG document, one unit per module."""
    matrix = _with_quiet_zone(qr_matrix(url))
    size = len(matrix)
    # width/height in modules keep the symbol's proportions; print layouts scale it to
    # whatever size they need, and crispEdges keeps the modules from being anti-aliased.
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" role="img" '
        f'viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
        f'shape-rendering="crispEdges">'
        f"<title>{escape(url)}</title>"
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d={quoteattr(_svg_path(matrix))}/>'
        f"</svg>\n"
    )


def secret_qr_svg(data: str, title: str) -> str:
    """Return the QR of a value that must not linger (a second factor's secret) as SVG.

    Nothing is cached, and the title names the symbol rather than repeating the value.
    """
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION, box_size=1, border=0)
    code.add_data(data)
    code.make(fit=True)
    matrix = _with_quiet_zone(tuple(tuple(bool(m) for m in row) for row in code.get_matrix()))
    size = len(matrix)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" role="img" '
        f'viewBox="0 0 {size} {size}" width="{size}" height="{size}" '
        f'shape-rendering="crispEdges">'
        f"<title>{escape(title)}</title>"
        f'<rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d={quoteattr(_svg_path(matrix))}/>'
        f"</svg>\n"
    )


@lru_cache(maxsize=CACHE_SIZE)
def qr_png(url: str, module_px: int = DEFAULT_MODULE_PX) -> bytes:
    """Return the URL's QR as a 1-bit PNG, each module a square of module_px pixels."""
    if module_px < 1:
        raise ValueError("module_px must be at least 1")
    matrix = _with_quiet_zone(qr_matrix(url))
    size = len(matrix)
    pixels = bytes(0 if is_dark else 255 for row in matrix for is_dark in row)
    small = Image.frombytes("L", (size, size), pixels)
    # Nearest neighbour at an integer factor: every module stays a sharp, exact square.
    image = small.resize((size * module_px, size * module_px), Image.Resampling.NEAREST)
    bilevel = image.convert("1", dither=Image.Dither.NONE)
    out = io.BytesIO()
    # The dpi makes the poster size the default when the image is placed in a document.
    bilevel.save(out, format="PNG", optimize=True, dpi=(PRINT_DPI, PRINT_DPI))
    return out.getvalue()
