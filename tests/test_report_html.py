"""`compliance report --format html`: one self-contained offline file, checked in a real headless browser.

The browser test is skipped only when no Chromium is installed and $CI is unset; in CI a
missing browser fails (CI installs Debian's `chromium`).
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest
from _report_dir import make_report_dir
from click.testing import CliRunner

from compliance.cli import main

pytest.importorskip("plotly")

CHARTS = ("chart-by-rule", "chart-by-level", "chart-by-month", "chart-top-units")
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_report_dir(tmp_path_factory.mktemp("campaign") / "out")


@pytest.fixture(scope="module")
def html_file(report_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("html") / "report.html"
    done = CliRunner().invoke(main, ["report", str(report_dir), "--format", "html", "-o", str(out)])
    assert done.exit_code == 0, done.output
    return out


def browser() -> str:
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail("no Chromium in CI: apt-get install -y chromium")
    pytest.skip("no Chromium installed (apt-get install -y chromium)")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    profile = tmp_path / "profile"
    profile.mkdir(exist_ok=True)
    return subprocess.run(
        [browser(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000", *args],
        capture_output=True,
        timeout=180,
        check=True,
    )


def test_self_contained(html_file: Path) -> None:
    text = html_file.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<html lang="vi">' in text
    # Nothing is loaded from elsewhere: no script, style sheet, image or font by URL.
    assert not re.search(r"<(script|img|iframe|link)\b[^>]*\b(src|href)\s*=", text, re.IGNORECASE)
    assert "@import" not in text and "url(http" not in text
    assert "default-src 'none'" in text  # and the page forbids it anyway
    for chart in CHARTS:
        assert f'id="{chart}"' in text
    assert text.count("<script") >= len(CHARTS)
    assert "Đã phát hiện 91 cán bộ, công chức, viên chức" in text
    assert "Có 07 xã không có bộ phận một cửa." in text


def test_english_html(report_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "en.html"
    done = CliRunner().invoke(main, ["report", str(report_dir), "--format", "html", "--lang", "en", "-o", str(out)])
    assert done.exit_code == 0, done.output
    text = out.read_text(encoding="utf-8")
    assert '<html lang="en">' in text and "91 officials were absent" in text


def _chart_segments(dom: str) -> dict[str, str]:
    starts = sorted((dom.index(f'id="{c}"'), c) for c in CHARTS)
    segments = {}
    for (start, chart), nxt in zip(starts, [s for s, _ in starts[1:]] + [len(dom)]):
        segments[chart] = dom[start:nxt]
    return segments


def test_charts_render_in_a_headless_browser(html_file: Path, tmp_path: Path) -> None:
    done = chromium(tmp_path, "--dump-dom", html_file.as_uri())
    dom = done.stdout.decode("utf-8", errors="replace")
    segments = _chart_segments(dom)
    for chart, segment in segments.items():
        assert 'class="main-svg"' in segment, f"{chart}: plotly drew no SVG"
        assert re.search(r'class="trace bars"', segment), f"{chart}: no bar trace"
        assert re.search(r'<path[^>]*class="point"|class="point"', segment), f"{chart}: no bar drawn"
    assert dom.count('class="main-svg"') >= len(CHARTS)


def _png_pixels(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """A minimal PNG decoder (8-bit RGB/RGBA, not interlaced) for the screenshot check."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            bpp = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(height):
        start = y * (stride + 1)
        kind_ = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        if kind_ == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif kind_ == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind_ == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind_ == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def test_screenshot_is_not_blank(html_file: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    chromium(tmp_path, "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}", html_file.as_uri())
    width, height, bpp, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1280, 2400)
    colours: set[bytes] = set()
    background = rows[0][:3]
    differing = 0
    reds = 0
    for y in range(0, height, 4):
        row = rows[y]
        for x in range(0, width * bpp, 4 * bpp):
            pixel = row[x : x + 3]
            colours.add(pixel)
            if pixel != background:
                differing += 1
            r, g, b = pixel
            if r > 140 and g < 80 and b < 80:  # the findings bars (#a3262a)
                reds += 1
    sampled = (height // 4) * (width // 4)
    assert len(colours) > 50, "the screenshot is nearly one colour"
    assert differing > sampled * 0.2, "the screenshot is mostly background"
    assert reds > 500, "no findings bars visible in the screenshot"
