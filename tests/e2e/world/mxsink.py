#!/usr/bin/env python3
"""mxsink.py — ESMTP sink servers for the e2e DANE world (python3 stdlib only).

Exports: a command line.  One process serves one or many instances, each on
its own host:port with its own certificate and behaviour:
  mxsink.py --maildir DIR --instance NAME,HOST:PORT,BEHAVIOUR[,CHAIN,KEY]
  mxsink.py --maildir DIR --config FILE     (one such spec per line, # comments)
Behaviours: normal, no-starttls, fail-handshake (STARTTLS offered, 220 sent,
then garbage instead of a TLS ServerHello), reject-rcpt (550 5.1.1),
tempfail (451 4.3.0 on RCPT), stall (connect, then silence for --stall s),
endless-reply (EHLO answered by "250-" lines without end, up to 64 MiB),
long-line (a 1 MiB greeting line without CRLF, then close), tls12 (normal,
but TLS 1.2 at most, ECDHE-ECDSA/RSA AES-GCM suites only).
Each message lands in DIR/<instance>/new/<n>.eml with a side file
<n>.meta (KEY=VALUE: tls, tls_version, tls_cipher, sni, helo, mail_from,
rcpt, peer).  CHAIN = PEM file: leaf, then the CA certificates to send.
Every session also appends one line to DIR/<instance>/sessions.log.
Bounds: command lines 1000 bytes, message 1 MiB, 100 recipients, 200
commands per session, idle timeout 60 s.
"""
import argparse
import os
import socket
import socketserver
import ssl
import sys
import threading
import time

MAX_LINE = 1000
MAX_MSG = 1 << 20
MAX_RCPT = 100
MAX_CMDS = 200
IDLE = 60
BEHAVIOURS = ("normal", "no-starttls", "fail-handshake", "reject-rcpt", "tempfail", "stall",
              "endless-reply", "long-line", "tls12")
ENDLESS_BYTES = 64 << 20  # endless-reply stops after this much (or when the peer leaves)

_tls_local = threading.local()
_counter_lock = threading.Lock()
_counter = [0]


def next_id():
    with _counter_lock:
        _counter[0] += 1
        return "%d.%d.%d" % (int(time.time()), os.getpid(), _counter[0])


def sni_cb(sslsock, server_name, ctx):
    _tls_local.sni = server_name or ""
    return None


class Conn:
    """Line-oriented I/O over a plain or TLS socket, with bounds."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def send(self, text):
        self.sock.sendall(text.encode() if isinstance(text, str) else text)

    def readline(self):
        while b"\n" not in self.buf:
            if len(self.buf) > MAX_LINE + 2:
                raise ValueError("line too long")
            data = self.sock.recv(4096)
            if not data:
                raise EOFError
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r")


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        inst = self.server.inst
        sock = self.request
        sock.settimeout(IDLE)
        peer = "%s:%d" % self.client_address[:2]
        sess = {"peer": peer, "tls": "no", "tls_version": "", "tls_cipher": "", "sni": "",
                "helo": "", "starttls": "no", "result": "open"}
        try:
            self.session(inst, sock, sess)
        except (EOFError, OSError, ValueError, ssl.SSLError) as e:
            if sess["result"] == "open":
                sess["result"] = "dropped:" + type(e).__name__
        finally:
            try:
                sock.close()
            except OSError:
                pass
            inst.log(sess)

    def session(self, inst, sock, sess):
        if inst.behaviour == "stall":
            sess["result"] = "stalled"
            end = time.time() + inst.stall
            sock.settimeout(1)
            while time.time() < end:
                try:
                    if not sock.recv(4096):
                        return
                except socket.timeout:
                    continue
            return
        if inst.behaviour == "long-line":
            sess["result"] = "long-line"
            sock.sendall(b"220 " + b"x" * (1 << 20))
            # half-close and drain, so unread client bytes cause no RST
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(10)
            for _ in range(1000):
                if not sock.recv(4096):
                    break
            return
        c = Conn(sock)
        c.send("220 %s ESMTP mxsink %s\r\n" % (inst.hostname, inst.name))
        mail_from, rcpts = None, []
        for _ in range(MAX_CMDS):
            line = c.readline().decode("latin-1")
            verb = line[:4].upper()
            arg = line[5:] if len(line) > 5 else ""
            if verb in ("EHLO", "HELO"):
                sess["helo"] = arg.strip()
                mail_from, rcpts = None, []
                if verb == "HELO":
                    c.send("250 %s\r\n" % inst.hostname)
                    continue
                if inst.behaviour == "endless-reply":
                    sess["result"] = "endless-reply"
                    chunk = ("250-%s\r\n" % ("X" * 70)).encode() * 100
                    for _ in range(ENDLESS_BYTES // len(chunk)):
                        c.send(chunk)
                    return
                ext = ["PIPELINING", "SIZE %d" % MAX_MSG, "8BITMIME", "ENHANCEDSTATUSCODES"]
                if inst.ctx is not None and sess["tls"] == "no" and inst.behaviour != "no-starttls":
                    ext.append("STARTTLS")
                lines = [inst.hostname] + ext
                out = "".join("250-%s\r\n" % x for x in lines[:-1]) + "250 %s\r\n" % lines[-1]
                c.send(out)
            elif verb == "STAR" and line.upper().startswith("STARTTLS"):
                if inst.ctx is None or sess["tls"] == "yes" or inst.behaviour == "no-starttls":
                    c.send("502 5.5.1 STARTTLS not available\r\n")
                    continue
                if c.buf:
                    c.send("501 5.5.2 pipelined data after STARTTLS\r\n")
                    sess["result"] = "starttls-pipelining"
                    return
                sess["starttls"] = "yes"
                c.send("220 2.0.0 Ready to start TLS\r\n")
                if inst.behaviour == "fail-handshake":
                    sess["result"] = "handshake-sabotaged"
                    c.send(b"\x15\x03\x03\x00\x02\x02\x28" + b"not TLS\r\n")
                    return
                _tls_local.sni = ""
                tsock = inst.ctx.wrap_socket(sock, server_side=True)
                tsock.settimeout(IDLE)
                sess["tls"] = "yes"
                sess["tls_version"] = tsock.version() or ""
                sess["tls_cipher"] = (tsock.cipher() or ("",))[0]
                sess["sni"] = getattr(_tls_local, "sni", "")
                sock = tsock
                c = Conn(tsock)
                sess["helo"] = ""
                mail_from, rcpts = None, []
            elif verb == "MAIL":
                mail_from, rcpts = arg, []
                c.send("250 2.1.0 Ok\r\n")
            elif verb == "RCPT":
                if mail_from is None:
                    c.send("503 5.5.1 MAIL first\r\n")
                elif inst.behaviour == "reject-rcpt":
                    c.send("550 5.1.1 Recipient rejected by mxsink\r\n")
                elif inst.behaviour == "tempfail":
                    c.send("451 4.3.0 Try again later (mxsink tempfail)\r\n")
                elif len(rcpts) >= MAX_RCPT:
                    c.send("452 4.5.3 Too many recipients\r\n")
                else:
                    rcpts.append(arg)
                    c.send("250 2.1.5 Ok\r\n")
            elif verb == "DATA":
                if not rcpts:
                    c.send("554 5.5.1 No valid recipients\r\n")
                    continue
                c.send("354 End data with <CR><LF>.<CR><LF>\r\n")
                body, size = [], 0
                while True:
                    ln = c.readline()
                    if ln == b".":
                        break
                    if ln.startswith(b"."):
                        ln = ln[1:]
                    size += len(ln) + 2
                    if size > MAX_MSG:
                        raise ValueError("message too big")
                    body.append(ln)
                inst.store(sess, mail_from, rcpts, b"\r\n".join(body) + b"\r\n")
                sess["result"] = "delivered"
                c.send("250 2.0.0 Ok: queued by mxsink\r\n")
                mail_from, rcpts = None, []
            elif verb == "RSET":
                mail_from, rcpts = None, []
                c.send("250 2.0.0 Ok\r\n")
            elif verb == "NOOP":
                c.send("250 2.0.0 Ok\r\n")
            elif verb == "QUIT":
                c.send("221 2.0.0 Bye\r\n")
                if sess["result"] == "open":
                    sess["result"] = "quit"
                return
            else:
                c.send("502 5.5.2 Command not recognised\r\n")


class Instance:
    def __init__(self, spec, maildir, stall):
        f = spec.split(",")
        if len(f) not in (3, 5):
            raise SystemExit("bad instance spec: %r" % spec)
        self.name, hp, self.behaviour = f[0], f[1], f[2]
        if self.behaviour not in BEHAVIOURS:
            raise SystemExit("unknown behaviour %r" % self.behaviour)
        host, port = hp.rsplit(":", 1)
        self.addr = (host, int(port))
        self.hostname = "sink-" + self.name + ".mxsink.invalid"
        self.stall = stall
        self.ctx = None
        if len(f) == 5:
            chain, key = f[3], f[4]
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            if self.behaviour == "tls12":
                ctx.maximum_version = ssl.TLSVersion.TLSv1_2
                ctx.set_ciphers("ECDHE+AESGCM")
            # chain file = the leaf followed by what the server must send
            ctx.load_cert_chain(chain, key)
            ctx.sni_callback = sni_cb
            self.ctx = ctx
        self.dir = os.path.join(maildir, self.name)
        for sub in ("new", "tmp"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.lock = threading.Lock()

    def log(self, sess):
        line = " ".join("%s=%s" % (k, sess[k] or "-") for k in
                        ("peer", "starttls", "tls", "tls_version", "tls_cipher", "sni", "helo", "result"))
        with self.lock:
            with open(os.path.join(self.dir, "sessions.log"), "a") as fh:
                fh.write("%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), line))

    def store(self, sess, mail_from, rcpts, data):
        n = next_id()
        tmp = os.path.join(self.dir, "tmp", n)
        with open(tmp + ".eml", "wb") as fh:
            fh.write(data)
        with open(tmp + ".meta", "w") as fh:
            for k in ("tls", "tls_version", "tls_cipher", "sni", "helo", "peer"):
                fh.write("%s=%s\n" % (k, sess[k]))
            fh.write("instance=%s\nmail_from=%s\nrcpt=%s\n" % (self.name, mail_from, " ".join(rcpts)))
        # meta first, then the message: a reader that sees .eml sees .meta
        os.rename(tmp + ".meta", os.path.join(self.dir, "new", n + ".meta"))
        os.rename(tmp + ".eml", os.path.join(self.dir, "new", n + ".eml"))


class Server(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description="ESMTP sink for the DANE e2e world")
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--instance", action="append", default=[])
    ap.add_argument("--config")
    ap.add_argument("--stall", type=int, default=120, help="seconds a stall instance holds a connection")
    ap.add_argument("--pidfile")
    a = ap.parse_args()
    specs = list(a.instance)
    if a.config:
        with open(a.config) as fh:
            specs += [ln.strip() for ln in fh if ln.strip() and not ln.startswith("#")]
    if not specs:
        ap.error("no instance")
    servers = []
    for s in specs:
        inst = Instance(s, a.maildir, min(max(a.stall, 1), 3600))
        srv = Server(inst.addr, Handler)
        srv.inst = inst
        servers.append(srv)
    for srv in servers:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
    if a.pidfile:
        with open(a.pidfile + ".tmp", "w") as fh:
            fh.write("%d\n" % os.getpid())
        os.rename(a.pidfile + ".tmp", a.pidfile)
    sys.stdout.write("mxsink: %d instances up\n" % len(servers))
    sys.stdout.flush()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
