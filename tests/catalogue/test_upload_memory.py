"""The worst accepted uploads stay under 100 MB of memory, measured as `make bench-uploads` does (Linux)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import PngImagePlugin

from app import storage
from bench import upload_memory_bench as bench

pytestmark = pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak RSS is read from /proc")

WORST = {
    "PNG RGBA at the cap with 4 MB of text": bench.png(
        storage.MAX_PIXELS["PNG"], text_mb=PngImagePlugin.MAX_TEXT_MEMORY // PngImagePlugin.MAX_TEXT_CHUNK
    ),
    "WebP lossless RGBA at the cap": bench.webp(storage.MAX_PIXELS["WEBP"], lossless=True),
}


@pytest.mark.parametrize("make", WORST.values(), ids=WORST.keys())
def test_the_worst_accepted_files_take_less_than_100_mb(tmp_path, make):
    path = tmp_path / "upload"
    make(path)

    measured = subprocess.run(
        [sys.executable, bench.__file__, "--measure", str(path)], capture_output=True, text=True, check=True
    )
    result = json.loads(measured.stdout.strip().splitlines()[-1])

    assert result["accepted"], result
    assert 10 < result["peak_mb"] < bench.BUDGET_MB  # more than nothing: the measure sees the decoding
