#!/usr/bin/env python3
"""soakmail — the soak's mail client and judge (python3 stdlib only).
  soakmail.py send  --server H:P --run ID --messages N --sessions S --domains D,D.. --log FILE
  soakmail.py check --run ID --log FILE --maildir DIR [--wait SECS]
`send`: S concurrent SMTP sessions submit N messages, each unique (X-Soak-Id
and Message-ID headers, a random body of random size with dot-leading lines,
one or two recipients on the given domains; a share of them trickled over
about a second, so that kills land inside DATA too). They survive the relay going
away: a broken connection is retried until every message was tried or
--timeout. Before DATA each message is logged "sent ID SHA256 RCPT[,RCPT]",
after a 250 "acked ID"; every line flushed, so a caller killed mid-run
still knows. `check`: every (message, recipient) that got 250 must be in
the sinks' maildirs (DIR/<sink>/new/*.eml, mxsink.py), byte-identical from
its X-Soak-Id header on (the relay may only prepend header lines), at the
sink of its recipient's domain; also delivered copies of messages that were
sent but not acknowledged must be intact. Prints the figures; exit 0 iff
none lost, corrupted or misdelivered (duplicates are counted, not failed).
With --wait it polls until nothing acknowledged is missing (or time is up).
"""
import argparse
import asyncio
import hashlib
import os
import random
import re
import sys
import time

ALPHA = ("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
         " .,;:-_=+/()[]<>!?'\"#$%&*@^~`|{}")


def make_message(run, i, rcpts, rnd):
    """The message as it must arrive (CRLF lines, unstuffed)."""
    head = ("X-Soak-Id: %s-%d\r\nMessage-ID: <%s-%d@soak.lan.test>\r\nFrom: <soak@lan.test>\r\n"
            "To: %s\r\nSubject: soak %s %d\r\n\r\n" %
            (run, i, run, i, ", ".join("<%s>" % r for r in rcpts), run, i))
    # sizes: mostly small, some tens of KiB (several flash pages / records)
    size = rnd.choice((200, 600, 1500, 4000, 9000)) if rnd.random() < 0.9 else rnd.randint(20000, 70000)
    lines, n = [], len(head)
    while n < size:
        k = rnd.randint(0, 120)
        ln = "".join(rnd.choice(ALPHA) for _ in range(k))
        r = rnd.random()
        if r < 0.05:
            ln = "." + ln          # transparency (RFC 5321 4.5.2)
        elif r < 0.07:
            ln = ".."
        elif r < 0.08:
            ln = "."
        lines.append(ln)
        n += len(ln) + 2
    lines.append("token %s-%d end" % (run, i))
    return (head + "\r\n".join(lines) + "\r\n").encode("ascii")


def stuff(msg):
    out = []
    for ln in msg.split(b"\r\n")[:-1]:
        out.append(b"." + ln if ln.startswith(b".") else ln)
    return b"\r\n".join(out) + b"\r\n.\r\n"


class Sender:
    def __init__(self, a):
        self.a = a
        self.next = 0
        self.acked = 0
        self.refused = 0
        self.broken = 0
        self.errors = {}
        self.log = open(a.log, "a")
        self.domains = a.domains.split(",")
        self.host, port = a.server.rsplit(":", 1)
        self.port = int(port)

    def rcpts(self, i, rnd):
        d = self.domains[i % len(self.domains)]
        r = ["soak%d@%s" % (i, d)]
        if len(self.domains) > 1 and rnd.random() < 0.1:  # a second recipient elsewhere: per-recipient state
            d2 = self.domains[(i + 1 + rnd.randrange(len(self.domains) - 1)) % len(self.domains)]
            if d2 != d:
                r.append("soak%db@%s" % (i, d2))
        return r

    def err(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1

    async def reply(self, reader):
        while True:
            line = await asyncio.wait_for(reader.readline(), self.a.cmd_timeout)
            if not line:
                raise ConnectionError("closed")
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3]), line.decode(errors="replace").strip()

    async def cmd(self, reader, writer, text):
        writer.write(text.encode() + b"\r\n")
        await writer.drain()
        return await self.reply(reader)

    async def connection(self, rnd):
        """One connection; True if it ended normally (nothing left)."""
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(self.host, self.port), self.a.cmd_timeout)
        try:
            code, text = await self.reply(reader)
            if code != 220:
                self.refused += 1
                self.err("banner %d" % code)
                return False
            code, text = await self.cmd(reader, writer, "EHLO soak.lan.test")
            if code != 250:
                self.err("EHLO %d" % code)
                return False
            sent = 0
            while self.next < self.a.messages and sent < self.a.per_connection:
                i = self.next
                self.next += 1
                if self.a.rate > 0:  # paced: message i not before t0 + i/rate
                    await asyncio.sleep(max(0.0, self.t0 + i / self.a.rate - time.monotonic()))
                sent += 1
                rcpts = self.rcpts(i, rnd)
                msg = make_message(self.a.run, i, rcpts, rnd)
                code, text = await self.cmd(reader, writer, "MAIL FROM:<soak@lan.test>")
                ok = code == 250
                for r in rcpts:
                    if ok:
                        code, text = await self.cmd(reader, writer, "RCPT TO:<%s>" % r)
                        ok = code == 250
                if ok:
                    code, text = await self.cmd(reader, writer, "DATA")
                    ok = code == 354
                if not ok:
                    self.err("%d before DATA" % code)
                    if code == 421 or code >= 500:
                        return False
                    await self.cmd(reader, writer, "RSET")
                    continue
                self.log.write("sent %s-%d %s %s\n" % (self.a.run, i, hashlib.sha256(msg).hexdigest(),
                                                     ",".join(rcpts)))
                self.log.flush()
                data = stuff(msg)
                if rnd.random() < self.a.trickle:
                    # in pieces over ~1 s: a kill often lands inside DATA
                    k = 8
                    for j in range(k):
                        writer.write(data[j * len(data) // k:(j + 1) * len(data) // k])
                        await writer.drain()
                        await asyncio.sleep(0.05 + rnd.random() * 0.2)
                else:
                    writer.write(data)
                    await writer.drain()
                code, text = await self.reply(reader)
                if code == 250:
                    self.acked += 1
                    self.log.write("acked %s-%d\n" % (self.a.run, i))
                    self.log.flush()
                else:
                    self.err("%d after DATA" % code)
                    if code == 421 or code >= 500:
                        return False
            await self.cmd(reader, writer, "QUIT")
            return True
        finally:
            writer.close()

    async def session(self, k):
        rnd = random.Random("%s/%d" % (self.a.run, k))
        while self.next < self.a.messages:
            try:
                if await self.connection(rnd):
                    continue
            except (OSError, ConnectionError, asyncio.TimeoutError, asyncio.IncompleteReadError) as e:
                self.broken += 1
                self.err(type(e).__name__)
            await asyncio.sleep(0.2 + rnd.random() * 0.5)  # the relay is restarting, or busy

    async def run(self):
        t0 = self.t0 = time.monotonic()
        tasks = [asyncio.ensure_future(self.session(k)) for k in range(self.a.sessions)]
        done, pending = await asyncio.wait(tasks, timeout=self.a.timeout)
        for t in pending:
            t.cancel()
        crashed = [t.exception() for t in done if t.exception()]
        for e in crashed:
            print("soakmail: session failed: %r" % e, flush=True)
        el = time.monotonic() - t0
        print("soakmail: tried=%d acked=%d refused=%d broken=%d elapsed=%.1f s rate=%.1f/s%s" %
              (self.next, self.acked, self.refused, self.broken, el, self.acked / el if el else 0,
               " TIMEOUT" if pending else ""), flush=True)
        if self.errors:
            print("soakmail: client-side events: " +
                  ", ".join("%s x%d" % kv for kv in sorted(self.errors.items())), flush=True)
        if pending or crashed or (self.a.want_all and self.acked != self.a.messages):
            return 1
        return 0


def read_log(path):
    sent, acked = {}, set()
    with open(path) as fh:
        for ln in fh:
            f = ln.split()
            if len(f) == 4 and f[0] == "sent":
                sent[f[1]] = (f[2], f[3].split(","))
            elif len(f) == 2 and f[0] == "acked":
                acked.add(f[1])
    return sent, acked


ID_RE = re.compile(rb"^X-Soak-Id: (\S+)\r?$", re.M)


def scan(maildir, run, seen):
    """seen: path -> (id, sink, sha256 of the message from X-Soak-Id on, rcpts) for new files."""
    for sink in os.listdir(maildir):
        d = os.path.join(maildir, sink, "new")
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            if not name.endswith(".eml"):
                continue
            p = os.path.join(d, name)
            if p in seen:
                continue
            with open(p, "rb") as fh:
                data = fh.read()
            m = ID_RE.search(data)
            if not m or not m.group(1).decode().startswith(run + "-"):
                continue
            rc = []
            try:
                with open(p[:-4] + ".meta") as fh:
                    for ln in fh:
                        if ln.startswith("rcpt="):  # "TO:<a@b> TO:<c@d>"
                            rc = re.findall(r"<([^>]*)>", ln)
            except OSError:
                pass
            seen[p] = (m.group(1).decode(), sink, hashlib.sha256(data[m.start():]).hexdigest(), rc)


def sink_of(domain, sinkmap):
    return sinkmap.get(domain, domain.split(".")[0])


def judge(a, sent, acked, seen):
    sinkmap = dict(kv.split("=") for kv in a.sinkmap.split(",")) if a.sinkmap else {}
    got = {}  # (id, rcpt) -> copies
    corrupt, misdelivered, unknown = [], [], []
    for p, (mid, sink, h, rc) in seen.items():
        if mid not in sent:
            unknown.append(p)
            continue
        want, rcpts = sent[mid]
        if h != want:
            corrupt.append(p)
        for r in rc:
            if r not in rcpts or sink_of(r.split("@")[1], sinkmap) != sink:
                misdelivered.append("%s %s at %s" % (mid, r, sink))
                continue
            got[(mid, r)] = got.get((mid, r), 0) + 1
    want_pairs = [(m, r) for m in acked for r in sent.get(m, ("", []))[1]]
    lost = [x for x in want_pairs if x not in got]
    return got, want_pairs, lost, corrupt, misdelivered, unknown


def check(a):
    sent, acked = read_log(a.log)
    seen = {}
    end = time.monotonic() + a.wait
    while True:
        scan(a.maildir, a.run, seen)
        got, want, lost, corrupt, mis, unknown = judge(a, sent, acked, seen)
        if not lost or time.monotonic() >= end:
            break
        time.sleep(1)
    dups = sum(n - 1 for n in got.values() if n > 1)
    dup_msgs = sum(1 for n in got.values() if n > 1)
    unacked_arrived = sum(1 for (m, r) in got if m not in acked)
    print("soak: messages sent %d (tried), acknowledged %d (%d recipients), delivered %d of them, "
          "lost %d, corrupted %d, misdelivered %d, duplicates %d (%d recipients), "
          "not acknowledged but delivered %d, unknown files %d" %
          (len(sent), len(acked), len(want), len(want) - len(lost), len(lost), len(corrupt), len(mis),
           dups, dup_msgs, unacked_arrived, len(unknown)))
    for x in lost[:10]:
        print("soak: LOST %s to %s" % x)
    for x in corrupt[:10]:
        print("soak: CORRUPTED %s" % x)
    for x in mis[:10]:
        print("soak: MISDELIVERED %s" % x)
    if a.figures:
        with open(a.figures, "w") as fh:
            fh.write("SENT=%d\nACKED=%d\nRCPTS=%d\nDELIVERED=%d\nLOST=%d\nCORRUPT=%d\nMISDELIVERED=%d\n"
                     "DUPLICATES=%d\nUNACKED_DELIVERED=%d\nUNKNOWN=%d\n" %
                     (len(sent), len(acked), len(want), len(want) - len(lost), len(lost), len(corrupt),
                      len(mis), dups, unacked_arrived, len(unknown)))
    return 0 if not (lost or corrupt or mis or unknown) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("send")
    s.add_argument("--server", required=True)
    s.add_argument("--run", required=True)
    s.add_argument("--messages", type=int, default=1000)
    s.add_argument("--sessions", type=int, default=4)
    s.add_argument("--per-connection", type=int, default=20)
    s.add_argument("--domains", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--rate", type=float, default=0, help="messages/s over all sessions (0: as fast as it goes)")
    s.add_argument("--timeout", type=float, default=600)
    s.add_argument("--cmd-timeout", type=float, default=30)
    s.add_argument("--trickle", type=float, default=0.2,
                   help="share of messages whose DATA is sent in pieces over ~1 s")
    s.add_argument("--want-all", action="store_true", help="exit 1 unless every message got 250")
    c = sub.add_parser("check")
    c.add_argument("--run", required=True)
    c.add_argument("--log", required=True)
    c.add_argument("--maildir", required=True)
    c.add_argument("--sinkmap", default="", help="domain=sink,... (default: the domain's first label)")
    c.add_argument("--wait", type=float, default=0)
    c.add_argument("--figures", help="write KEY=VALUE figures here")
    a = ap.parse_args()
    if a.cmd == "send":
        if not (a.server.startswith("127.") or a.server.startswith("[::1]")):
            sys.exit("soakmail: loopback servers only")
        sys.exit(asyncio.run(Sender(a).run()))
    sys.exit(check(a))


if __name__ == "__main__":
    main()
