#!/usr/bin/env python3
"""test_flashdrv — the qemu-virt board's own code on real QEMU devices:
builds tests/qemu/flashdrv/ (the board with a test harness as firmware, no
network) and boots it twice on one fresh flash file. Checks the CFI driver
against QEMU's pflash_cfi01 (geometry, erase, buffered program across
write-buffer windows, the NOR rule, unaligned reads, range errors), the
flash file contents from the host side, persistence across boots, the fault report (a NULL write on boot 2), the wall
clock, WFI sleep in port_poll and its early end on console input (UART
interrupt), stack painting, and PSCI reset (QEMU runs
with -no-reboot, so a working reset ends it). Ends with
"flashdrv: N passed, M failed". QV_VERBOSE=1 echoes the serial console."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
BUILD = os.path.join('build', 'test-flashdrv')
FLASH_BYTES = 64 * 1024 * 1024
BLOCK = 256 * 1024
CONFIG_START = FLASH_BYTES - 8 * BLOCK  # QV_FLASH_CONFIG_BLOCKS = 8
results = []


def check(name, cond, detail=''):
    results.append(bool(cond))
    print('  %-44s %s%s' % (name, 'PASS' if cond else 'FAIL',
                            '' if not detail else '  (%s)' % detail), flush=True)


def boot(elf, flash, stop_on=None):
    """Runs QEMU to its end (or until a line equals stop_on, then kills it);
    types "hello" on the serial console when the harness asks.
    (output, exit code or None if killed, seconds)"""
    cmd = ['qemu-system-arm', '-M', 'virt', '-cpu', 'cortex-a15', '-m', '128M', '-nographic',
           '-monitor', 'none', '-no-reboot', '-nic', 'none', '-kernel', elf,
           '-drive', 'if=pflash,unit=1,format=raw,file=' + flash]
    t0 = time.monotonic()
    q = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.PIPE)
    lines = []

    def reader():
        for raw in iter(q.stdout.readline, b''):
            text = raw.decode(errors='replace').rstrip('\r\n')
            lines.append(text)
            if os.environ.get('QV_VERBOSE'):
                print('    | ' + text, flush=True)
            if stop_on and text == stop_on:
                q.kill()
            if text == 'I type now':
                time.sleep(0.5)  # let the board go to sleep first
                q.stdin.write(b'hello\r')
                q.stdin.flush()

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    try:
        rc = q.wait(timeout=60)
    except subprocess.TimeoutExpired:
        q.kill()
        q.wait()
        rc = None
    t.join(5)
    return '\n'.join(lines), rc, time.monotonic() - t0


def harness_checks(tag, out):
    for m in re.finditer(r'^T (\S+) (PASS|FAIL) ?(.*)$', out, re.M):
        check('%s: %s' % (tag, m.group(1)), m.group(2) == 'PASS', m.group(3).strip())


def main():
    print('qemu-virt flash/board test (tests/qemu/flashdrv)')
    r = subprocess.run(['make', '-s', '-j2', '-f', 'tests/qemu/flashdrv/flashdrv.mk', 'BUILD=' + BUILD],
                       cwd=ROOT)
    check('build flashdrv image', r.returncode == 0)
    if r.returncode != 0:
        print('flashdrv: %d passed, %d failed' % (results.count(True), results.count(False)))
        return 1
    elf = os.path.join(ROOT, BUILD, 'flashdrv.elf')
    tmp = tempfile.mkdtemp(prefix='test-flashdrv-', dir=os.path.join(ROOT, 'build'))
    try:
        flash = os.path.join(tmp, 'flash.img')
        with open(flash, 'wb') as f:
            f.write(b'\xff' * FLASH_BYTES)

        out, rc, secs = boot(elf, flash)
        host_now = time.time()
        harness_checks('boot 1', out)
        check('boot 1: harness ran to the end', 'flashdrv: done' in out)
        check('boot 1: no mark before the first boot', 'I mark absent' in out)
        check('boot 1: PSCI reset ends QEMU (-no-reboot)', rc == 0 and 'board: reboot' in out,
              'rc %s after %.1f s' % (rc, secs))
        check('boot 1: no CPU fault', '*** FAULT' not in out)
        m = re.search(r'^I wall (-?\d+)', out, re.M)
        wall = int(m.group(1)) if m else None
        check('wall clock from PL031 within 10 s of the host', wall is not None and abs(wall - host_now) < 10,
              'board %s host %d' % (wall, host_now))
        for m in re.finditer(r'^T (\S+) PASS .*?(\d+) ms', out, re.M):
            if m.group(1) in ('erase', 'program_12000_across_windows', 'queue_program_64k'):
                print('  figure: %s %s ms' % (m.group(1), m.group(2)))

        with open(flash, 'rb') as f:
            data = f.read()
        mark = CONFIG_START + 3 * BLOCK
        check('file: mark at config block 3', data[mark:mark + 13] == b'FLASHDRV-MARK')
        pat = bytes(((i * 131) + (i >> 8)) & 0xff for i in range(12000))
        pat = bytes(b & 0x0f for b in pat[:4]) + pat[4:]
        off = CONFIG_START + 2 * BLOCK + 4096 - 4
        check('file: 12000-byte pattern where programmed', data[off:off + 12000] == pat)
        check('file: queue block 0 erased again', data[:BLOCK] == b'\xff' * BLOCK)
        check('file: nothing else written', data[BLOCK:CONFIG_START] == b'\xff' * (CONFIG_START - BLOCK))

        out2, rc2, _ = boot(elf, flash, stop_on='*** halted ***')
        check('boot 2: mark from boot 1 survived', 'I mark present' in out2)
        harness_checks('boot 2', out2)
        check('boot 2: harness ran to the end', 'flashdrv: done' in out2)
        report = out2[out2.find('I fault now'):]
        check('fault: data abort report', '*** FAULT: data abort ***' in report)
        check('fault: decoded status, address, direction',
              'translation fault (section): unmapped address on write DFAR=0x00000010' in report)
        check('fault: registers, pc in the harness, Thumb',
              re.search(r'pc=0x4\w{7} lr=0x\w{8} sp=0x\w{8} cpsr=0x\w{8} \(Thumb\)', report) is not None)
        check('fault: halted, not continued', '*** halted ***' in report and 'I fault ignored' not in report)
        if not all(results):
            print('---- serial log of boot 1 ----\n' + out[-3000:])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    passed, failed = results.count(True), results.count(False)
    print('flashdrv: %d passed, %d failed' % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == '__main__':
    sys.exit(main())
