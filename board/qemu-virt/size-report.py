#!/usr/bin/env python3
"""size-report — per-component sizes of the qemu-virt image from the GNU ld
map file: text / rodata / data / bss for danegate (firmware), board+drivers,
mbedTLS, lwIP, ldns and libc/libgcc, then totals and the budget
(text+rodata <= 400 KiB; static RAM + peak heap <= 384 KiB).
Usage: size-report.py build/qemu-virt/danegate.map [--heap-peak BYTES]
       [--tls-arena BYTES --tls-bench build/bench/ram/result.txt]
The static TLS arena is counted at its measured peak (bench/ram's result
file when present, else the figure documented below) instead of its size.
Exit status 0 even over budget (it is a report); 2 on a bad map file."""
import argparse
import re
import sys

FLASH_BUDGET = 400 * 1024
RAM_BUDGET = 384 * 1024

COMPONENTS = ['danegate', 'board+drivers', 'mbedTLS', 'lwIP', 'ldns', 'libc/libgcc', 'other']
COLUMNS = ['text', 'rodata', 'data', 'bss']

# Output section -> column. Stacks, MMU table and heap are the board's own
# reservations, reported from the section headers.
SECTION_CLASS = {
    '.text': 'text', '.ARM.exidx': 'text', '.ARM.extab': 'text', '.init': 'text', '.fini': 'text',
    '.rodata': 'rodata', '.preinit_array': 'rodata', '.init_array': 'rodata',
    '.fini_array': 'rodata',
    '.data': 'data',
    '.bss': 'bss',
}
RESERVED = ['.stack', '.ttb', '.heap']

# bench/ram on armhf (32-bit, like this board), 4 inbound + 2
# outbound TLS sessions through the TLS gate (board.mk: 6 sessions, 1
# handshaking at a time), peer chains freed once judged, arena peak
# including the allocator's block headers: used when no result file is there.
TLS_PEAK_DOCUMENTED = 138064
# newlib heap high-water (ldns parsing, config scratch) from the board's
# console `status` ("ram high-water: static + heap") at the end of each
# board of tests/e2e/run-dane-qemu.sh (every scenario, s30's ~2.6 KB TLSA
# answer over TCP included; ldns patched to allocate rdata fields at their
# own length): used when QV_HEAP_PEAK is not given. Was 20 756.
HEAP_PEAK_DOCUMENTED = 5472


def read_bench(path):
    """key=value lines of bench/ram's result file, {} when absent."""
    try:
        with open(path, encoding='utf-8') as f:
            return dict(l.strip().split('=', 1) for l in f if '=' in l)
    except OSError:
        return {}


def component(path):
    p = path.replace('\\', '/')
    if 'libdanegate.a' in p or '/obj/firmware/' in p:
        return 'danegate'
    if 'libboard.a' in p or '/obj/board/' in p or '/obj/drivers/' in p:
        return 'board+drivers'
    if 'mbed' in p:
        return 'mbedTLS'
    if 'lwip' in p:
        return 'lwIP'
    if 'ldns' in p:
        return 'ldns'
    if re.search(r'lib(c|c_nano|g|g_nano|m|gcc|nosys)\.a|crt[^/]*\.o|/arm-none-eabi/', p):
        return 'libc/libgcc'
    return 'other'


def parse(path):
    sizes = {c: dict.fromkeys(COLUMNS, 0) for c in COMPONENTS}
    headers = {}  # output section -> (addr, size)
    fill = dict.fromkeys(COLUMNS, 0)
    with open(path, encoding='utf-8', errors='replace') as f:
        lines = f.read().splitlines()
    try:
        start = lines.index('Linker script and memory map')
    except ValueError:
        sys.exit('size-report: %s is not a GNU ld map file' % path)
    out_sec = None
    pending = None  # input section name waiting for its address line
    hdr_pending = None
    out_re = re.compile(r'^(\.[^\s]+|[A-Za-z_][^\s]*)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+))?')
    in_full = re.compile(r'^ (\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$')
    in_name = re.compile(r'^ (\S+)$')
    cont = re.compile(r'^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$')
    fill_re = re.compile(r'^ \*fill\*\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)')
    hdr_cont = re.compile(r'^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s*$')
    for line in lines[start + 1:]:
        if hdr_pending:
            m = hdr_cont.match(line)
            if m:
                headers[hdr_pending] = (int(m.group(1), 16), int(m.group(2), 16))
            hdr_pending = None
            continue
        if line and not line[0].isspace():
            m = out_re.match(line)
            out_sec = m.group(1) if m else None
            if m and m.group(2):
                headers[out_sec] = (int(m.group(2), 16), int(m.group(3), 16))
            elif m:
                hdr_pending = out_sec
            pending = None
            continue
        col = SECTION_CLASS.get(out_sec)
        m = fill_re.match(line)
        if m:
            if col:
                fill[col] += int(m.group(2), 16)
            continue
        m = in_full.match(line)
        if m:
            name, size, obj = m.group(1), int(m.group(3), 16), m.group(4)
        else:
            if pending:
                m = cont.match(line)
                pending_name, pending = pending, None
                if m:
                    name, size, obj = pending_name, int(m.group(2), 16), m.group(3)
                else:
                    continue
            else:
                m = in_name.match(line)
                if m and not m.group(1).startswith('*'):
                    pending = m.group(1)
                continue
        if not col or size == 0 or name.startswith('*('):
            continue
        sizes[component(obj)][col] += size
    return sizes, headers, fill


def kib(n):
    return '%.1f' % (n / 1024)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('map')
    ap.add_argument('--heap-peak', type=int, default=None)
    ap.add_argument('--tls-arena', type=int, default=None)
    ap.add_argument('--tls-bench', default=None)
    a = ap.parse_args()
    sizes, headers, fill = parse(a.map)
    for c in COLUMNS:
        sizes['other'][c] += fill[c]  # alignment padding
    print('qemu-virt image sizes (bytes) from %s' % a.map)
    print('%-15s %9s %9s %9s %9s %9s' % ('component', 'text', 'rodata', 'data', 'bss', 'total'))
    tot = dict.fromkeys(COLUMNS, 0)
    for comp in COMPONENTS:
        s = sizes[comp]
        if not any(s.values()):
            continue
        for c in COLUMNS:
            tot[c] += s[c]
        print('%-15s %9d %9d %9d %9d %9d' % (comp, s['text'], s['rodata'], s['data'], s['bss'],
                                               sum(s.values())))
    print('%-15s %9d %9d %9d %9d %9d' % ('total', tot['text'], tot['rodata'], tot['data'],
                                           tot['bss'], sum(tot.values())))
    # Cross-check against the section headers: the parser must see it all.
    # The map lists mergeable strings at their size before the linker
    # dropped duplicates, so components may add up to a little more.
    for col in COLUMNS:
        want = sum(size for sec, (_, size) in headers.items() if SECTION_CLASS.get(sec) == col)
        if want < tot[col]:
            print('note: %s: %d bytes of duplicate strings merged by the linker are counted '
                  'in the components above; the image holds %d' % (col, tot[col] - want, want))
        elif want > tot[col]:
            print('note: %s: %d bytes in the image not attributed to a component' %
                  (col, want - tot[col]))
        tot[col] = want
    res = {s: headers.get(s, (0, 0))[1] for s in RESERVED}
    print('board reservations: stacks %d, MMU table %d, heap limit %d' %
          (res['.stack'], res['.ttb'], res['.heap']))
    code = tot['text'] + tot['rodata']
    # Static RAM: .data up to the end of the stacks (gaps included) plus
    # the MMU table; the heap is counted by its peak, not its limit.
    data_start = headers.get('.data', (0, 0))[0]
    stack = headers.get('.stack', (0, 0))
    static_ram = (stack[0] + stack[1] - data_start + res['.ttb']) if data_start and stack[0] else \
        tot['data'] + tot['bss'] + res['.stack'] + res['.ttb']
    print('budget: text+rodata %d bytes (%s KiB) of %d KiB: %s' %
          (code, kib(code), FLASH_BUDGET // 1024, 'OK' if code <= FLASH_BUDGET else 'OVER'))
    hp = a.heap_peak if a.heap_peak is not None else HEAP_PEAK_DOCUMENTED
    heap = ('peak heap %d (QV_HEAP_PEAK)' % hp) if a.heap_peak is not None else \
        ('peak heap %d (documented: `status` after the e2e DANE run; QV_HEAP_PEAK= to give '
         'another)' % hp)
    ram = static_ram + hp
    print('budget: static RAM %d bytes (%s KiB) + %s = %d bytes (%s KiB) of %d KiB: %s' %
          (static_ram, kib(static_ram), heap, ram, kib(ram), RAM_BUDGET // 1024,
           'OK' if ram <= RAM_BUDGET else 'OVER by %d bytes' % (ram - RAM_BUDGET)))
    if a.tls_arena:
        res = read_bench(a.tls_bench) if a.tls_bench else {}
        if 'arena_peak_with_headers' in res:
            peak = int(res['arena_peak_with_headers'])
            src = 'measured by bench/ram (%s: %s)' % (a.tls_bench, res.get('what', '?'))
        else:
            peak = TLS_PEAK_DOCUMENTED
            src = 'documented bench/ram figure (no %s: run make bench)' % a.tls_bench
        heap_peak = a.heap_peak if a.heap_peak is not None else HEAP_PEAK_DOCUMENTED
        heap_src = 'QV_HEAP_PEAK' if a.heap_peak is not None else 'documented: status after the e2e DANE run'
        ram = static_ram - a.tls_arena + peak + heap_peak
        print('budget: static RAM without the TLS arena %d + TLS arena peak %d (%s) + heap '
              'high-water %d (%s) = %d bytes (%s KiB) of %d KiB: %s; arena reserved %d '
              '(margin %d)' %
              (static_ram - a.tls_arena, peak, src, heap_peak, heap_src, ram, kib(ram),
               RAM_BUDGET // 1024, 'OK' if ram <= RAM_BUDGET else 'OVER', a.tls_arena,
               a.tls_arena - peak))


if __name__ == '__main__':
    main()
