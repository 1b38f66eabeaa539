#!/usr/bin/env python3
"""loadtool — hostile load for tests/e2e/run-load.sh, as SMTP clients on
loopback (stdlib, threads). Each subcommand prints one line per check,
"STATUS|name|detail" (STATUS 0 = pass), and "#figure" lines; nothing is
judged by how long it took, only by what the relay answered:

  storm SRV N SESS     SESS clients get 220 and stay (kept busy), then
                       N-SESS more connect at once and stay: every one gets
                       421 4.3.2, the first SESS are still served; after
                       they all leave a new client gets its message queued
  churn SRV N          N connect-and-drop clients in a row, then a message
  slow SRV SESS        SESS-1 tricklers (one DATA octet a second, one
                       command octet a second) are cut off with 421 4.4.2
                       while a normal client is served; then all SESS
                       sessions are free again
  noread SRV SESS      a client pipelines NOOPs and never reads: it is
                       dropped, others are served meanwhile, its slot
                       comes back
Loopback servers only."""
import socket
import sys
import threading
import time


def out(ok, name, detail=''):
    print('%d|%s|%s' % (0 if ok else 1, name, str(detail).replace('|', '/').replace('\n', ' ')[:300]),
          flush=True)


def connect(srv, timeout=30):
    host, port = srv.rsplit(':', 1)
    if not host.startswith('127.'):
        sys.exit('loadtool: loopback only')
    s = socket.create_connection((host, int(port)), timeout=timeout)
    return s, s.makefile('rb')


def reply(f):
    """(code, last line) of one reply; (0, '') if the connection ended."""
    while True:
        try:
            line = f.readline()
        except OSError:
            return 0, ''
        if not line:
            return 0, ''
        text = line.decode(errors='replace').rstrip('\r\n')
        if len(text) < 4 or text[3] != '-':
            try:
                return int(text[:3]), text
            except ValueError:
                return 0, text


def cmd(s, f, text):
    s.sendall(text.encode() + b'\r\n')
    return reply(f)


def send_message(srv, tag):
    """A whole message; the final reply code (250 expected)."""
    try:
        s, f = connect(srv)
        code, _ = reply(f)
        if code != 220:
            s.close()
            return code
        for c in ('EHLO load.test', 'MAIL FROM:<%s@lan.test>' % tag, 'RCPT TO:<b@example.net>',
                  'DATA'):
            code, _ = cmd(s, f, c)
        if code != 354:
            s.close()
            return code
        code, _ = cmd(s, f, 'Subject: %s\r\n\r\nhello\r\n.' % tag)
        cmd(s, f, 'QUIT')
        s.close()
        return code
    except OSError:
        return 0


def keep_alive(held, stop, errors):
    """NOOP on every held session every 2 s until stop: a slow storm (SYNs
    retried by a busy stack) must not let them reach the command timeout."""
    while not stop.wait(2):
        for s, f in held:
            try:
                if cmd(s, f, 'NOOP')[0] != 250:
                    errors.append('NOOP refused')
            except OSError as e:
                errors.append(str(e))


def storm(srv, n, sess):
    held, greet = [], []
    for _ in range(sess):  # the bound's worth of sessions, kept
        s, f = connect(srv)
        held.append((s, f))
        greet.append(reply(f)[1][:9])
    ok220 = sum(1 for g in greet if g.startswith('220'))
    out(ok220 == sess, 'storm: the first %d clients greeted 220' % sess, ' '.join(greet))
    stop, errors = threading.Event(), []
    keeper = threading.Thread(target=keep_alive, args=(held, stop, errors))
    keeper.start()
    extra, failed, t0 = [], [], time.monotonic()
    for _ in range(n - sess):  # then the storm: all connect, all stay
        try:
            extra.append(connect(srv, timeout=60))
        except OSError as e:
            failed.append('connect: %s' % e)
    codes = []
    for s, f in extra:
        code, text = reply(f)
        codes.append(text[:9] if code else 'closed')
    stop.set()
    keeper.join()
    print('#storm of %d took %.1f s' % (n - sess, time.monotonic() - t0))
    busy = sum(1 for c in codes if c.startswith('421 4.3.2'))
    seq = ' '.join([c[:3] if c[:1].isdigit() else c for c in codes] + failed)
    out(busy == n - sess, 'storm: all %d clients beyond the bound got 421 4.3.2' % (n - sess),
        '%d: %s' % (busy, seq))
    alive = 0
    for s, f in held:
        try:
            alive += cmd(s, f, 'NOOP')[0] == 250
        except OSError:
            pass
    out(alive == sess and not errors, 'storm: the %d sessions in service survive it (NOOP 250)' % sess,
        '%d alive %s' % (alive, ' '.join(errors[:3])))
    for s, f in held + extra:  # the file object holds the socket open too
        f.close()
        s.close()
    time.sleep(0.5)  # the relay sees the closes
    code = send_message(srv, 'after-storm')
    out(code == 250, 'after the storm: a new client gets its banner and its message queued (%d)' % code)


def churn(srv, n):
    for _ in range(n):
        try:
            s, _ = connect(srv)
            s.close()
        except OSError:
            pass
    code = send_message(srv, 'after-churn')
    out(code == 250, 'after %d connect-and-drop clients: a message queued (%d)' % (n, code))


def trickle(srv, data_phase, result, idx):
    """Sends one octet a second until the relay says something or closes."""
    try:
        s, f = connect(srv, timeout=300)
        reply(f)
        if data_phase:
            for c in ('EHLO slow.test', 'MAIL FROM:<slow@lan.test>', 'RCPT TO:<b@example.net>',
                      'DATA'):
                cmd(s, f, c)
        s.settimeout(1)
        pattern = b'Subject: slow\r\n\r\n' + b'x' * 200 if data_phase else b'NOOPNOOPNOOP' * 20
        i = 0
        t0 = time.monotonic()
        while time.monotonic() - t0 < 240:
            try:
                s.sendall(pattern[i % len(pattern):i % len(pattern) + 1])
            except OSError:
                break
            i += 1
            try:
                line = f.readline()
                if line:
                    result[idx] = line.decode(errors='replace').strip()
                    break
                result[idx] = 'closed without a reply'
                break
            except socket.timeout:
                f = s.makefile('rb')  # a timed-out file object is spent
                continue
            except OSError:
                result[idx] = 'reset'
                break
        s.close()
    except OSError as e:
        result[idx] = 'error %s' % e


def slow(srv, sess):
    n = max(1, sess - 1)
    result = [None] * n
    threads = [threading.Thread(target=trickle, args=(srv, i % 2 == 0, result, i)) for i in range(n)]
    for t in threads:
        t.start()
    time.sleep(2)  # the tricklers hold their sessions
    served = send_message(srv, 'beside-tricklers')
    out(served == 250, 'while %d clients trickle: another client is served (%d)' % (n, served))
    for t in threads:
        t.join()
    for i, r in enumerate(result):
        kind = 'DATA' if i % 2 == 0 else 'command'
        out(r is not None and r.startswith('421 4.4.2'),
            'trickling %s client %d cut off with 421 4.4.2' % (kind, i), r)
    held = hold_all(srv, sess)
    out(held == sess, 'after the tricklers: all %d sessions free again' % sess, held)


def hold_all(srv, sess):
    """How many of sess simultaneous clients get 220."""
    socks, n = [], 0
    for _ in range(sess):
        try:
            s, f = connect(srv)
            socks.append((s, f))
            code, _ = reply(f)
            n += code == 220
        except OSError:
            pass
    for s, f in socks:
        f.close()
        s.close()
    time.sleep(0.5)
    return n


def noread(srv, sess):
    """EHLO pipelined (fewer than the command limit, each reply ~200
    octets) into a small receive window, and never a byte read: the
    relay's output backs up, it stops reading, and only its timeout can
    end the session."""
    s, f = connect(srv, timeout=300)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(2)
    sent = 0
    chunk = b'EHLO never-reads.test\r\n' * 900
    try:
        while sent < len(chunk):
            sent += s.send(chunk[sent:])
    except OSError:
        pass
    print('#noread: %d of %d octets pipelined, nothing read' % (sent, len(chunk)))
    served = send_message(srv, 'beside-nonreader')
    out(served == 250, 'while a client never reads: another client is served (%d)' % served)
    t0 = time.monotonic()
    held = 0
    while time.monotonic() - t0 < 120:
        held = hold_all(srv, sess)
        if held == sess:
            break
        time.sleep(2)
    print('#noread: its session slot came back after %.0f s' % (time.monotonic() - t0))
    out(held == sess, 'the client that never reads is dropped: all %d sessions free again, '
        'its socket still open' % sess, held)
    s.close()


def main():
    a = sys.argv[1:]
    if len(a) < 2:
        sys.exit(__doc__)
    if a[0] == 'storm':
        storm(a[1], int(a[2]), int(a[3]))
    elif a[0] == 'churn':
        churn(a[1], int(a[2]))
    elif a[0] == 'slow':
        slow(a[1], int(a[2]))
    elif a[0] == 'noread':
        noread(a[1], int(a[2]))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
