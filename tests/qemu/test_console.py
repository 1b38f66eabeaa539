#!/usr/bin/env python3
"""test_console — drives the serial console of the qemu-virt image over
QEMU's stdio (-nographic: the PL011 is on QEMU's stdin/stdout). Boot 1 on a
fresh flash: help, status, a bad command and a bad value (clear errors),
`config set hostname`, `config save`, `reboot yes`; boot 2 on the same
flash (QEMU restarted if the reboot ended it): `config show` shows the saved
hostname and the SMTP banner carries it. Also `tlsa import` of a PEM pair
pasted on the console (not echoed) and `tlsa switch force`: STARTTLS
presents it at once and after the reboot. Needs the console wired into
danegate.c (serial_poll in the main loop). Ends with "qemu: N passed, M failed".
Environment: QV_IMAGE (default build/qemu-virt/danegate.elf), QV_VERBOSE=1
echoes the serial output."""
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_boot as tb  # noqa: E402  (check, free_port, geometry, IMAGE)

HOSTNAME = 'console-test.example'


class Console:
    """One QEMU run with the serial console on a pipe; output kept raw
    (prompts have no newline, so no line splitting)."""

    def __init__(self, flash, smtp_port):
        cmd = ['qemu-system-arm', '-M', 'virt', '-cpu', 'cortex-a15', '-m', '128M', '-nographic',
               '-monitor', 'none', '-kernel', tb.IMAGE,
               '-drive', 'if=pflash,unit=1,format=raw,file=' + flash,
               '-global', 'virtio-mmio.force-legacy=false',
               '-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:25' % smtp_port,
               '-device', 'virtio-net-device,netdev=n0', '-device', 'virtio-rng-device']
        self.buf = ''
        self.mark = 0  # where the output of the last command starts
        self.lock = threading.Lock()
        self.q = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        fd = self.q.stdout.fileno()
        while True:
            data = os.read(fd, 4096)
            if not data:
                return
            text = data.decode(errors='replace')
            with self.lock:
                self.buf += text
            if os.environ.get('QV_VERBOSE'):
                sys.stdout.write(text)
                sys.stdout.flush()

    def wait_for(self, regex, timeout, since=0):
        """First match of regex in the output after position since, or None."""
        r = re.compile(regex)
        end = time.monotonic() + timeout
        while True:
            with self.lock:
                m = r.search(self.buf, since)
            if m:
                return m
            if time.monotonic() > end or self.q.poll() is not None:
                return None
            time.sleep(0.02)

    def send(self, line, timeout=20):
        """Types line + CR; returns the output up to the next prompt (or
        what came within timeout)."""
        with self.lock:
            start = len(self.buf)
        # Slowly enough for the UART's receive ring: a few bytes at a time.
        data = line.encode() + b'\r'
        for i in range(0, len(data), 8):
            self.q.stdin.write(data[i:i + 8])
            self.q.stdin.flush()
            time.sleep(0.01)
        m = self.wait_for(r'danegate> |Password: ', timeout, start + len(line))
        with self.lock:
            return self.buf[start:m.start() if m else len(self.buf)]

    def stop(self):
        if self.q.poll() is None:
            self.q.kill()
        self.q.wait()


def banner(port, timeout=10):
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        return s.makefile('rb').readline().decode(errors='replace').rstrip('\r\n')


def starttls_cert(port):
    """The DER certificate the relay presents over STARTTLS (None: failed)."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=20) as s:
            f = s.makefile('rb')

            def reply():
                while True:
                    line = f.readline().decode(errors='replace')
                    if line[3:4] != '-':
                        return line
            reply()
            s.sendall(b'EHLO test.example\r\n')
            reply()
            s.sendall(b'STARTTLS\r\n')
            if not reply().startswith('220'):
                return None
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            with ctx.wrap_socket(s, server_hostname=HOSTNAME) as t:
                return t.getpeercert(True)
    except (OSError, ssl.SSLError):
        return None


def tlsa_import(c, port, tmp):
    """`tlsa import` of an openssl-made P-256 pair pasted on the serial
    console (nothing echoed), then `tlsa switch force`: STARTTLS presents
    it at once, without a reboot. Returns the certificate's DER."""
    key, crt = os.path.join(tmp, 'k.pem'), os.path.join(tmp, 'c.pem')
    r = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', crt,
                        '-days', '30', '-subj', '/CN=' + HOSTNAME,
                        '-addext', 'subjectAltName=DNS:' + HOSTNAME], capture_output=True)
    if not tb.check('openssl made a pair to import', r.returncode == 0, r.stderr):
        return None
    pem = open(key).read() + open(crt).read()
    der = ssl.PEM_cert_to_DER_cert(open(crt).read())
    before = starttls_cert(port)
    tb.check('STARTTLS before the import: the first boot\'s certificate',
             before is not None and before != der)
    mark = len(c.buf)
    c.q.stdin.write(b'tlsa import\r')
    c.q.stdin.flush()
    tb.check('tlsa import asks for the paste', c.wait_for(r'an empty line', 10, mark))
    data = pem.replace('\n', '\r').encode()
    for i in range(0, len(data), 8):  # slowly enough for the UART's ring
        c.q.stdin.write(data[i:i + 8])
        c.q.stdin.flush()
        time.sleep(0.01)
    out = c.send('')
    tb.check('tlsa import: stored as the next key, record shown',
             'stored as the NEXT key' in out and re.search(r'next: +_25\._tcp\.', out), out)
    with c.lock:
        echoed = c.buf[mark:]
    tb.check('tlsa import: the pasted key is not echoed', pem.split('\n')[1] not in echoed)
    out = c.send('tlsa switch force')
    tb.check('tlsa switch force: in service now', 'new sessions use the new key now' in out, out)
    tb.check('STARTTLS presents the imported certificate without a reboot',
             starttls_cert(port) == der)
    return der


def ready(c, name, since=0):
    up = c.wait_for(r'smtp: listening on', 60, since)
    tb.check('%s: relay up' % name, up)
    time.sleep(0.5)  # let the boot log finish before typing
    mark = len(c.buf)
    c.q.stdin.write(b'\r')  # an empty line: the prompt again
    c.q.stdin.flush()
    return tb.check('%s: console prompt' % name, c.wait_for(r'danegate> ', 10, mark))


def main():
    print('qemu-virt serial console test: %s' % tb.IMAGE)
    if not os.path.exists(tb.IMAGE):
        tb.check('image exists (make BOARD=qemu-virt first)', False, tb.IMAGE)
        print('qemu: %d passed, %d failed' % (tb.results.count(True), tb.results.count(False)))
        return 1
    tmp = tempfile.mkdtemp(prefix='test-console-', dir=os.path.join(tb.ROOT, 'build'))
    logs = []
    c = None
    try:
        flash = os.path.join(tmp, 'flash.img')
        with open(flash, 'wb') as f:
            f.write(b'\xff' * tb.FLASH_BYTES)
        port = tb.free_port()
        c = Console(flash, port)
        if ready(c, 'boot 1'):
            out = c.send('help')
            tb.check('help lists the commands', all(w in out for w in
                     ('status', 'queue', 'log', 'config', 'tlsa', 'stats', 'passwd', 'reboot')), out)
            out = c.send('help queue')
            tb.check('help queue shows its usage', 'usage: queue' in out, out)
            out = c.send('status')
            tb.check('status: version and board', re.search(r'danegate \S+ on qemu-virt', out), out)
            tb.check('status: RAM, TLS heap, queue, flash wear, inbound',
                     all(w in out for w in ('TLS heap', 'queue:', 'erase count', 'inbound:')), out)
            m = re.search(r'ram high-water: static (\d+) \+ heap (\d+) = (\d+) KiB', out)
            tb.check('status: RAM high-water on demand (static + heap peak)',
                     m and int(m.group(1)) > 0 and int(m.group(2)) > 0 and
                     int(m.group(3)) * 1024 >= int(m.group(1)) + int(m.group(2)), out)
            m = re.search(r'net buffers: receive pool (\d+) of (\d+) in use, stack heap (\d+) of '
                          r'(\d+) bytes; frames dropped (\d+) \(no buffer\), (\d+) \(data shed', out)
            tb.check('status: network buffers (lwIP pool and heap, drops)',
                     m and int(m.group(2)) > 0 and int(m.group(1)) <= int(m.group(2))
                     and int(m.group(4)) > 0 and int(m.group(3)) <= int(m.group(4)), out)
            out = c.send('frobnicate')
            tb.check('unknown command: clear error', "error: unknown command 'frobnicate'" in out, out)
            out = c.send('config set smtp_port 99999')
            tb.check('bad value: clear error', 'error: smtp_port' in out, out)
            out = c.send('config set hostname ' + HOSTNAME)
            tb.check('config set hostname', 'hostname set' in out, out)
            out = c.send('config save')
            tb.check('config save', 'saved' in out and 'error' not in out, out)
            out = c.send('tlsa')
            tb.check('tlsa shows the 3 1 1 record',
                     re.search(r'_25\._tcp\.%s\. IN TLSA 3 1 1 [0-9a-f]{64}' % re.escape(HOSTNAME), out), out)
            imported = tlsa_import(c, port, tmp)
            mark = len(c.buf)
            c.q.stdin.write(b'reboot yes\r')
            c.q.stdin.flush()
            tb.check('reboot yes', c.wait_for(r'rebooting', 10, mark))
            # PSCI SYSTEM_RESET restarts the machine in QEMU (or ends QEMU
            # under -no-reboot): either way the flash file carries on.
            again = c.wait_for(r'boot count 2', 30, mark)
            if not again:
                logs.append(c.buf)
                c.stop()
                c = Console(flash, port)
                mark = 0
            ok = ready(c, 'boot 2', mark)
        else:
            ok = False
        if ok:
            out = c.send('config show')
            tb.check('config show: the saved hostname after reboot',
                     re.search(r'hostname\s+= %s  \(saved\)' % re.escape(HOSTNAME), out), out)
            try:
                b = banner(port)
            except OSError as e:
                b = 'connection failed: %s' % e
            tb.check('SMTP banner carries the saved hostname', b.startswith('220 ' + HOSTNAME), b)
            tb.check('tlsa import: STARTTLS after the reboot presents it still',
                     imported and starttls_cert(port) == imported)
        tb.check('no CPU fault', c is not None and '*** FAULT' not in c.buf)
    finally:
        if c is not None:
            logs.append(c.buf)
            c.stop()
        if not all(tb.results):
            for i, log in enumerate(logs, 1):
                print('---- serial output of run %d (last 40 lines) ----' % i)
                print('\n'.join(log.splitlines()[-40:]))
        shutil.rmtree(tmp, ignore_errors=True)
    passed, failed = tb.results.count(True), tb.results.count(False)
    print('qemu: %d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
