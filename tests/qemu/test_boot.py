#!/usr/bin/env python3
"""test_boot — boots the qemu-virt image (build it first: make BOARD=qemu-virt)
twice on one fresh flash file: first boot gets a DHCP lease, listens, answers
SMTP through QEMU's hostfwd on a free 127.0.0.1 port (220 ESMTP danegate
banner, 221 to QUIT) and counts boot 1; the second boot on the same flash
file must count boot 2 (the config record survived a restart). Prints the
boot-to-ready figures and ends with "qemu: N passed, M failed".
Environment: QV_IMAGE (default build/qemu-virt/danegate.elf), QV_VERBOSE=1
echoes the serial console. Only loopback and QEMU user networking are used."""
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
IMAGE = os.environ.get('QV_IMAGE', os.path.join(ROOT, 'build', 'qemu-virt', 'danegate.elf'))
FLASH_BYTES = 64 * 1024 * 1024
BLOCK = 256 * 1024
CONFIG_BLOCKS = 8  # board/qemu-virt/qv_board.h: QV_FLASH_CONFIG_BLOCKS
results = []


def check(name, cond, detail=''):
    results.append(bool(cond))
    print('  %-52s %s%s' % (name, 'PASS' if cond else 'FAIL',
                            '' if cond or not detail else '  (%s)' % detail), flush=True)
    return bool(cond)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Board:
    """One QEMU run; the serial log collects in self.log with arrival times."""

    def __init__(self, flash, smtp_port):
        cmd = ['qemu-system-arm', '-M', 'virt', '-cpu', 'cortex-a15', '-m', '128M', '-nographic',
               '-monitor', 'none', '-kernel', IMAGE,
               '-drive', 'if=pflash,unit=1,format=raw,file=' + flash,
               '-global', 'virtio-mmio.force-legacy=false',
               '-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:25' % smtp_port,
               '-device', 'virtio-net-device,netdev=n0', '-device', 'virtio-rng-device']
        self.lines = []  # (seconds since start, text)
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.q = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in iter(self.q.stdout.readline, b''):
            text = raw.decode(errors='replace').rstrip('\r\n')
            with self.lock:
                self.lines.append((time.monotonic() - self.t0, text))
            if os.environ.get('QV_VERBOSE'):
                print('    | ' + text, flush=True)

    def log(self):
        with self.lock:
            return '\n'.join(t for _, t in self.lines)

    def wait_for(self, regex, timeout):
        """First match of regex in the serial log: (seconds since start, match) or None."""
        r = re.compile(regex)
        end = time.monotonic() + timeout
        while True:
            with self.lock:
                for t, text in self.lines:
                    m = r.search(text)
                    if m:
                        return t, m
            if time.monotonic() > end or self.q.poll() is not None:
                return None
            time.sleep(0.01)

    def stop(self):
        if self.q.poll() is None:
            self.q.kill()
        self.q.wait()


def smtp_banner_and_quit(port, timeout=10):
    """(banner line, QUIT reply line); raises OSError on a connection problem."""
    with socket.create_connection(('127.0.0.1', port), timeout=timeout) as s:
        f = s.makefile('rb')
        banner = f.readline().decode(errors='replace').rstrip('\r\n')
        s.sendall(b'QUIT\r\n')
        reply = f.readline().decode(errors='replace').rstrip('\r\n')
        return banner, reply


def boot(name, flash, expect_count):
    port = free_port()
    b = Board(flash, port)
    try:
        lease = b.wait_for(r'net: DHCP lease (\S+)', 30)
        check('%s: DHCP lease' % name, lease, 'no "net: DHCP lease" line')
        listening = b.wait_for(r'smtp: listening on', 30)
        check('%s: SMTP listener up' % name, listening)
        banner = reply = ''
        t_banner = None
        try:
            banner, reply = smtp_banner_and_quit(port)
            t_banner = time.monotonic() - b.t0
        except OSError as e:
            banner = 'connection failed: %s' % e
        check('%s: 220 ESMTP danegate banner on 127.0.0.1:%d' % (name, port),
              re.match(r'220 \S+ ESMTP danegate', banner), banner)
        check('%s: QUIT gets 221' % name, reply.startswith('221'), reply)
        count = b.wait_for(r'boot count (\d+)', 5)
        got = int(count[1].group(1)) if count else None
        check('%s: boot count %d' % (name, expect_count), got == expect_count, 'got %s' % got)
        check('%s: no CPU fault' % name, '*** FAULT' not in b.log())
        figures = []
        first = b.wait_for(r'board: qemu-virt', 0)
        if first:
            figures.append('first UART line %.0f ms' % (first[0] * 1000))
        if lease:
            figures.append('DHCP lease %.0f ms' % (lease[0] * 1000))
        if listening:
            figures.append('listening %.0f ms' % (listening[0] * 1000))
        if t_banner is not None:
            figures.append('banner %.0f ms' % (t_banner * 1000))
        print('  %s: from QEMU start: %s' % (name, ', '.join(figures) or 'no figures'))
        mem = re.findall(r'stack peak (\d+) of \d+ bytes, heap high-water (\d+)', b.log())
        if mem:
            print('  %s: stack peak %s bytes, heap high-water %s bytes' % (name, mem[-1][0], mem[-1][1]))
        ok = all(results)
        return ok, b.log()
    finally:
        b.stop()


def main():
    print('qemu-virt boot test: %s' % IMAGE)
    if not os.path.exists(IMAGE):
        check('image exists (make BOARD=qemu-virt first)', False, IMAGE)
        print('qemu: %d passed, %d failed' % (results.count(True), results.count(False)))
        return 1
    tmp = tempfile.mkdtemp(prefix='test-boot-', dir=os.path.join(ROOT, 'build'))
    logs = []
    try:
        flash = os.path.join(tmp, 'flash.img')
        with open(flash, 'wb') as f:  # erased NOR is all ones
            f.write(b'\xff' * FLASH_BYTES)
        ok1, log1 = boot('boot 1', flash, 1)
        logs.append(log1)
        with open(flash, 'rb') as f:
            data = f.read()
        cfg_start = FLASH_BYTES - CONFIG_BLOCKS * BLOCK
        check('flash: boot record in the config area', data[cfg_start:].count(b'\xff') < CONFIG_BLOCKS * BLOCK)
        check('flash: queue area untouched (erased)', data[:cfg_start].count(b'\xff') == cfg_start)
        ok2, log2 = boot('boot 2', flash, 2)
        logs.append(log2)
    finally:
        if not all(results):
            for i, log in enumerate(logs, 1):
                print('---- serial log of boot %d (last 40 lines) ----' % i)
                print('\n'.join(log.splitlines()[-40:]))
        shutil.rmtree(tmp, ignore_errors=True)
    passed, failed = results.count(True), results.count(False)
    print('qemu: %d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
