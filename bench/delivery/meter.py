#!/usr/bin/env python3
"""meter.py — the delivery benchmark's clock and RAM meter (python3 stdlib).

Exports a command line:
  meter.py wait-sink DIR N TIMEOUT T0     waits until DIR/new holds N .eml
      files (mxsink.py writes them by rename: complete when seen); prints
      "<count> <seconds>": seconds from T0 (epoch, float) to the newest
      .eml's mtime (the last message received at the sink)
  meter.py rss PIDFILE STOPFILE OUT       samples, every 20 ms until
      STOPFILE exists, the process in PIDFILE and all its descendants; writes
      to OUT "peak_rss_kib sum_hwm_kib nprocs peak_pss_kib": the highest sum
      of VmRSS seen at one instant, the sum of each process's own VmHWM
      (upper bound), how many processes were seen, and the highest sum of
      Pss (shared pages divided among their users) at one instant
"""
import os
import sys
import time


def wait_sink(d, n, timeout, t0):
    new = os.path.join(d, "new")
    end = time.time() + timeout
    while True:
        try:
            names = [x for x in os.listdir(new) if x.endswith(".eml")]
        except FileNotFoundError:
            names = []
        if len(names) >= n or time.time() > end:
            break
        time.sleep(0.02)
    last = 0.0
    for x in names:
        try:
            last = max(last, os.stat(os.path.join(new, x)).st_mtime)
        except FileNotFoundError:
            pass
    print(len(names), "%.3f" % (last - t0 if names else -1))


def status(pid):
    out = {}
    try:
        with open("/proc/%d/status" % pid) as fh:
            for line in fh:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM", "PPid"):
                    out[k] = int(v.split()[0])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        return None
    return out


def pss(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError, ValueError):
        pass
    return 0


def tree(root):
    kids = {}
    for e in os.listdir("/proc"):
        if not e.isdigit():
            continue
        st = status(int(e))
        if st and "PPid" in st:
            kids.setdefault(st["PPid"], []).append((int(e), st))
    rootst = status(root)
    if not rootst:
        return []
    out, todo = [(root, rootst)], [root]
    while todo:
        p = todo.pop()
        for c in kids.get(p, []):
            out.append(c)
            todo.append(c[0])
    return out


def rss(pidfile, stopfile, outfile):
    peak, peak_pss, hwm = 0, 0, {}
    while not os.path.exists(stopfile):
        try:
            with open(pidfile) as fh:
                root = int(fh.read().split()[0])
        except (FileNotFoundError, ValueError, IndexError):
            time.sleep(0.02)
            continue
        procs = tree(root)
        peak = max(peak, sum(st.get("VmRSS", 0) for _, st in procs))
        peak_pss = max(peak_pss, sum(pss(p) for p, _ in procs))
        for p, st in procs:
            hwm[p] = max(hwm.get(p, 0), st.get("VmHWM", 0))
        time.sleep(0.02)
    with open(outfile, "w") as fh:
        fh.write("%d %d %d %d\n" % (peak, sum(hwm.values()), len(hwm), peak_pss))


if __name__ == "__main__":
    a = sys.argv[1:]
    if a and a[0] == "wait-sink" and len(a) == 5:
        wait_sink(a[1], int(a[2]), float(a[3]), float(a[4]))
    elif a and a[0] == "rss" and len(a) == 4:
        rss(a[1], a[2], a[3])
    else:
        sys.exit(__doc__)
