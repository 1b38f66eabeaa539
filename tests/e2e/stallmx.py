#!/usr/bin/env python3
"""stallmx — misbehaving peers for run-stall.sh (python3 stdlib, loopback only).
  stallmx.py --events FILE SPEC...
SPEC is MODE,PORT[,ARG...]:
  dns-drop,PORT          UDP and TCP on PORT: reads DNS queries, never answers
  banner,PORT            accepts TCP, never sends the 220 greeting
  ehlo,PORT              sends 220, reads EHLO, never answers it
  data,PORT,CHAIN,KEY    a full ESMTP peer with STARTTLS (CHAIN: leaf + CAs, so
                         the world's TLSA record for that leaf matches), 354 to
                         DATA, reads the message to the final dot, never answers
  proxy,PORT,TARGET      forwards TCP to 127.0.0.1:TARGET (a well-behaved sink)
Each event is one line in FILE: "<unix time> MODE PORT what [detail]", what =
query / accepted / closed (by the peer, with the seconds held) / dot (the end
of data seen). Exports nothing; runs until killed."""
import argparse
import os
import socket
import ssl
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "world"))
from nsfwd import pump  # noqa: E402  (byte pump of the world's port forwarder)

LOCK = threading.Lock()
EVENTS = [None]


def event(mode, port, what, detail=""):
    with LOCK:
        EVENTS[0].write("%.3f %s %d %s %s\n" % (time.time(), mode, port, what, detail))
        EVENTS[0].flush()


def hold(sock, mode, port, t0):
    """Reads and drops until the peer closes (or 20 min)."""
    sock.settimeout(1)
    end = t0 + 1200
    while time.time() < end:
        try:
            if not sock.recv(65536):
                break
        except socket.timeout:
            continue
        except OSError:
            break
    event(mode, port, "closed", "%.1f" % (time.time() - t0))


def readline(sock, buf):
    while b"\n" not in buf[0]:
        d = sock.recv(4096)
        if not d:
            raise EOFError
        buf[0] += d
    line, buf[0] = buf[0].split(b"\n", 1)
    return line.rstrip(b"\r").decode("latin-1")


def serve_conn(spec, sock, peer):
    mode, port = spec["mode"], spec["port"]
    t0 = time.time()
    event(mode, port, "accepted", "%s:%d" % peer)
    try:
        if mode == "banner":
            return hold(sock, mode, port, t0)
        sock.sendall(b"220 stallmx.invalid ESMTP stallmx\r\n")
        buf = [b""]
        if mode == "ehlo":
            readline(sock, buf)
            return hold(sock, mode, port, t0)
        tls = False
        while True:
            line = readline(sock, buf)
            verb = line[:4].upper()
            if verb == "EHLO":
                ext = ["stallmx.invalid", "PIPELINING", "8BITMIME"] + ([] if tls else ["STARTTLS"])
                sock.sendall(("".join("250-%s\r\n" % e for e in ext[:-1]) + "250 %s\r\n" % ext[-1]).encode())
            elif verb == "STAR" and not tls:
                sock.sendall(b"220 2.0.0 go ahead\r\n")
                sock = spec["ctx"].wrap_socket(sock, server_side=True)
                tls, buf = True, [b""]
            elif verb in ("MAIL", "RCPT", "RSET", "NOOP"):
                sock.sendall(b"250 2.0.0 Ok\r\n")
            elif verb == "DATA":
                sock.sendall(b"354 go on\r\n")
                while readline(sock, buf) != ".":
                    pass
                event(mode, port, "dot")
                return hold(sock, mode, port, t0)
            elif verb == "QUIT":
                sock.sendall(b"221 bye\r\n")
                return event(mode, port, "closed", "quit")
            else:
                sock.sendall(b"502 5.5.2 no\r\n")
    except (EOFError, OSError, ssl.SSLError) as e:
        event(mode, port, "closed", "%.1f %s" % (time.time() - t0, type(e).__name__))
    finally:
        try:
            sock.close()
        except OSError:
            pass


def proxy_conn(spec, sock, peer):
    port = spec["port"]
    try:
        up = socket.create_connection(("127.0.0.1", spec["target"]), timeout=10)
    except OSError:
        sock.close()
        return
    up.settimeout(None)
    event("proxy", port, "accepted", "%s:%d" % peer)
    threading.Thread(target=pump, args=(up, sock), daemon=True).start()
    pump(sock, up)


def tcp_server(spec, handler):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", spec["port"]))
    ls.listen(16)

    def loop():
        while True:
            s, peer = ls.accept()
            threading.Thread(target=handler, args=(spec, s, peer), daemon=True).start()
    threading.Thread(target=loop, daemon=True).start()


def dns_drop(spec):
    port = spec["port"]
    us = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    us.bind(("127.0.0.1", port))

    def loop():
        while True:
            data, peer = us.recvfrom(65536)
            # the question name, for the log (labels after the 12-byte header)
            name, i = [], 12
            while i < len(data) and data[i] and len(name) < 20:
                name.append(data[i + 1:i + 1 + data[i]].decode("latin-1"))
                i += 1 + data[i]
            event("dns-drop", port, "query", ".".join(name) or "?")
    threading.Thread(target=loop, daemon=True).start()
    tcp_server(spec, lambda sp, s, peer: hold(s, "dns-drop-tcp", port, time.time()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", required=True)
    ap.add_argument("spec", nargs="+")
    a = ap.parse_args()
    EVENTS[0] = open(a.events, "a")
    for s in a.spec:
        f = s.split(",")
        spec = {"mode": f[0], "port": int(f[1])}
        if f[0] == "dns-drop":
            dns_drop(spec)
        elif f[0] in ("banner", "ehlo"):
            tcp_server(spec, serve_conn)
        elif f[0] == "data":
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(f[2], f[3])
            spec["ctx"] = ctx
            tcp_server(spec, serve_conn)
        elif f[0] == "proxy":
            spec["target"] = int(f[2])
            tcp_server(spec, proxy_conn)
        else:
            sys.exit("stallmx: unknown mode " + f[0])
    print("stallmx: %d listeners up" % len(a.spec), flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
