#!/usr/bin/env python3
"""qemu_ram — the RAM figure on the qemu-virt board itself: boots the image
(fresh flash, user networking: SMTP :25 and HTTPS :443 forwarded), starts 4
inbound STARTTLS sessions and 2 HTTPS connections at once (the budget's 6 TLS
sessions, all the TLS gate holds: board.mk QV_TLS_SESSIONS), and reads the
console's `status`: TLS arena in use and peak, and "ram high-water: static +
heap". Then checks the gate full: a STARTTLS and then an HTTPS session wait
(no refusal, no clear text); the first slot freed goes to HTTPS (the web
console's priority), the next to STARTTLS. Figures, not a test (no timing).
Usage: python3 bench/ram/qemu_ram.py   (QV_IMAGE: default the build's)."""
import os
import re
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
IMAGE = os.environ.get('QV_IMAGE', os.path.join(ROOT, 'build', 'qemu-virt', 'danegate.elf'))
sys.path.insert(0, os.path.join(ROOT, 'bench', 'inbound'))
from bench import free_port  # noqa: E402


class Board:
    def __init__(self, work):
        flash = os.path.join(work, 'pflash.img')
        with open(flash, 'wb') as f:
            f.write(b'\xff' * (64 * 1024 * 1024))
        self.smtp, self.https = free_port(), free_port()
        cmd = ['qemu-system-arm', '-M', 'virt', '-cpu', 'cortex-a15', '-m', '128M', '-nographic',
               '-monitor', 'none', '-kernel', IMAGE, '-global', 'virtio-mmio.force-legacy=false',
               '-drive', 'if=pflash,unit=1,format=raw,file=' + flash,
               '-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:25,hostfwd=tcp:127.0.0.1:%d-:443'
               % (self.smtp, self.https),
               '-device', 'virtio-net-device,netdev=n0', '-device', 'virtio-rng-device']
        self.buf = ''
        self.lock = threading.Lock()
        self.q = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        while True:
            data = os.read(self.q.stdout.fileno(), 4096)
            if not data:
                return
            with self.lock:
                self.buf += data.decode(errors='replace')

    def wait_for(self, regex, timeout, since=0):
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                m = re.compile(regex).search(self.buf, since)
            if m:
                return m
            time.sleep(0.05)
        return None

    def command(self, line, until, timeout=20):
        with self.lock:
            mark = len(self.buf)
        self.q.stdin.write((line + '\r').encode())
        self.q.stdin.flush()
        return self.wait_for(until, timeout, mark)

    def stop(self):
        self.q.kill()
        self.q.wait()


def ctx():
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    c.check_hostname = False
    c.verify_mode = ssl.CERT_NONE  # the board's self-signed certificate
    return c


def smtp_tls(port, out, i):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=60)
        f = s.makefile('rb')

        def reply():
            while True:
                line = f.readline()
                if not line or line[3:4] != b'-':
                    return line
        reply()
        s.sendall(b'EHLO ram.example\r\n')
        reply()
        s.sendall(b'STARTTLS\r\n')
        if not reply().startswith(b'220'):
            raise RuntimeError('no 220 to STARTTLS')
        t = ctx().wrap_socket(s)
        t.sendall(b'EHLO ram.example\r\n')
        out[i] = (t, t.recv(4096).startswith(b'250'))
    except (OSError, RuntimeError) as e:
        out[i] = (None, 'smtp: %s' % e)


def https_tls(port, out, i):
    try:
        s = socket.create_connection(('127.0.0.1', port), timeout=60)
        out[i] = (ctx().wrap_socket(s), True)
    except OSError as e:
        out[i] = (None, 'https: %s' % e)


def gate_sessions():
    with open(os.path.join(ROOT, 'board', 'qemu-virt', 'board.mk')) as f:
        return int(re.search(r'^QV_TLS_SESSIONS := *(\d+)', f.read(), re.M).group(1))


def wait_up(out, idx, timeout):
    end = time.time() + timeout
    while time.time() < end and any(out[i] is None for i in idx):
        time.sleep(0.1)
    return all(out[i] and out[i][0] for i in idx)


def main():
    n_gate = gate_sessions()
    work = tempfile.mkdtemp(prefix='qemu_ram.')
    b = Board(work)
    ok = True
    try:
        if not (b.wait_for(r'ready:', 60) and b.wait_for(r'DHCP lease', 30)):
            print('qemu_ram: board did not come up')
            return 1
        time.sleep(1)
        # The budget's load: 4 STARTTLS + 2 HTTPS (HTTPS stands in for the
        # 2 outbound sessions: a server session holds as much), all at once.
        out = [None] * 10
        S = [0, 1, 2, 3, 8]   # STARTTLS (inbound takes 4 at a time)
        H = [4, 5, 6, 7]      # HTTPS
        th = [threading.Thread(target=smtp_tls, args=(b.smtp, out, i)) for i in S[:4]]
        th += [threading.Thread(target=https_tls, args=(b.https, out, i)) for i in H[:2]]
        for t in th:
            t.start()
        first = S[:4] + H[:2]
        wait_up(out, first, 60)
        up = [i for i in first if out[i] and out[i][0]]
        failed = [out[i][1] for i in first if out[i] and not out[i][0]]
        m = b.command('status', r'ram high-water: static (\d+) \+ heap (\d+) = (\d+) KiB')
        t = re.search(r'TLS heap (\d+) in use, peak (\d+) of (\d+) bytes', b.buf)
        print('qemu_ram: %d of 6 TLS sessions up at once (4 STARTTLS + 2 HTTPS; gate %d), '
              'failed: %s' % (len(up), n_gate, failed or 'none'))
        if t:
            print('qemu_ram: TLS arena in use %s, peak %s of %s bytes (allocator headers not '
                  'counted)' % t.groups())
        if m:
            s, h, z = (int(x) for x in m.groups())
            print('qemu_ram: ram high-water: static %d + heap %d = %d bytes (%.1f KiB) of 384 KiB'
                  % (s, h, s + h, (s + h) / 1024))
        ok = len(up) == 6 and not failed and m is not None
        # The gate full: a STARTTLS session waits, then an HTTPS one; the
        # first slot that comes free goes to HTTPS (the operator's console),
        # the next to STARTTLS; nothing is refused or left in clear text.
        out[S[0]][0].close()
        time.sleep(1)
        threading.Thread(target=https_tls, args=(b.https, out, H[2])).start()
        ok = wait_up(out, [H[2]], 30) and ok
        threading.Thread(target=smtp_tls, args=(b.smtp, out, S[4])).start()
        time.sleep(1.5)
        threading.Thread(target=https_tls, args=(b.https, out, H[3])).start()
        time.sleep(2)
        both_wait = out[S[4]] is None and out[H[3]] is None
        out[H[0]][0].close()
        web_first = wait_up(out, [H[3]], 30)
        time.sleep(2)
        smtp_still = out[S[4]] is None
        out[H[1]][0].close()
        smtp_then = wait_up(out, [S[4]], 30)
        print('qemu_ram: gate full: STARTTLS and HTTPS both waiting: %s; a slot freed: HTTPS '
              'first: %s (STARTTLS still waiting: %s); the next slot: STARTTLS through: %s'
              % (both_wait, web_first, smtp_still, smtp_then))
        ok = ok and both_wait and web_first and smtp_still and smtp_then
        for o in out:
            if o and o[0]:
                o[0].close()
    finally:
        b.stop()
    print('qemu_ram: %s' % ('as expected' if ok else 'NOT as expected'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
