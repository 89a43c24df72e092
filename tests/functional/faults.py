# Copyright 2026 cinder-zol developers
#
#    Licensed under the Apache License, Version 2.0 (the "License"); you may
#    not use this file except in compliance with the License. You may obtain
#    a copy of the License at
#
#         http://www.apache.org/licenses/LICENSE-2.0
#
#    Unless required by applicable law or agreed to in writing, software
#    distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
#    WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
#    License for the specific language governing permissions and limitations
#    under the License.

"""Fault injectors for tests/functional/test_faults.py, and its table.

* Link: a TCP relay on 127.0.0.1 between cinder-volume and the test bed's
  forwarded SSH port. It passes bytes as they come, or late (a one-way
  delay per direction, and a stall now and then in place of a lost
  segment), because this machine's kernel has no netem qdisc
  (``tc qdisc add dev lo root netem`` says "Specified qdisc kind is
  unknown").
* cut()/restore(): nftables rules that DROP every packet to and from a
  port in this (private) network namespace: no FIN, no RST, the peers
  just stop hearing each other.
* hmp(): one command on the test bed's qemu monitor (``system_reset``).
* Table: the rows (fault, operation in flight, outcome, data check,
  leftovers), written as an RST table to ZOL_FAULTS_TABLE.
"""

import collections
import os
import random
import socket
import subprocess
import threading
import time

from tests.functional import testbed

# A lost segment costs TCP a retransmission timeout: Linux's minimum is
# 200 ms on top of the smoothed RTT; the stall stands for one such loss.
LOSS_STALL = 1.0
NFT_TABLE = "zol_faults"


class Link(object):
    """A TCP relay 127.0.0.1:port -> 127.0.0.1:upstream, one job: delay.

    delay (s, each direction) and loss (probability per chunk of a stall
    of LOSS_STALL) change at any time; order is kept, as TCP keeps it.
    .connections counts the relayed connections open now.
    """

    def __init__(self, upstream):
        self.upstream = upstream
        self.delay = 0.0
        self.loss = 0.0
        self.connections = 0
        self.total = 0
        self._lock = threading.Lock()
        self._rand = random.Random(17)
        self._srv = socket.socket()
        self._srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._srv.bind(("127.0.0.1", 0))
        self._srv.listen(64)
        self.port = self._srv.getsockname()[1]
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def slow(self, delay, loss):
        self.delay, self.loss = delay, loss

    def close(self):
        self._stop = True
        self._srv.close()

    def _accept(self):
        while not self._stop:
            try:
                down, _ = self._srv.accept()
            except OSError:
                return
            try:
                up = socket.create_connection(("127.0.0.1", self.upstream),
                                              timeout=10)
                up.settimeout(None)
            except OSError:
                down.close()        # the host refused: so does the link
                continue
            with self._lock:
                self.connections += 1
                self.total += 1
            ends = [2]
            for a, b in ((down, up), (up, down)):
                q = collections.deque()
                ready = threading.Condition()
                threading.Thread(target=self._read, daemon=True,
                                 args=(a, q, ready)).start()
                threading.Thread(target=self._send, daemon=True,
                                 args=(b, a, q, ready, ends)).start()

    def _read(self, src, q, ready):
        while True:
            try:
                data = src.recv(65536)
            except OSError:
                data = b""
            due = time.monotonic() + self.delay
            if data and self.loss and self._rand.random() < self.loss:
                due += LOSS_STALL
            with ready:
                q.append((due, data))
                ready.notify()
            if not data:
                return

    def _send(self, dst, src, q, ready, ends):
        last_due = 0.0
        while True:
            with ready:
                while not q:
                    ready.wait()
                due, data = q.popleft()
            due = max(due, last_due)      # a stall holds up what follows
            last_due = due
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            if not data:
                break
            try:
                dst.sendall(data)
            except OSError:
                break
        for s in (dst, src):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        with self._lock:
            ends[0] -= 1
            if ends[0] == 0:
                self.connections -= 1
                dst.close()
                src.close()


def _nft(script):
    p = subprocess.run(["nft", "-f", "-"], input=script, text=True,
                       capture_output=True)
    if p.returncode:
        raise AssertionError("nft failed: %s" % p.stderr)


def cut(port):
    """DROP everything to and from 127.0.0.1:port (no FIN, no RST)."""
    _nft("table inet %s {\n"
         " chain in { type filter hook input priority 0;\n"
         "  tcp dport %d drop\n  tcp sport %d drop\n }\n"
         " chain out { type filter hook output priority 0;\n"
         "  tcp dport %d drop\n  tcp sport %d drop\n }\n}\n"
         % ((NFT_TABLE,) + (port,) * 4))


def restore():
    """Remove the rules cut() added (if any)."""
    subprocess.run(["nft", "delete", "table", "inet", NFT_TABLE],
                   capture_output=True)


def nft_problem():
    """None if nft can filter in this namespace, else why not."""
    # The DROP rules must never reach a shared namespace's loopback.
    why = testbed.private_netns_problem()
    if why:
        return "nftables rules only in a private namespace: %s" % why
    try:
        _nft("table inet %s_probe { }\n" % NFT_TABLE)
    except (OSError, AssertionError) as e:
        return "nftables unusable here: %s" % e
    subprocess.run(["nft", "delete", "table", "inet", NFT_TABLE + "_probe"],
                   capture_output=True)
    return None


def hmp(statedir, command, timeout=60):
    """One HMP command on the test bed's qemu monitor socket."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(timeout)
    s.connect(os.path.join(statedir, "monitor.sock"))
    try:
        out = b""
        while b"(qemu)" not in out:
            out += s.recv(4096)
        s.sendall(command.encode() + b"\n")
        out = b""
        while out.count(b"(qemu)") < 1:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        return out.decode(errors="replace")
    finally:
        s.close()


def process_tree(pid):
    """pid and all its descendants (from /proc)."""
    parents = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open("/proc/%s/stat" % name) as f:
                    parents[int(name)] = int(
                        f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(c for c, pp in parents.items() if pp == p)
    return tree


def fds_and_rss(pids):
    """(open fds, resident KiB) summed over pids."""
    fds = rss = 0
    for pid in pids:
        try:
            fds += len(os.listdir("/proc/%d/fd" % pid))
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
        except OSError:
            pass
    return fds, rss


class Table(object):
    """fault | operation in flight | outcome | data check | leftovers."""

    HEAD = ("fault", "operation in flight", "outcome", "data check",
            "leftovers")

    def __init__(self):
        self.rows = []

    def add(self, *row):
        self.rows.append(tuple(str(c).replace("\n", " ") for c in row))

    def render(self):
        rows = [self.HEAD] + self.rows
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        rule = "  ".join("=" * w for w in widths)
        lines = [rule, "  ".join(h.ljust(w) for h, w in
                                 zip(self.HEAD, widths)).rstrip(), rule]
        lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()
                  for r in self.rows]
        return "\n".join(lines + [rule])
