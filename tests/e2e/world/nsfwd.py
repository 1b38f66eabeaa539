#!/usr/bin/env python3
"""nsfwd.py — forwards ports from inside a network namespace to the host's
loopback, so a client run with `ip netns exec NS` (posttls-finger: port 53
resolver from resolv.conf, MX on port 25) reaches the world's services.

Exports: a command line.
  nsfwd.py --netns NAME [--pidfile F] [--tcp LADDR:LPORT=TADDR:TPORT]...
           [--udp LADDR:LPORT=TADDR:TPORT]...
Listening sockets are made inside /run/netns/NAME (setns before they are
created, then back); every outbound socket is made in the host namespace.
Bounds: 64 concurrent TCP relays, UDP answers waited for 5 s, 64 KiB reads.
"""
import argparse
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000
MAX_TCP = 64
sem = threading.BoundedSemaphore(MAX_TCP)


def hp(s):
    h, p = s.rsplit(":", 1)
    return (h, int(p))


def setns(fd):
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def tcp_relay(c, target):
    try:
        u = socket.create_connection(target, timeout=10)
        u.settimeout(None)
    except OSError:
        c.close()
        sem.release()
        return
    t = threading.Thread(target=pump, args=(u, c), daemon=True)
    t.start()
    pump(c, u)
    t.join(600)
    c.close()
    u.close()
    sem.release()


def tcp_loop(ls, target):
    while True:
        c, _ = ls.accept()
        if not sem.acquire(blocking=False):
            c.close()
            continue
        threading.Thread(target=tcp_relay, args=(c, target), daemon=True).start()


def udp_one(ls, data, peer, target):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.settimeout(5)
    try:
        u.sendto(data, target)
        ans, _ = u.recvfrom(65536)
        ls.sendto(ans, peer)
    except OSError:
        pass
    finally:
        u.close()


def udp_loop(ls, target):
    while True:
        data, peer = ls.recvfrom(65536)
        threading.Thread(target=udp_one, args=(ls, data, peer, target), daemon=True).start()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--netns", required=True)
    ap.add_argument("--pidfile")
    ap.add_argument("--tcp", action="append", default=[])
    ap.add_argument("--udp", action="append", default=[])
    a = ap.parse_args()
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    ns = os.open("/run/netns/" + a.netns, os.O_RDONLY)
    setns(ns)
    jobs = []
    try:
        for spec in a.tcp:
            l, t = spec.split("=")
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(hp(l))
            s.listen(16)
            jobs.append((tcp_loop, s, hp(t)))
        for spec in a.udp:
            l, t = spec.split("=")
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(hp(l))
            jobs.append((udp_loop, s, hp(t)))
    finally:
        setns(home)
    for fn, s, t in jobs:
        threading.Thread(target=fn, args=(s, t), daemon=True).start()
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as fh:
            fh.write("%d\n" % os.getpid())
        os.rename(a.pidfile + ".tmp", a.pidfile)
    sys.stdout.write("nsfwd: %d forwards into %s\n" % (len(jobs), a.netns))
    sys.stdout.flush()
    threading.Event().wait()


if __name__ == "__main__":
    main()
