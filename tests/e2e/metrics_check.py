"""Scrape hostplane's /metrics, parse it with the Prometheus client's own text parser, and check
the naming rules (prometheus.io/docs/practices/naming). Prints one JSON object:

  {"families": [{"name", "type", "help", "samples": [{"name", "labels", "value"}]}],
   "problems": ["..."]}

Used by crates/hostplane/tests/observe_e2e.rs. Usage: metrics_check.py URL [BEARER_TOKEN]
"""

import json
import re
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

# Base units only: no milli-, kilo-, mega- variants, no percentages, no minutes or hours.
BAD_UNITS = ("_milliseconds", "_ms", "_microseconds", "_us", "_kb", "_kib", "_mb", "_mib",
             "_gb", "_gib", "_percent", "_minutes", "_hours", "_days")
# A label must never hold a host's identity, an address or a session.
BAD_LABELS = {"uuid", "host_uuid", "hostuuid", "ip", "address", "session", "path", "url"}
UUID = re.compile(r"^[0-9a-f]{32}$")
IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def problems_of(families):
    problems = []
    for f in families:
        name, typ = f.name, f.type
        if not (name.startswith("hostplane_") or name.startswith("process_")):
            problems.append(f"{name}: no hostplane_ (or process_) prefix")
        if not f.documentation:
            problems.append(f"{name}: no HELP")
        base = name
        for s in f.samples:
            if typ == "counter" and not s.name.endswith("_total") and not s.name.endswith("_created"):
                problems.append(f"{s.name}: a counter sample without _total")
            if typ != "counter" and s.name.endswith("_total"):
                problems.append(f"{s.name}: _total on a {typ}")
            for k, v in s.labels.items():
                if k.lower() in BAD_LABELS:
                    problems.append(f"{s.name}: label {k} holds an identity")
                if UUID.match(v) or IPV4.match(v):
                    problems.append(f"{s.name}: label {k}={v} looks like a uuid or an address")
                if k == "route" and not (v.startswith("/") or v == "unmatched"):
                    problems.append(f"{s.name}: route={v} is not a template")
        for bad in BAD_UNITS:
            if base.endswith(bad) or (bad + "_") in base:
                problems.append(f"{name}: non-base unit {bad}")
        if ("duration" in base or "_time" in base or "latency" in base) and not base.endswith("_seconds"):
            problems.append(f"{name}: a time not in _seconds")
        if ("memory" in base or "size" in base) and not base.endswith("_bytes"):
            problems.append(f"{name}: a size not in _bytes")
        if typ == "unknown":
            problems.append(f"{name}: untyped")
    return problems


def main():
    url = sys.argv[1]
    req = urllib.request.Request(url)
    if len(sys.argv) > 2:
        req.add_header("Authorization", "Bearer " + sys.argv[2])
    with urllib.request.urlopen(req, timeout=30) as r:
        ctype = r.headers.get("Content-Type", "")
        text = r.read().decode("utf-8")
    families = list(text_string_to_metric_families(text))
    problems = problems_of(families)
    if not ctype.startswith("text/plain"):
        problems.append(f"content type {ctype}")
    out = {
        "families": [
            {
                "name": f.name,
                "type": f.type,
                "help": f.documentation,
                "samples": [{"name": s.name, "labels": s.labels, "value": s.value} for s in f.samples],
            }
            for f in families
        ],
        "problems": problems,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
