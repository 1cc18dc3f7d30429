"""Writes the hostile-input fixtures of tests/hostile.rs into tests/fixtures/hostile/.

Run once (python3 tests/python/make_hostile_fixtures.py); the outputs are committed.
- bomb.png: 70-odd bytes whose header claims 200000 x 200000 RGB pixels (a decompression bomb).
- flipped.tif: a 16-bit RGBA TIFF whose width field was bit-flipped to 33554509 (x 61 rows),
  with a single tiny strip, as found by mutation fuzzing.
"""
import os
import struct
import sys
import zlib

OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures", "hostile")


def chunk(kind, data):
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def bomb_png():
    ihdr = struct.pack(">IIBBBBB", 200000, 200000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def flipped_tiff():
    width, height = 33554509, 61
    pixels = b"\x01\x02" * 4 * 8  # far fewer bytes than the header claims
    entries = []
    # (tag, type, count, value-or-offset); types: 3 SHORT, 4 LONG
    n_entries = 10
    ifd_offset = 8
    ifd_len = 2 + n_entries * 12 + 4
    bits_offset = ifd_offset + ifd_len
    data_offset = bits_offset + 8
    entries = [
        (256, 4, 1, width),
        (257, 4, 1, height),
        (258, 3, 4, bits_offset),
        (259, 3, 1, 1),
        (262, 3, 1, 2),
        (273, 4, 1, data_offset),
        (277, 3, 1, 4),
        (278, 4, 1, height),
        (279, 4, 1, len(pixels)),
        (338, 3, 1, 2),
    ]
    assert len(entries) == n_entries
    out = b"II*\0" + struct.pack("<I", ifd_offset) + struct.pack("<H", n_entries)
    for tag, typ, count, value in entries:
        if typ == 3 and count == 1:
            out += struct.pack("<HHIHH", tag, typ, count, value, 0)
        else:
            out += struct.pack("<HHII", tag, typ, count, value)
    out += struct.pack("<I", 0)
    out += struct.pack("<4H", 16, 16, 16, 16)
    return out + pixels


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in (("bomb.png", bomb_png()), ("flipped.tif", flipped_tiff())):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(name, len(data), "bytes")


if __name__ == "__main__":
    sys.exit(main())
