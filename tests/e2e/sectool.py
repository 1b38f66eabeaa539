#!/usr/bin/env python3
"""sectool — the attacks of tests/e2e/run-security.sh, as SMTP clients on
loopback (stdlib only). Each subcommand prints one line per check,
"STATUS|name|detail" (STATUS 0 = pass), for lib.sh's check():

  relay SRV SRC        open-relay tricks from source address SRC (outside
                       relay_networks): every RCPT must be refused
  smuggle SRV SRC LOG  SMTP smuggling end-of-data variants from a relay
                       client: never a second message (LOG: the relay's log)
  clear SRV SRC USER PASS   AUTH not offered / refused in clear, offered
                       after STARTTLS
  brute SRV SRC OTHER USER PASS FREE BASE_MS   password guessing over
                       STARTTLS: counted by reply codes (535 = the password
                       was checked, 454 4.7.0 = locked out), never timed
  testssl JSON         testssl.sh's --jsonfile: protocols, ciphers,
                       vulnerabilities
Loopback servers only."""
import base64
import json
import math
import os
import re
import socket
import ssl
import sys
import time


def out(ok, name, detail=''):
    print('%d|%s|%s' % (0 if ok else 1, name, detail.replace('|', '/').replace('\n', ' ')[:300]),
          flush=True)


class Client:
    def __init__(self, srv, src, timeout=20):
        host, port = srv.rsplit(':', 1)
        if not host.startswith('127.') or not src.startswith('127.'):
            sys.exit('sectool: loopback only')
        self.s = socket.socket()
        self.s.settimeout(timeout)
        self.s.bind((src, 0))
        self.s.connect((host, int(port)))
        self.f = self.s.makefile('rb')
        self.greeting = self.reply()

    def reply(self):
        """(code, [lines]) of one reply; (0, []) when the connection closed."""
        lines = []
        while True:
            try:
                line = self.f.readline()
            except (OSError, ssl.SSLError):
                line = b''
            if not line:
                return (0, lines)
            text = line.decode(errors='replace').rstrip('\r\n')
            lines.append(text)
            if len(text) < 4 or text[3] != '-':
                try:
                    return (int(text[:3]), lines)
                except ValueError:
                    return (0, lines)

    def send(self, raw):
        self.s.sendall(raw if isinstance(raw, bytes) else raw.encode())

    def cmd(self, text):
        self.send(text + '\r\n')
        return self.reply()

    def starttls(self):
        code, _ = self.cmd('STARTTLS')
        if code != 220:
            return False
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.s = ctx.wrap_socket(self.s)
        self.f = self.s.makefile('rb')
        return True

    def close(self):
        try:
            self.send('QUIT\r\n')
        except OSError:
            pass
        self.f.close()  # the file object holds the socket open too
        self.s.close()


# ---- open relay -----------------------------------------------------------
TRICKS = [
    ('plain foreign domain', '<victim@example.net>'),
    ('source route @a:b@c', '<@danegate.lan:victim@example.net>'),
    ('source route, two hops', '<@danegate.lan,@relay.example:victim@example.net>'),
    ('percent hack', '<victim%example.net@danegate.lan>'),
    ('percent hack, no domain', '<victim%example.net>'),
    ('bang path', '<example.net!victim@danegate.lan>'),
    ('bang path, no domain', '<example.net!victim>'),
    ('quoted local part with @', '<"victim@example.net">'),
    ('quoted local part @ us', '<"victim@example.net"@danegate.lan>'),
    ('quoted percent', '<"victim%example.net"@danegate.lan>'),
    ('two @', '<victim@example.net@danegate.lan>'),
    ('address literal of the relay', '<victim@[127.0.0.1]>'),
    ('postmaster (no domain)', '<postmaster>'),
    ('no angle brackets', 'victim@example.net'),
    ('trailing dot', '<victim@example.net.>'),
]


def relay(srv, src):
    # a session per trick: refusals count as errors (the relay hangs up
    # after ten), and each trick must stand on its own
    for name, rcpt in TRICKS:
        c = Client(srv, src)
        c.cmd('EHLO outside.example')
        c.cmd('MAIL FROM:<attacker@outside.example>')
        code, lines = c.cmd('RCPT TO:' + rcpt)
        dcode, _ = c.cmd('DATA')
        c.close()
        out(500 <= code < 600 and dcode != 354,
            'no relay from %s: %s -> %s, DATA %s' % (src, name, code, dcode), ' '.join(lines))


# ---- smuggling -------------------------------------------------------------
SMUGGLE = [
    ('bare LF . bare LF', b'\n.\n'),
    ('bare CR . bare CR', b'\r.\r'),
    ('CRLF . LF', b'\r\n.\n'),
    ('LF . CRLF', b'\n.\r\n'),
    ('CR . CRLF', b'\r.\r\n'),
    ('CRLF . CR', b'\r\n.\r'),
]


def queued_from(log, sender):
    try:
        with open(log, errors='replace') as f:
            return sum(1 for line in f if 'queued' in line and '<%s>' % sender in line)
    except OSError:
        return -1


def smuggle(srv, src, log):
    tag = os.getpid()  # senders unique to this run: the log may hold older ones
    acked = 0
    # control: a clean message is accepted (the check below can fail)
    c = Client(srv, src)
    c.cmd('EHLO lan.test')
    c.cmd('MAIL FROM:<outer-clean-%d@lan.test>' % tag)
    c.cmd('RCPT TO:<b@example.net>')
    c.cmd('DATA')
    code, lines = c.cmd('Subject: clean\r\n\r\nclean body\r\n.')
    out(code == 250, 'control: a clean message is queued (%d)' % code, ' '.join(lines))
    c.close()
    time.sleep(0.2)
    acked += code == 250
    out(queued_from(log, 'outer-clean-%d@lan.test' % tag) == 1, 'control: the relay log shows it queued')
    for i, (name, end) in enumerate(SMUGGLE):
        outer, inner = 'outer-%d-%d@lan.test' % (tag, i), 'smuggled-%d-%d@evil.test' % (tag, i)
        c = Client(srv, src)
        c.cmd('EHLO lan.test')
        c.cmd('MAIL FROM:<%s>' % outer)
        c.cmd('RCPT TO:<b@example.net>')
        code, _ = c.cmd('DATA')
        if code != 354:
            out(False, 'smuggling %s: DATA accepted' % name, str(code))
            c.close()
            continue
        # the smuggled message ends with the real <CRLF>.<CRLF>; HELP
        # (214) marks the end of the server's answers to all of it
        c.send(b'Subject: outer\r\n\r\nbody' + end +
               ('MAIL FROM:<%s>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\n'
                'Subject: smuggled\r\n\r\nsmuggled\r\n.\r\nHELP\r\n' % inner).encode())
        replies = []
        rc = 0
        while True:
            rc, lines = c.reply()
            if rc in (0, 214):
                break
            replies.append('%d %s' % (rc, lines[-1][4:40]))
        c.close()
        finals = [r for r in replies if r[:1] in '2345']
        acked += sum(1 for r in replies if 'queued as' in r)
        time.sleep(0.2)
        n_in, n_out = queued_from(log, inner), queued_from(log, outer)
        out(len(finals) == 1, 'smuggling %s: one reply to the one DATA' % name, '; '.join(replies))
        out(n_in == 0, 'smuggling %s: no smuggled message queued' % name,
            'smuggled sender queued %d time(s)' % n_in)
        out(n_out <= 1, 'smuggling %s: outer message at most once (reply %s)'
            % (name, finals[0][:3] if finals else '-'),
            'outer queued %d time(s)' % n_out)
        out(rc == 214, 'smuggling %s: session still in step (HELP 214)' % name, str(rc))
    print('#queued %d' % acked)


# ---- AUTH in clear ---------------------------------------------------------
def clear(srv, src, user, pw):
    c = Client(srv, src)
    _, lines = c.cmd('EHLO lan.test')
    out(not any(l[4:].upper().startswith('AUTH') for l in lines),
        'EHLO in clear: AUTH not offered', ' '.join(lines))
    out(any(l[4:].upper().startswith('STARTTLS') for l in lines), 'EHLO in clear: STARTTLS offered')
    code, lines = c.cmd('AUTH PLAIN ' + plain(user, pw))
    out(code == 538, 'AUTH PLAIN in clear: 538 (%d), the password never checked' % code,
        ' '.join(lines))
    code, _ = c.cmd('AUTH LOGIN')
    out(code == 538, 'AUTH LOGIN in clear: 538 (%d)' % code)
    c.close()
    c = Client(srv, src)
    c.cmd('EHLO lan.test')
    c.starttls()
    _, lines = c.cmd('EHLO lan.test')
    out(any(l[4:].upper().startswith('AUTH') for l in lines), 'EHLO under TLS: AUTH offered (control)',
        ' '.join(lines))
    c.close()


def plain(user, pw):
    return base64.b64encode(b'\0' + user.encode() + b'\0' + pw.encode()).decode()


def tls_session(srv, src):
    c = Client(srv, src)
    c.cmd('EHLO lan.test')
    if not c.starttls():
        return None
    c.cmd('EHLO lan.test')
    return c


def brute(srv, src, other, user, pw, free, base_ms, attempts=24):
    codes = []
    probe = None
    c = None
    t0 = time.monotonic()
    while len(codes) < attempts:
        if c is None:
            c = tls_session(srv, src)
            if c is None:
                out(False, 'AUTH brute force: STARTTLS session', '')
                return
        code, lines = c.cmd('AUTH PLAIN ' + plain(user, 'guess-%d' % len(codes)))
        if code == 0 or code == 421:
            c.s.close()
            c = None
            if code == 421:
                codes.append(421)
            continue
        codes.append(code)
        # right after a lockout began (535 then 454): the right password
        # is not even looked at
        if probe is None and code == 454 and len(codes) > 1 and codes[-2] == 535:
            pcode, _ = c.cmd('AUTH PLAIN ' + plain(user, pw))
            probe = pcode
    elapsed = time.monotonic() - t0
    if c:
        c.close()
    checked = codes.count(535)
    locked = codes.count(454)
    # each lockout that ended lets one more guess be checked: lockouts
    # last base, 2 base, 4 base ... so in `elapsed` at most
    # log2(elapsed / base + 1) of them can have ended
    ended = int(math.floor(math.log2(elapsed * 1000.0 / base_ms + 1)))
    bound = free + 1 + ended
    seq = ''.join({535: 'F', 454: 'L', 421: '|'}.get(x, '?') for x in codes)
    out(locked >= 1, 'AUTH brute force: lockout replies 454 4.7.0 seen (%d)' % locked, seq)
    out(checked <= bound, 'AUTH brute force: %d of %d guesses checked in %.1f s (bound %d)'
        % (checked, len(codes) - codes.count(421), elapsed, bound), seq)
    out(probe == 454, 'AUTH brute force: the right password during the lockout gets 454 (%s)'
        % probe)
    if other != '-':
        d = tls_session(srv, other)
        code, lines = d.cmd('AUTH PLAIN ' + plain(user, pw))
        d.close()
        out(code == 235, 'AUTH from another address (%s) meanwhile: 235 (%d)' % (other, code),
            ' '.join(lines))
    print('#brute seq=%s checked=%d locked=%d elapsed=%.2f' % (seq, checked, locked, elapsed))


# ---- testssl.sh -------------------------------------------------------------
VULNS = ['heartbleed', 'CCS', 'ROBOT', 'secure_renego', 'secure_client_renego', 'CRIME_TLS',
         'POODLE_SSL', 'fallback_SCSV', 'SWEET32', 'FREAK', 'DROWN', 'LOGJAM', 'BEAST', 'LUCKY13',
         'RC4']
# Only found on some servers / protocols: checked when present.
VULNS_OPTIONAL = ['ticketbleed', 'BREACH', 'LOGJAM-common_primes', 'winshock']
WEAK_LISTS = ['cipherlist_NULL', 'cipherlist_aNULL', 'cipherlist_EXPORT', 'cipherlist_LOW',
              'cipherlist_3DES_IDEA', 'cipherlist_AVERAGE']
# What a self-signed DANE-EE certificate gets from a WebPKI point of view:
# DANE authenticates it through the TLSA record (RFC 7672 §3.1.1).
CERT_WEBPKI = ['cert_chain_of_trust', 'cert_trust', 'cert_validityPeriod', 'cert_revocation']


def testssl(path):
    try:
        data = json.load(open(path))
    except (OSError, ValueError) as e:
        out(False, 'testssl.sh JSON readable', str(e))
        return
    by = {}
    for e in data:
        by.setdefault(e.get('id', ''), []).append(e)

    def get(i):
        return by.get(i, [{}])[0]
    for p in ['SSLv2', 'SSLv3', 'TLS1', 'TLS1_1']:
        f = get(p).get('finding', '(not tested)')
        out('not offered' in f, 'testssl: %s not offered' % p, f)
    ok12 = 'offered' in get('TLS1_2').get('finding', '') and 'not' not in get('TLS1_2').get('finding', '')
    ok13 = get('TLS1_3').get('finding', '').startswith('offered')
    out(ok12 or ok13, 'testssl: TLS 1.2 or 1.3 offered',
        '%s / %s' % (get('TLS1_2').get('finding'), get('TLS1_3').get('finding')))
    for w in WEAK_LISTS:
        f = get(w).get('finding', '(not tested)')
        out(f.startswith('not offered'), 'testssl: %s not offered' % w, f)
    ciphers = ' '.join(e.get('finding', '') for k in by if k.startswith(('PFS_ciphers', 'FS_ciphers',
                                                                          'cipher-tls', 'cipher_'))
                       for e in by[k])
    weak = [c for c in ciphers.split() if re.search(r'(CBC|-SHA$|RC4|DES|NULL|EXP|MD5)', c)]
    out(ciphers != '' and not weak, 'testssl: no CBC/SHA-1/RC4/3DES/NULL/EXPORT suite offered',
        ' '.join(weak) or ciphers[:120])
    for v in VULNS:
        e = get(v)
        sev = e.get('severity', '(not tested)')
        out(sev in ('OK', 'INFO'), 'testssl: %s %s' % (v, sev), e.get('finding', ''))
    for v in VULNS_OPTIONAL:
        for e in by.get(v, []):
            out(e.get('severity') in ('OK', 'INFO'), 'testssl: %s %s' % (v, e.get('severity')),
                e.get('finding', ''))
    bad = [(k, e.get('severity')) for k in by for e in by[k]
           if e.get('severity') in ('LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'WARN')
           and k not in CERT_WEBPKI and k != 'engine_problem']
    out(not bad, 'testssl: no other finding above INFO (WebPKI certificate checks aside)',
        ' '.join('%s=%s' % b for b in bad))
    for k in CERT_WEBPKI:
        for e in by.get(k, []):
            print('#testssl %s %s: %s (expected: self-signed DANE-EE certificate)'
                  % (k, e.get('severity'), e.get('finding', '')[:80]))


def main():
    a = sys.argv[1:]
    if not a:
        sys.exit(__doc__)
    cmd = a[0]
    if cmd == 'relay':
        relay(a[1], a[2])
    elif cmd == 'smuggle':
        smuggle(a[1], a[2], a[3])
    elif cmd == 'clear':
        clear(a[1], a[2], a[3], a[4])
    elif cmd == 'brute':
        brute(a[1], a[2], a[3], a[4], a[5], int(a[6]), int(a[7]))
    elif cmd == 'testssl':
        testssl(a[1])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
