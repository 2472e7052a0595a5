"""scripts/export_png.py renders a plotly figure to a real PNG with the system Chromium."""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "export_png.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("export_png", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.browser
def test_export_png_writes_a_picture(browser_requirements, tmp_path):
    export_png = _load_script()
    path = export_png.export(export_png._demo_figure(), tmp_path / "demo.png")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (700, 400), f"unexpected size {width}x{height}"
    assert len(data) > 10_000, "the PNG is suspiciously small (blank chart?)"
