#!/usr/bin/env python3
"""Checks tests/fixtures/telemetry/golden.prom (the telemetry exposition test_telemetry.c
compares against) with Prometheus's own tool, independently of the C code:

  1. `promtool check metrics` (the 0.0.4 parser and its lint of names, types, histograms);
  2. `promtool test rules`: histogram_quantile(q, ...) over the tiny@1 series' buckets at
     q 0.5, 0.95, 0.99 must give the values test_prometheus_golden asserts the library
     computes (0.045, 1.5474999999999999, 1.5895000000000001).

Not part of `make test` (promtool is not a build dependency). Usage:
  scripts/check_telemetry_promtool.py [PROMTOOL]   (default: promtool on PATH)
promtool comes with Debian's `prometheus` package (`apt-get download prometheus && dpkg -x
prometheus_*.deb DIR` gives DIR/usr/bin/promtool without installing the service).
Exits 0 when both checks pass, 1 otherwise."""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "fixtures", "telemetry", "golden.prom")
WANT = [(0.5, "0.045"), (0.95, "1.5474999999999999"), (0.99, "1.5895000000000001")]


def main():
    promtool = sys.argv[1] if len(sys.argv) > 1 else "promtool"
    with open(GOLDEN, "rb") as f:
        text = f.read()
    lint = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True)
    print("promtool check metrics: rc %d %s" % (lint.returncode,
                                                (lint.stdout + lint.stderr).decode().strip()))
    prefix = 'ecology_request_latency_seconds_bucket{engine="tiny@1"'
    lines = ["rule_files: []", "evaluation_interval: 1m", "tests:", "  - interval: 1m",
             "    input_series:"]
    for line in text.decode().splitlines():
        if line.startswith(prefix):
            name, value = line.rsplit(" ", 1)
            lines += ["      - series: '%s'" % name, "        values: '%s'" % value]
    lines.append("    promql_expr_test:")
    for q, v in WANT:
        lines += ["      - expr: histogram_quantile(%g, ecology_request_latency_seconds_bucket)" % q,
                  "        eval_time: 0m", "        exp_samples:",
                  "          - labels: '{engine=\"tiny@1\",capability=\"reverse\"}'",
                  "            value: %s" % v]
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        rules = subprocess.run([promtool, "test", "rules", path], capture_output=True)
    finally:
        os.unlink(path)
    print("promtool test rules (histogram_quantile): rc %d %s" % (
        rules.returncode, (rules.stdout + rules.stderr).decode().strip()))
    return 0 if lint.returncode == 0 and rules.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
