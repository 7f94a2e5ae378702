# SPDX-License-Identifier: MIT
"""Prometheus text as memviewfs writes it and as prometheus-node-exporter's
textfile collector serves it."""
import re
import socket
import subprocess
import time


def samples(text, family):
    """{labels text: value} of one family ("" for no labels)."""
    out = {}
    for m in re.finditer(rf"^{family}(?:\{{([^}}]*)\}})? (\S+)$", text, re.M):
        out[m.group(1) or ""] = float(m.group(2))
    return out


def promtool_check(text):
    """`promtool check metrics` of @text (bytes or str): (exit code, what it
    said)."""
    if isinstance(text, str):
        text = text.encode("utf-8", "surrogateescape")
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True)
    return r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")


def families(text):
    return sorted({m.group(1) for m in re.finditer(r"^# TYPE (\S+) ", text, re.M)})


def metric(text, name, pid):
    """The value of memviewfs_process_@name for @pid (-o metrics_pids), or None."""
    m = re.search(rf'^memviewfs_process_{name}\{{pid="{pid}",comm="[^"]*"\}} (\d+)$', text, re.M)
    return int(m.group(1)) if m else None


class NodeExporter:
    """prometheus-node-exporter on a free port of 127.0.0.1 with only the
    textfile collector, reading @directory."""

    def __init__(self, directory):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen(
            ["prometheus-node-exporter", f"--web.listen-address=127.0.0.1:{self.port}",
             "--collector.disable-defaults", "--collector.textfile",
             f"--collector.textfile.directory={directory}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def scrape(self, until):
        """Its /metrics once it holds @until ("" if it never does in 20 s)."""
        for _ in range(200):
            r = subprocess.run(["curl", "-sf", f"http://127.0.0.1:{self.port}/metrics"],
                               capture_output=True, text=True)
            if r.returncode == 0 and until in r.stdout:
                return r.stdout
            time.sleep(0.1)
        return ""

    def close(self):
        self.proc.terminate()
        self.proc.wait()
