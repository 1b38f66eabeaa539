#!/usr/bin/env python3
"""make-seeds.py OUTDIR — fuzz_dane seed inputs: chains of the test PKI
(tests/unit/data/dane) in fuzz_dane's input format."""
import os, struct, subprocess, sys

pki = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../tests/unit/data/dane")
seeds = {
    "ee-and-ta": (0xFF, ["leaf-mx", "int-a"]),
    "root-sent": (0x1E, ["leaf-mx", "int-a", "root-a"]),
    "self-signed": (0xC0, ["leaf-self"]),
    "key-signs-leaf": (0x08, ["leaf-direct-mx"]),
    "recipient": (0x02, ["leaf-recipient", "int-a"]),
    "wildcard": (0x02, ["leaf-wild", "int-a"]),
    "cn-only": (0x02, ["leaf-cn-only", "int-a"]),
    "expired": (0x03, ["leaf-expired-mx", "int-a"]),
    "not-a-ca": (0x02, ["leaf-notca-mx", "notca"]),
}
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name, (pick, certs) in seeds.items():
    ders = [subprocess.run(["openssl", "x509", "-in", os.path.join(pki, c + ".pem"),
                            "-outform", "DER"], capture_output=True, check=True).stdout
            for c in certs]
    blob = bytes([pick, len(ders) - 1]) + b"".join(struct.pack(">H", len(x)) + x for x in ders)
    with open(os.path.join(out, name), "wb") as f:
        f.write(blob)
