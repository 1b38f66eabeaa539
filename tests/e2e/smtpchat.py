#!/usr/bin/env python3
"""smtpchat — a scripted plain-text SMTP dialogue for checks no client tool
makes on purpose (AUTH offered in clear, holding sessions open): reads the
banner, sends each argument as one command line, prints every reply line
as "<- text". --hold N keeps N extra idle connections open meanwhile.
Loopback servers only. Exit 0 unless the connection failed."""
import socket
import sys


def reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            lines.append('<- (connection closed)')
            return lines
        text = line.decode(errors='replace').rstrip('\r\n')
        lines.append('<- ' + text)
        if len(text) < 4 or text[3] != '-':
            return lines


def main():
    args = sys.argv[1:]
    hold = 0
    if len(args) >= 2 and args[0] == '--hold':
        hold = int(args[1])
        args = args[2:]
    host, port = args[0].rsplit(':', 1)
    if not host.startswith('127.'):
        sys.exit('smtpchat: loopback servers only')
    held = []
    for _ in range(hold):
        h = socket.create_connection((host, int(port)), timeout=10)
        h.recv(512)  # its banner: the session is counted once greeted
        held.append(h)
    s = socket.create_connection((host, int(port)), timeout=10)
    f = s.makefile('rb')
    print('\n'.join(reply(f)), flush=True)
    for c in args[1:]:
        print('-> ' + c)
        s.sendall(c.encode() + b'\r\n')
        print('\n'.join(reply(f)), flush=True)
    s.close()
    for h in held:
        h.close()


if __name__ == '__main__':
    main()
