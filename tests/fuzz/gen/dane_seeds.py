#!/usr/bin/env python3
"""dane_seeds.py DANE_DIR [TLSA_DIR] — seed inputs from the test PKI
(tests/unit/data/dane): chains in fuzz_dane's format (from
tools/dane-verify/make-seeds.py) and, when TLSA_DIR is given, TLSA RDATA
sets plus chains in fuzz_tlsa's format (see fuzz_tlsa.c)."""
import hashlib, os, struct, subprocess, sys

pki = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../unit/data/dane")


def der(name):
    return subprocess.run(["openssl", "x509", "-in", os.path.join(pki, name + ".pem"),
                           "-outform", "DER"], capture_output=True, check=True).stdout


def spki(name):
    pub = subprocess.run(["openssl", "x509", "-in", os.path.join(pki, name + ".pem"),
                          "-noout", "-pubkey"], capture_output=True, check=True).stdout
    return subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                          capture_output=True, check=True).stdout


def chain_blob(certs):
    ders = [der(c) for c in certs]
    return bytes([len(ders) - 1]) + b"".join(struct.pack(">H", len(x)) + x for x in ders)


dane = {
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
for name, (pick, certs) in dane.items():
    with open(os.path.join(out, name), "wb") as f:
        f.write(bytes([pick]) + chain_blob(certs))


def sel_data(cert, sel, mt):
    data = der(cert) if sel == 0 else spki(cert)
    if mt == 1:
        return hashlib.sha256(data).digest()
    if mt == 2:
        return hashlib.sha512(data).digest()
    return data


def rdata(u, s, m, cert):
    return bytes([u, s, m]) + sel_data(cert, s, m)


# fuzz_tlsa: [nrr][order][textsize][per rr: u16 len, rdata][chain as above]
tlsa = {
    "dane-ee-spki": ([(3, 1, 1, "leaf-mx")], ["leaf-mx", "int-a"]),
    "dane-ee-full": ([(3, 0, 0, "leaf-mx")], ["leaf-mx", "int-a"]),
    "dane-ta-cert": ([(2, 0, 1, "int-a")], ["leaf-mx", "int-a"]),
    "dane-ta-root-spki512": ([(2, 1, 2, "root-a")], ["leaf-mx", "int-a", "root-a"]),
    "mixed-usable": ([(0, 0, 1, "root-a"), (1, 1, 1, "leaf-mx"), (3, 1, 1, "leaf-b-mx"),
                      (2, 0, 1, "int-a")], ["leaf-mx", "int-a"]),
    "wrong-key": ([(3, 1, 1, "leaf-b-mx")], ["leaf-mx", "int-a"]),
    "self-signed": ([(3, 0, 1, "leaf-self")], ["leaf-self"]),
    "expired-ta": ([(2, 0, 1, "int-a")], ["leaf-expired-mx", "int-a"]),
}
if len(sys.argv) > 2:
    out = sys.argv[2]
    os.makedirs(out, exist_ok=True)
    for name, (rrs, certs) in tlsa.items():
        blob = bytes([len(rrs), 0, 200])
        for rr in rrs:
            r = rdata(*rr)
            blob += struct.pack(">H", len(r)) + r
        with open(os.path.join(out, name), "wb") as f:
            f.write(blob + chain_blob(certs))
