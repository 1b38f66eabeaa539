#!/usr/bin/env python3
"""smtpload — SMTP load client for the e2e tests and the benchmarks (stdlib
only): S concurrent sessions share M messages of a given size, optionally
after STARTTLS (no certificate check: the gateway's is self-signed). Counts
the messages the server acknowledged with 250 after DATA; a session whose
connection breaks (e.g. the relay was killed) just ends. --per-connection N
reconnects after N messages (smtp-source's habit is 1). Prints one line:
  smtpload: acked=N failed=F refused=R elapsed=S rate=R/s tls=VERSION
and with --acked-file appends each acknowledged reply line, flushed, so a
caller killed mid-run still knows what got 250. Exit 0 iff acked == M."""
import argparse
import asyncio
import socket
import ssl
import sys
import time


class Stats:
    def __init__(self, total):
        self.left = total
        self.acked = 0
        self.failed = 0
        self.refused = 0
        self.tls = set()
        self.errors = []


_CTX = []


def client_context():
    """One TLS client context for the run (no verification: self-signed
    gateway). Made once: building one loads the CA store, ~40 ms."""
    if not _CTX:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _CTX.append(ctx)
    return _CTX[0]


async def reply(reader):
    """One SMTP reply: (code, text of the last line)."""
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError('connection closed')
        if len(line) < 4 or line[3:4] != b'-':
            return int(line[:3]), line.decode(errors='replace').rstrip('\r\n')


async def cmd(reader, writer, text):
    writer.write(text.encode() + b'\r\n')
    await writer.drain()
    return await reply(reader)


async def connection(args, st, body, ackf):
    """One connection: greeting, EHLO, STARTTLS if asked, then messages
    until none are left or --per-connection is reached. False: stop the
    session (refused, closed, or a permanent error)."""
    host, port = args.server.rsplit(':', 1)
    try:
        reader, writer = await asyncio.open_connection(host, int(port))
    except OSError as e:
        st.errors.append('connect: %s' % e)
        return False
    # No Nagle on the client: a command written after the TLS Finished must
    # not wait for the server's delayed ACK (40 ms), which would time the
    # client, not the server.
    writer.get_extra_info('socket').setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        code, text = await reply(reader)
        if code != 220:
            st.refused += 1
            st.errors.append('banner: ' + text)
            return False
        code, _ = await cmd(reader, writer, 'EHLO load.lan.test')
        if args.starttls:
            code, text = await cmd(reader, writer, 'STARTTLS')
            if code != 220:
                st.errors.append('STARTTLS: ' + text)
                return False
            await writer.start_tls(client_context(), server_hostname=None)
            st.tls.add(writer.get_extra_info('ssl_object').version())
            code, _ = await cmd(reader, writer, 'EHLO load.lan.test')
        sent = 0
        while st.left > 0 and (args.per_connection == 0 or sent < args.per_connection):
            st.left -= 1
            sent += 1
            ok = False
            code, text = await cmd(reader, writer, 'MAIL FROM:<%s>' % args.sender)
            if code == 250:
                code, text = await cmd(reader, writer, 'RCPT TO:<%s>' % args.rcpt)
            if code == 250:
                code, text = await cmd(reader, writer, 'DATA')
            if code == 354:
                writer.write(body)
                await writer.drain()
                code, text = await reply(reader)
                ok = code == 250
            if ok:
                st.acked += 1
                if ackf:
                    ackf.write(text + '\n')
                    ackf.flush()
            else:
                st.failed += 1
                st.errors.append(text)
                if code >= 500 or code == 421:
                    return False
                await cmd(reader, writer, 'RSET')
        await cmd(reader, writer, 'QUIT')
        return True
    except (OSError, ConnectionError, asyncio.IncompleteReadError, ssl.SSLError) as e:
        st.errors.append('%s: %s' % (type(e).__name__, e))
        return False
    finally:
        writer.close()


async def session(args, st, body, ackf):
    while st.left > 0:
        if not await connection(args, st, body, ackf):
            return


def make_body(size):
    """Header plus text lines (76 chars + CRLF) up to about size bytes, then the end."""
    head = b'From: <a@lan.test>\r\nTo: <b@example.net>\r\nSubject: load\r\n\r\n'
    line = b'x' * 76 + b'\r\n'
    n = max(0, (size - len(head)) // len(line))
    return head + line * n + b'.\r\n'


async def main_async(args):
    st = Stats(args.messages)
    body = make_body(args.size)
    ackf = open(args.acked_file, 'a') if args.acked_file else None
    t0 = time.monotonic()
    tasks = [asyncio.ensure_future(session(args, st, body, ackf)) for _ in range(args.sessions)]
    done, pending = await asyncio.wait(tasks, timeout=args.timeout)
    for t in pending:
        t.cancel()
        st.errors.append('timeout')
    el = time.monotonic() - t0
    print('smtpload: acked=%d failed=%d refused=%d elapsed=%.3f rate=%.1f/s tls=%s' %
          (st.acked, st.failed, st.refused, el, st.acked / el if el else 0,
           ','.join(sorted(st.tls)) or 'none'), flush=True)
    for e in st.errors[:5]:
        print('smtpload: error: ' + e, file=sys.stderr)
    return 0 if st.acked == args.messages else 1


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--server', required=True, help='HOST:PORT (loopback only)')
    p.add_argument('--sessions', type=int, default=1)
    p.add_argument('--messages', type=int, default=1)
    p.add_argument('--size', type=int, default=1024)
    p.add_argument('--starttls', action='store_true')
    p.add_argument('--per-connection', type=int, default=0,
                   help='messages per connection, then QUIT and reconnect (0: no limit; '
                   'smtp-source sends 1)')
    p.add_argument('--timeout', type=float, default=60.0, help='bound on the whole run (s)')
    p.add_argument('--from', dest='sender', default='a@lan.test')
    p.add_argument('--to', dest='rcpt', default='b@example.net')
    p.add_argument('--acked-file')
    args = p.parse_args()
    host = args.server.rsplit(':', 1)[0]
    if not (host.startswith('127.') or host in ('::1', '[::1]', 'localhost')):
        sys.exit('smtpload: loopback servers only')
    sys.exit(asyncio.run(main_async(args)))


if __name__ == '__main__':
    main()
