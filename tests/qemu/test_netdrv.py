#!/usr/bin/env python3
"""test_netdrv — the qemu-virt network and entropy code in QEMU, on the
netdrv test image (tests/qemu/netdrv/): virtio-rng bytes, DHCP lease (and a
static address), SLAAC, echo through hostfwd (bulk, concurrent, reset),
the accept backlog bound, outbound TCP over IPv4 and IPv6, a refused
connect and UDP. Peers live on the host's loopback only; the board reaches
them through QEMU user networking's host alias (10.0.2.2 / fec0::2).
Ends with "netdrv: N passed, M failed"."""
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
results = []


def check(name, cond):
    results.append(bool(cond))
    print('  %-40s %s' % (name, 'PASS' if cond else 'FAIL'), flush=True)


def free_port(family=socket.AF_INET, kind=socket.SOCK_STREAM, host='127.0.0.1'):
    s = socket.socket(family, kind)
    s.bind((host, 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Board:
    """One QEMU run of the image; the serial log collects in self.log."""
    runs = 0

    def __init__(self, elf, fwd):
        hostfwd = ','.join('hostfwd=tcp:127.0.0.1:%d-:%d' % (h, g) for h, g in fwd)
        cmd = ['qemu-system-arm', '-M', 'virt', '-cpu', 'cortex-a15', '-m', '128M', '-nographic',
               '-monitor', 'none', '-global', 'virtio-mmio.force-legacy=false',
               '-netdev', 'user,id=n0,' + hostfwd, '-device', 'virtio-net-device,netdev=n0',
               '-device', 'virtio-rng-device', '-kernel', elf]
        if os.environ.get('NETDRV_PCAP'):  # debugging: every frame to a pcap file
            Board.runs += 1
            cmd += ['-object', 'filter-dump,id=f0,netdev=n0,file=%s.%d' % (os.environ['NETDRV_PCAP'], Board.runs)]
        self.log = b''
        self.q = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in iter(self.q.stdout.readline, b''):
            self.log += line
            if os.environ.get('NETDRV_VERBOSE'):
                print('    board:', line.decode(errors='replace').rstrip(), flush=True)

    def wait_for(self, pattern, timeout):
        end = time.time() + timeout
        while pattern not in self.log and time.time() < end:
            time.sleep(0.05)
        return pattern in self.log

    def stop(self):
        self.q.kill()
        self.q.wait()


class HostPeers:
    """Loopback peers: TCP on 127.0.0.1 and ::1 (reply once), UDP echo."""

    def __init__(self):
        self.tcp_port = free_port()
        self.tcp6_port = free_port(socket.AF_INET6, host='::1')
        self.udp_port = free_port(kind=socket.SOCK_DGRAM)
        self.udp6_port = free_port(socket.AF_INET6, socket.SOCK_DGRAM, '::1')
        self.refused_port = free_port()  # nobody listens there
        self.got = []
        self.t4 = self._listen(socket.AF_INET, '127.0.0.1', self.tcp_port)
        self.t6 = self._listen(socket.AF_INET6, '::1', self.tcp6_port)
        self.u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.u.bind(('127.0.0.1', self.udp_port))
        self.u6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        self.u6.bind(('::1', self.udp6_port))
        for s in (self.t4, self.t6):
            threading.Thread(target=self._tcp, args=(s,), daemon=True).start()
        for u in (self.u, self.u6):
            threading.Thread(target=self._udp, args=(u,), daemon=True).start()

    @staticmethod
    def _listen(fam, host, port):
        s = socket.socket(fam)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(4)
        return s

    def _tcp(self, s):
        while True:
            c, _ = s.accept()
            c.settimeout(10)
            try:
                d = c.recv(100)
                self.got.append((s.family, d))
                c.sendall(b'reply:' + d)
            except OSError:
                pass
            c.close()

    @staticmethod
    def _udp(u):
        while True:
            d, a = u.recvfrom(2048)
            u.sendto(b'echo:' + d, a)


def build(peers, ipv4=None):
    args = ['make', '-s', '-j2', '-f', 'tests/qemu/netdrv/netdrv.mk',
            'HOST_TCP=%d' % peers.tcp_port, 'HOST_TCP6=%d' % peers.tcp6_port,
            'HOST_UDP=%d' % peers.udp_port, 'HOST_UDP6=%d' % peers.udp6_port, 'HOST_REFUSED=%d' % peers.refused_port]
    if ipv4:
        args.append('IPV4=' + ipv4)
    r = subprocess.run(args, cwd=ROOT)
    return os.path.join(ROOT, 'build/test-netdrv/netdrv.elf') if r.returncode == 0 else None


def echo(port, n, out, s=None, read_after=0.0):
    try:
        if s is None:
            s = socket.create_connection(('127.0.0.1', port), timeout=20)
        payload = os.urandom(n)

        def send():
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
        threading.Thread(target=send, daemon=True).start()
        time.sleep(read_after)
        got = bytearray()
        while True:
            d = s.recv(65536)
            if not d:
                break
            got += d
        s.close()
        out.append(bytes(got) == payload)
    except OSError as e:
        print('    echo error:', e)
        out.append(False)


def echo_sessions(b, port, count, n, rcvbuf=None, read_after=0.0):
    """count echoes of n bytes at once; a list of True/False. Connects one
    by one (slirp's host side listens with a backlog of 1 and resets what
    overflows it on a busy machine), then transfers on all at once."""
    conns = []
    for _ in range(count):
        seen = b.log.count(b'echo: accepted')
        c = socket.socket()
        if rcvbuf:
            c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        c.settimeout(20)
        c.connect(('127.0.0.1', port))
        conns.append(c)
        end = time.time() + 5
        while b.log.count(b'echo: accepted') == seen and time.time() < end:
            time.sleep(0.02)
    out = []
    th = [threading.Thread(target=echo, args=(port, n, out, c, read_after)) for c in conns]
    for t in th:
        t.start()
    for t in th:
        t.join(60)
    return out


def require_alive(b, port):
    """After a failed phase: end the run at once if the board no longer
    echoes (each later phase would wait out its own timeouts)."""
    if all(results):
        return
    out = []
    echo(port, 100, out)
    if out != [True]:
        raise RuntimeError('the board stopped echoing')


def run_dhcp(peers):
    print('netdrv: DHCP run', flush=True)
    elf = build(peers)
    check('image builds', elf)
    if not elf:
        return
    p25, p26, p27, p28 = free_port(), free_port(), free_port(), free_port()
    b = Board(elf, [(p25, 25), (p26, 26), (p27, 27), (p28, 28)])
    try:
        t0 = time.time()
        check('DHCP lease line', b.wait_for(b'net: DHCP lease 10.0.2.15/24 gw 10.0.2.2', 30))
        print('    lease %.2f s after QEMU start' % (time.time() - t0))
        check('port_random from virtio-rng', b'random 0 0 ' in b.log and b'differ=1' in b.log
              and b'random 4096 bytes: 0 in' in b.log)
        check('second listener on :25 refused', b'dup -98' in b.log)
        check('five more listeners', b.wait_for(b'listen :26 ', 5)
              and b'listen :26 -' not in b.log and b':27 -' not in b.log and b':28 -' not in b.log)
        out = []
        t0 = time.time()
        echo(p25, 1000000, out)
        el = time.time() - t0
        check('echo 1 MB through hostfwd', out == [True])
        print('    1 MB echoed in %.2f s (%.0f KiB/s each way)' % (el, 1000000 / 1024 / el))
        out = echo_sessions(b, p25, 8, 100000)
        print('    concurrent results:', out)
        check('8 concurrent echo sessions', out == [True] * 8)
        require_alive(b, p25)
        # The same, but the host reads nothing for 3 s: every session's
        # send queue fills, the board stops reading and holds what came
        # in. The ACKs that follow must still find a buffer (the RX pool
        # once deadlocked here when held data had taken all of it).
        out = echo_sessions(b, p25, 8, 200000, rcvbuf=4096, read_after=3.0)
        print('    stalled-reader results:', out)
        check('8 sessions whose reader stalls', out == [True] * 8)
        require_alive(b, p25)
        # Many short sessions, half of them reset by the client: a leaked
        # handle (24) or pcb (16) would run out long before the end.
        ok = 0
        for i in range(120):
            out = []
            if i % 2:
                c = socket.create_connection(('127.0.0.1', p25), timeout=10)
                c.sendall(b'z' * 100)
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                c.close()
                ok += 1
            else:
                echo(p25, 300, out)
                ok += out == [True]
        out = []
        echo(p25, 5000, out)
        check('120 short sessions, no leak', ok == 120 and out == [True])
        s = socket.create_connection(('127.0.0.1', p25), timeout=5)
        s.sendall(b'x' * 10)
        time.sleep(0.3)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        s.close()
        check('peer reset -> PORT_EV_CLOSED ECONNRESET', b.wait_for(b'closed err -104', 5))
        # Ten connections to a listener that does not accept: the backlog
        # keeps 8, the board resets the other 2 (seen here as closed) while
        # the 8 wait; a connection to :28 then lets the board accept them.
        conns = [socket.create_connection(('127.0.0.1', p26), timeout=15) for _ in range(10)]
        closed, early = [], []
        end = time.time() + 20
        while len(closed) < 2 and time.time() < end:
            ready, _, _ = select.select([c for c in conns if c not in closed], [], [], 0.2)
            for c in ready:
                try:
                    d = c.recv(100)
                except OSError:
                    d = b''
                if d:
                    early.append(d)
                else:
                    closed.append(c)
        socket.create_connection(('127.0.0.1', p28), timeout=5).close()
        got = []
        for c in conns:
            if c in closed:
                continue
            try:
                got.append(c.recv(100))
            except OSError:
                got.append(b'')
        for c in conns:
            c.close()
        print('    backlog test: %d reset, replies %s, early %s' % (len(closed), got, early))
        check('backlog holds 8, resets the rest',
              b.wait_for(b'slow: accepted 8, then -11', 5) and len(closed) == 2 and not early
              and sorted(got) == sorted(b'hi %d\n' % i for i in range(1, 9)))
        # 400 tiny segments to a socket nobody reads for 5 s; meanwhile
        # another session must still get through at once (a pinned RX pool
        # would stall it until the reader wakes up).
        lz = socket.create_connection(('127.0.0.1', p27), timeout=20)
        lz.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i in range(400):
            lz.send(b'%09d\n' % i)
            time.sleep(0.002)
        out = []
        t0 = time.time()
        mark = len(b.log)
        echo(p25, 100000, out)
        el = time.time() - t0
        print('    echo beside the idle reader took %.2f s' % el)
        # The echo must end before the reader wakes (5 s after its accept),
        # not because it woke: the order of the board's lines says which.
        after = b.log[mark:]
        done, woke = after.find(b'EOF after 100000 bytes'), after.find(b'lazy: reading now')
        check('echo while a reader sits on tiny segments',
              out == [True] and done >= 0 and (woke < 0 or done < woke))
        lz.shutdown(socket.SHUT_WR)
        try:
            reply = lz.recv(100)
        except OSError:
            reply = b''
        lz.close()
        check('tiny segments all delivered', reply == b'got 4000 bytes\n')
        check('outbound TCP over IPv4', b.wait_for(b"out v4: got 'reply:hello from board'", 10)
              and (socket.AF_INET, b'hello from board\n') in peers.got)
        check('UDP both ways, two sockets', b.wait_for(b"udp: got 'echo:ping-udp1'", 5)
              and b.wait_for(b"udp: got 'echo:ping-udp2'", 5))
        check('refused connect -> ECONNREFUSED', b.wait_for(b'out refused: connected err -111', 10))
        check('SLAAC fec0::/64 and link-local',
              b.wait_for(b'net: IPv6 fec0::5054:ff:fe12:3456', 15)
              and b'net: IPv6 fe80::5054:ff:fe12:3456' in b.log)
        check('outbound TCP over IPv6', b.wait_for(b"out v6: got 'reply:hello from board'", 10)
              and (socket.AF_INET6, b'hello from board\n') in peers.got)
        check('UDP over IPv6', b.wait_for(b"udp: got 'echo:ping-udp6'", 10))
        check('IPv4 socket refuses an IPv6 peer', b'udp6 on v4 socket -22' in b.log)
        check('exactly one lease line', b.log.count(b'DHCP lease') == 1)
        check('no lwIP assertion', b'assertion' not in b.log and b'REBOOT' not in b.log)
        # Every session is closed now: no pool pbuf may stay held.
        mark = len(b.log)
        end = time.time() + 15
        while time.time() < end and not re.search(rb'pool used 0\b', b.log[mark:]):
            time.sleep(0.2)
        check('no pool pbuf held once idle', re.search(rb'pool used 0\b', b.log[mark:]))
    finally:
        b.stop()
        if not all(results):
            print('    last board lines:')
            for line in b.log.decode(errors='replace').splitlines()[-25:]:
                print('      ' + line)


def run_static(peers):
    print('netdrv: static IPv4 run', flush=True)
    elf = build(peers, '10.0.2.15/24 gw 10.0.2.2')
    check('image builds (static)', elf)
    if not elf:
        return
    p25, p26 = free_port(), free_port()
    b = Board(elf, [(p25, 25), (p26, 26)])
    try:
        check('static address used', b.wait_for(b'net: static 10.0.2.15/24 gw 10.0.2.2', 20))
        out = []
        echo(p25, 10000, out)
        check('echo with static address', out == [True])
        check('no DHCP lease line', b'DHCP lease' not in b.log)
    finally:
        b.stop()


def main():
    peers = HostPeers()
    for run in (run_dhcp, run_static):
        try:
            run(peers)
        except Exception as e:  # a crash is a failure, not a lost summary
            print('    %s stopped: %r' % (run.__name__, e))
            check(run.__name__ + ' ran to the end', False)
    passed = sum(results)
    print('netdrv: %d passed, %d failed' % (passed, len(results) - passed))
    return 0 if all(results) else 1


if __name__ == '__main__':
    sys.exit(main())
