"""Just enough media parsing to answer like the platform (format, width, height, duration) without
Pillow or ffmpeg, and tiny valid files for tests and the demo.

Images: PNG (IHDR) and JPEG (SOFn). Videos: MP4/MOV (`ftyp` + `moov/mvhd` + `trak/tkhd`), AVI and
MPEG are recognized by signature (dimensions unknown → 0).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class MediaInfo:
    format: str
    width: int = 0
    height: int = 0
    duration: float = 0.0


_PNG_SIG = b"\x89PNG\r\n\x1a\n"
_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def image_info(data: bytes) -> MediaInfo | None:
    """PNG or JPEG header → dimensions; None for any other type."""
    if data.startswith(_PNG_SIG) and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return MediaInfo("png", width, height)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in _SOF:
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return MediaInfo("jpeg", width, height)
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            i += 2 + length
        return MediaInfo("jpeg")
    return None


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the ISO-BMFF boxes in [start, end)."""
    out = []
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        header = 8
        if size == 1 and i + 16 <= end:
            (size,) = struct.unpack(">Q", data[i + 8 : i + 16])
            header = 16
        elif size == 0:
            size = end - i
        if size < header or i + size > end:
            break
        out.append((kind, i + header, i + size))
        i += size
    return out


def video_info(data: bytes) -> MediaInfo | None:
    """MP4/MOV with dimensions and duration; AVI/MPEG by signature; None for any other type."""
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return MediaInfo("avi")
    if data[:4] in (b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3"):
        return MediaInfo("mpeg")
    top = _boxes(data, 0, len(data))
    kinds = [k for k, _, _ in top]
    if not top or kinds[0] not in (b"ftyp", b"moov", b"wide", b"free", b"mdat"):
        return None
    fmt = "mov" if b"ftyp" in kinds and data[8:12] == b"qt  " else "mp4"
    width = height = 0
    duration = 0.0
    for kind, lo, hi in top:
        if kind != b"moov":
            continue
        for sub, slo, shi in _boxes(data, lo, hi):
            if sub == b"mvhd" and shi - slo >= 20:
                if data[slo] == 1:
                    timescale, dur = struct.unpack(">IQ", data[slo + 20 : slo + 32])
                else:
                    timescale, dur = struct.unpack(">II", data[slo + 12 : slo + 20])
                duration = dur / timescale if timescale else 0.0
            if sub == b"trak":
                for tk, tlo, _thi in _boxes(data, slo, shi):
                    if tk != b"tkhd":
                        continue
                    offset = tlo + (96 if data[tlo] == 1 else 84)
                    w, h = struct.unpack(">II", data[offset - 8 : offset])
                    if w and h:
                        width, height = w >> 16, h >> 16
    if b"ftyp" not in kinds and b"moov" not in kinds:
        return None
    return MediaInfo(fmt, width, height, round(duration, 3))


# ---- tiny valid files ----------------------------------------------------------------------
def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png_bytes(width: int, height: int, shade: int = 0) -> bytes:
    """A valid grayscale PNG; `shade` changes the bytes (and so the MD5) without changing the size."""
    raw = b"".join(b"\x00" + bytes([shade % 256]) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return _PNG_SIG + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def jpeg_header(width: int, height: int) -> bytes:
    """SOI + APP0 + SOF0 + EOI: parseable dimensions (enough for the sandbox, not a decodable picture)."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof0 + b"\xff\xd9"


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", 8 + len(payload)) + kind + payload


def mp4_bytes(width: int, height: int, duration_s: float = 10.0, salt: bytes = b"") -> bytes:
    """A minimal ISO-BMFF file (ftyp, moov/mvhd, trak/tkhd, mdat) with the given size and duration."""
    timescale = 1000
    mvhd = struct.pack(">B3xIIII", 0, 0, 0, timescale, int(duration_s * timescale)) + b"\x00" * 80
    matrix = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
    tkhd = (
        struct.pack(">B3sIIII", 0, b"\x00\x00\x03", 0, 0, 1, 0)
        + struct.pack(">I", int(duration_s * timescale))
        + b"\x00" * 8
        + struct.pack(">hhhH", 0, 0, 0, 0)
        + matrix
        + struct.pack(">II", width << 16, height << 16)
    )
    moov = _box(b"moov", _box(b"mvhd", mvhd) + _box(b"trak", _box(b"tkhd", tkhd)))
    return _box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + moov + _box(b"mdat", b"\x00" * 64 + salt)
