#!/usr/bin/env python3
"""qemu_ram — the RAM figure on the qemu-virt board itself: boots the image
(fresh flash, user networking: SMTP :25 and HTTPS :443 forwarded), starts 4
inbound STARTTLS sessions and 4 HTTPS connections at once (8 TLS sessions:
one more than the TLS gate's 7, board.mk QV_TLS_SESSIONS), holds the ones
that got through, and reads the console's `status`: TLS arena in use and
peak, and "ram high-water: static + heap". Then checks the gate: 7 sessions
up and the 8th still waiting (no refusal, no clear text), and that it gets
its handshake once one session ends. Figures, not a test (no timing).
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


def main():
    work = tempfile.mkdtemp(prefix='qemu_ram.')
    b = Board(work)
    ok = True
    try:
        if not (b.wait_for(r'ready:', 60) and b.wait_for(r'DHCP lease', 30)):
            print('qemu_ram: board did not come up')
            return 1
        time.sleep(1)
        out = [None] * 8
        th = [threading.Thread(target=smtp_tls, args=(b.smtp, out, i)) for i in range(4)]
        th += [threading.Thread(target=https_tls, args=(b.https, out, i)) for i in range(4, 8)]
        for t in th:
            t.start()
        end = time.time() + 60
        while time.time() < end and sum(1 for o in out if o) < 7:
            time.sleep(0.1)
        time.sleep(2)  # the 8th, if the gate lets it, would be through by now
        up = [i for i, o in enumerate(out) if o and o[0]]
        failed = [o[1] for o in out if o and not o[0]]
        m = b.command('status', r'ram high-water: static (\d+) \+ heap (\d+) = (\d+) KiB')
        t = re.search(r'TLS heap (\d+) in use, peak (\d+) of (\d+) bytes', b.buf)
        print('qemu_ram: %d of 8 TLS sessions up at once (4 STARTTLS + 4 HTTPS), %d waiting, '
              'failed: %s' % (len(up), 8 - len(up) - len(failed), failed or 'none'))
        if t:
            print('qemu_ram: TLS arena in use %s, peak %s of %s bytes (allocator headers not '
                  'counted)' % t.groups())
        if m:
            s, h, z = (int(x) for x in m.groups())
            print('qemu_ram: ram high-water: static %d + heap %d = %d bytes (%.1f KiB) of 384 KiB'
                  % (s, h, s + h, (s + h) / 1024))
        ok = len(up) == 7 and not failed and m is not None
        # The gate: the waiting one gets its handshake once a session ends.
        waiting = [i for i, o in enumerate(out) if o is None]
        if len(waiting) == 1:
            out[up[0]][0].close()
            end = time.time() + 30
            while time.time() < end and out[waiting[0]] is None:
                time.sleep(0.1)
            w = out[waiting[0]]
            print('qemu_ram: after one session ended, the waiting one: %s' %
                  ('handshake done' if w and w[0] else 'still waiting' if not w else w[1]))
            ok = ok and bool(w and w[0])
        else:
            ok = False
        for o in out:
            if o and o[0]:
                o[0].close()
    finally:
        b.stop()
    print('qemu_ram: %s' % ('as expected' if ok else 'NOT as expected'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
