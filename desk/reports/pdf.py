"""HTML to PDF with WeasyPrint: A4, running header, "第 x 页 / 共 y 页", CJK fonts embedded.

The page layout itself is print CSS in the templates (so a browser's "print" of the HTML
looks the same); this module adds the font and the fetcher. Noto Sans CJK SC comes from
Debian's fonts-noto-cjk, through fontconfig (``local()``) or, where fontconfig does not
know it, from its file; WeasyPrint embeds only the glyphs used. The fetcher loads
``data:`` URIs and font files only: a report never reaches the network or reads other
files, whatever its data says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

FONT_DIR = Path("/usr/share/fonts/opentype/noto")
FONT_FILE = FONT_DIR / "NotoSansCJK-Regular.ttc"
BOLD_FONT_FILE = FONT_DIR / "NotoSansCJK-Bold.ttc"

_FONTS_CSS = f"""
@font-face {{
  font-family: "Noto Sans CJK SC";
  font-weight: normal;
  src: local("Noto Sans CJK SC"), url("{FONT_FILE.as_uri()}");
}}
@font-face {{
  font-family: "Noto Sans CJK SC";
  font-weight: bold;
  src: local("Noto Sans CJK SC Bold"), local("Noto Sans CJK SC"), url("{BOLD_FONT_FILE.as_uri()}");
}}
"""


class ReportFetcher(URLFetcher):
    """Only ``data:`` URIs and files of the font directory; everything else is refused."""

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.startswith("data:") or url.startswith(FONT_DIR.as_uri() + "/"):
            return super().fetch(url, headers)
        raise ValueError(f"reports load no external resource: {url[:80]!r}")


def html_to_pdf(html: str) -> bytes:
    """The PDF of a rendered report page."""
    fonts = FontConfiguration()
    fetcher = ReportFetcher(allowed_protocols={"data", "file"})
    stylesheet = CSS(string=_FONTS_CSS, font_config=fonts, url_fetcher=fetcher)
    document = HTML(string=html, url_fetcher=fetcher, base_url=FONT_DIR.as_uri() + "/")
    pdf: bytes = document.write_pdf(stylesheets=[stylesheet], font_config=fonts)
    return pdf
