#!/usr/bin/env python3
"""provision — factory provisioning for e2e tests: writes settings (name=value
text pairs) into a board's config flash area before first boot, as generation
1 of the settings store (firmware/config/store.c block layout: 20-byte header
"DGST", generation, length, CRC-32C of the blob, CRC-32C of those 16 bytes;
then the blob; firmware/config/settings.h entries [name len u8][name]
[value len u16 LE][value]), in the erase blocks danegate.c reads
(SETTINGS_FIRST_BLOCK 2 and 3 of the config area). The firmware then boots
with those settings exactly as if they had been saved by an earlier boot.
  provision.py FLASH_FILE CONFIG_OFFSET name=value ...
CONFIG_OFFSET: byte offset of the config area in FLASH_FILE (qemu-virt: the
last 8 blocks of the 64 MiB pflash, 0x3E00000)."""
import struct
import sys

ERASE = 256 * 1024
PROGRAM = 4
FIRST_BLOCK = 2


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def blob(pairs):
    out = b''
    for name, value in pairs:
        n, v = name.encode(), value.encode()
        assert 0 < len(n) <= 32 and len(v) < 65536
        out += bytes([len(n)]) + n + struct.pack('<H', len(v)) + v
    return out


def main():
    path, base = sys.argv[1], int(sys.argv[2], 0)
    pairs = [a.split('=', 1) for a in sys.argv[3:]]
    b = blob(pairs)
    hdr = struct.pack('<IIII', 0x54534744, 1, len(b), crc32c(b))
    hdr += struct.pack('<I', crc32c(hdr))
    pad = (-len(b)) % PROGRAM
    data = hdr + b + b'\xff' * pad
    with open(path, 'r+b') as f:
        off = base + FIRST_BLOCK * ERASE
        f.seek(off)
        if f.read(len(data)) != b'\xff' * len(data):
            sys.exit('provision: target block is not erased')
        f.seek(off)
        f.write(data)
    print('provision: %d setting(s), %d bytes at 0x%x' % (len(pairs), len(b), off))


if __name__ == '__main__':
    main()
