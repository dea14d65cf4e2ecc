#!/usr/bin/env python3
"""Renders bench-results/ (results.json from harness.py, sizes.txt from scripts/bench) as the
markdown tables of docs/benchmarks.md: medians, ratios to the hello-world, each goal met or missed."""

import json
import math
import os
import platform
import subprocess
import sys
import zipfile

MIB = 1024 * 1024


def machine():
    model = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return (
        f"{os.cpu_count()} CPUs ({model}), {mem_kib / MIB:.1f} GiB RAM, "
        f"Linux {platform.release()} {platform.machine()}, "
        + subprocess.run(["rustc", "-V"], capture_output=True, text=True).stdout.strip()
    )


def sizes(path):
    out = {}
    if not os.path.exists(path):
        return out
    with open(path) as f:
        for line in f:
            kind, who, file = line.split(maxsplit=2)
            file = file.strip()
            if not os.path.exists(file):
                continue
            out[(kind, who)] = os.path.getsize(file)
            if kind == "arm64_zip":
                with zipfile.ZipFile(file) as z:
                    out[("arm64_unzipped", who)] = sum(i.file_size for i in z.infolist())
    return out


def fmt(x, unit="", digits=1):
    return "—" if x is None else f"{x:.{digits}f}{unit}"


def ratio(a, b):
    return None if a is None or not b else a / b


def verdict(ok):
    return "—" if ok is None else ("met" if ok else "**missed**")


def opens_cell(s):
    o = (s or {}).get("opens")
    if not o:
        return "—"
    certs = o["by_kind"].get("certificates", 0)
    return f"{o['calls']} ({certs} certificates)"


def build_rows(summary, sz):
    """One row per build: this tree (label ""), then every --compare build, against hello."""
    hello = summary["hello"]
    labels = [""] + sorted({k.split("@", 1)[1] for k in summary if "@" in k})
    print("\nBuilds in this run (medians; ratios to the hello-world of the same run; file opens from one "
          "more init under strace, until the first /next):\n")
    print("| build | cold init, alert-1 | init CPU, alert-1 | cold init, scale-1 | init CPU, scale-1 | "
          "file opens at init, alert-1 | first invocation outside AWS calls, scale-1 / alert-1 | "
          "x86_64 binary | arm64 bootstrap.zip |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    hb, hz = sz.get(("host_binary", "hello")), sz.get(("arm64_zip", "hello"))
    print(f"| hello-world | {fmt(hello['init_ms'], ' ms', 2)} | {fmt(hello['init_cpu_ms'], ' ms', 2)} | | | "
          f"{opens_cell(hello)} | | {fmt(hb and hb / MIB, ' MiB', 2)} | {fmt(hz and hz / MIB, ' MiB', 2)} |")
    fixed = summary.get("hello-fixed")
    if fixed:
        print(f"| hello-world, -no-pie | {fmt(fixed['init_ms'], ' ms', 2)} | {fmt(fixed['init_cpu_ms'], ' ms', 2)} "
              f"| | | {opens_cell(fixed)} | | | |")
    for label in labels:
        suffix = f"@{label}" if label else ""
        a, s1 = summary.get("alert-1" + suffix), summary.get("scale-1" + suffix)
        if not a or not s1:
            continue
        who = label or "canary"
        b, z = sz.get(("host_binary", who)), sz.get(("arm64_zip", who))

        def both(x, h):
            return f"{fmt(x, ' ms', 2)} ({fmt(ratio(x, h), '×', 2)})"

        print(f"| {label or 'this tree'} | {both(a['init_ms'], hello['init_ms'])} | "
              f"{both(a['init_cpu_ms'], hello['init_cpu_ms'])} | {both(s1['init_ms'], hello['init_ms'])} | "
              f"{both(s1['init_cpu_ms'], hello['init_cpu_ms'])} | {opens_cell(a)} | "
              f"{fmt(s1['inv1']['outside_aws_ms'], ' ms', 1)} / {fmt(a['inv1']['outside_aws_ms'], ' ms', 1)} | "
              f"{fmt(b and b / MIB, ' MiB', 2)} | {fmt(z and z / MIB, ' MiB', 2)} |")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench-results"
    with open(os.path.join(out, "results.json")) as f:
        summary = json.load(f)["summary"]
    sz = sizes(os.path.join(out, "sizes.txt"))
    hello = summary["hello"]
    one = summary.get("alert-1")
    runs = hello["runs"]
    print(f"Machine: {machine()}\n")
    print(f"Medians of {runs} interleaved runs per kind.\n")
    print("| Measure | hello-world | canary, 1 failing target, metrics + alert | ratio | goal | |")
    print("|---|---:|---:|---:|---|---|")
    rows = []
    if one:
        r = ratio(one["init_ms"], hello["init_ms"])
        rows.append(("cold init (spawn → first /next)", fmt(hello["init_ms"], " ms", 2),
                     fmt(one["init_ms"], " ms", 2), fmt(r, "×", 2), "≤ 1.5×",
                     verdict(None if r is None else r <= 1.5)))
        fixed = summary.get("hello-fixed")
        if fixed:
            # The canary is linked -no-pie (build.rs); the floor linked the same way, for fairness.
            f = ratio(one["init_ms"], fixed["init_ms"])
            rows.append(("cold init against the hello-world linked -no-pie too", fmt(fixed["init_ms"], " ms", 2),
                         fmt(one["init_ms"], " ms", 2), fmt(f, "×", 2), "", ""))
        c = ratio(one["init_cpu_ms"], hello["init_cpu_ms"])
        rows.append(("CPU during init (schedstat)", fmt(hello["init_cpu_ms"], " ms", 2),
                     fmt(one["init_cpu_ms"], " ms", 2), fmt(c, "×", 2), "≤ 2×",
                     verdict(None if c is None else c <= 2)))
        for inv, label in (("inv1", "first invocation wall"), ("inv2", "warm invocation wall")):
            rows.append((label + " (event → response)", fmt(hello[inv]["wall_ms"], " ms", 2),
                         fmt(one[inv]["wall_ms"], " ms", 2),
                         fmt(ratio(one[inv]["wall_ms"], hello[inv]["wall_ms"]), "×", 1), "", ""))
            rows.append((label.replace("wall", "wall outside AWS calls"), "", fmt(one[inv]["outside_aws_ms"], " ms", 1), "", "", ""))
            calls = ", ".join(f"{op} {fmt(ms, ' ms', 0)}" for op, ms in one[inv]["aws_call_ms"].items())
            rows.append((label.replace("wall", "AWS calls (median each)"), "", calls or "—", "", "", ""))
            rows.append((label.replace("wall", "connections opened (server / AWS)"), "",
                         f"{fmt(one[inv]['server_connections'], '', 0)} / {fmt(one[inv]['aws_new_connections'], '', 0)}", "", "", ""))
            rows.append((label.replace("wall", "CPU") + " (schedstat / ticks)",
                         f"{fmt(hello[inv]['cpu_sched_ms'], ' ms', 2)} / {fmt(hello[inv]['cpu_tick_ms'], ' ms', 0)}",
                         f"{fmt(one[inv]['cpu_sched_ms'], ' ms', 2)} / {fmt(one[inv]['cpu_tick_ms'], ' ms', 0)}",
                         fmt(ratio(one[inv]["cpu_sched_ms"], hello[inv]["cpu_sched_ms"]), "×", 1), "", ""))
        rows.append(("peak RSS (VmHWM)", fmt(hello["vm_hwm_mib"], " MiB"), fmt(one["vm_hwm_mib"], " MiB"),
                     fmt(ratio(one["vm_hwm_mib"], hello["vm_hwm_mib"]), "×", 2), "≤ 30 MiB",
                     verdict(one["vm_hwm_mib"] <= 30)))
    hz, cz = sz.get(("arm64_zip", "hello")), sz.get(("arm64_zip", "canary"))
    if hz and cz:
        rows.append(("arm64 bootstrap.zip", fmt(hz / MIB, " MiB", 2), fmt(cz / MIB, " MiB", 2),
                     fmt(cz / hz, "×", 1), "≤ 4 MiB", verdict(cz <= 4 * MIB)))
        rows.append(("arm64 bootstrap (unzipped)", fmt(sz[("arm64_unzipped", "hello")] / MIB, " MiB", 2),
                     fmt(sz[("arm64_unzipped", "canary")] / MIB, " MiB", 2),
                     fmt(sz[("arm64_unzipped", "canary")] / sz[("arm64_unzipped", "hello")], "×", 1), "", ""))
    hb, cb = sz.get(("host_binary", "hello")), sz.get(("host_binary", "canary"))
    if hb and cb:
        rows.append(("x86_64 host binary (measured above)", fmt(hb / MIB, " MiB", 2), fmt(cb / MIB, " MiB", 2),
                     fmt(cb / hb, "×", 1), "", ""))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    build_rows(summary, sz)

    print("\nScale: the first invocation after a cold start and the next (warm); every target on the "
          "local sample server (five components each, all PASS); alerts off (the alert path is the table "
          "above). PutMetricData goes to the counting proxy, which decodes each request, counts its "
          "datums and answers with CloudWatch's empty success itself: LocalStack's CloudWatch takes "
          "seconds per 1,000-datum call on this machine, which would measure LocalStack, not the canary.\n")
    print("| targets | cold init | first invocation | of which outside AWS calls | warm invocation | connections opened (server + AWS), first / warm | PutMetricData calls | datums | "
          "⌈datums/1000⌉ | largest request (raw / gzip) | peak RSS | sample server CPU | other AWS calls |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for kind, s in summary.items():
        if not kind.startswith("scale-") or "@" in kind:
            continue
        n = kind.split("-", 1)[1]
        i1, i2 = s["inv1"], s["inv2"]
        need = math.ceil(i1["datums"] / 1000) if i1["datums"] else None
        other = ", ".join(f"{k}×{v}" for k, v in sorted(i1["ops_first_run"].items()) if not k.startswith("PutMetricData"))
        largest = "—"
        if i1["max_put_raw_bytes"]:
            largest = f"{i1['max_put_raw_bytes'] / 1024:.0f} KiB / {i1['max_put_wire_bytes'] / 1024:.0f} KiB"
        print(f"| {n} | {fmt(s['init_ms'], ' ms', 2)} | {fmt(i1['wall_ms'], ' ms', 0)} | {fmt(i1['outside_aws_ms'], ' ms', 0)} | {fmt(i2['wall_ms'], ' ms', 0)} | "
              f"{fmt(i1['server_connections'], '', 0)} + {fmt(i1['aws_new_connections'], '', 0)} / "
              f"{fmt(i2['server_connections'], '', 0)} + {fmt(i2['aws_new_connections'], '', 0)} | "
              f"{fmt(i1['put_metric_data_calls'], '', 0)} | {fmt(i1['datums'], '', 0)} | {fmt(need, '', 0)} | {largest} | "
              f"{fmt(s['vm_hwm_mib'], ' MiB')} | {fmt(i1['server_cpu_ms'], ' ms', 0)} for {fmt(i1['server_served'], '', 0)} requests | {other} |")
    for kind, s in summary.items():
        if kind.startswith("scale-") and "@" not in kind:
            body = s["inv1"]["body_first_run"] or ""
            try:
                print(f"- {kind.split('-', 1)[1]} targets, the canary's own summary: `{json.loads(body)['metrics']}`")
            except (ValueError, KeyError):
                print(f"- {kind.split('-', 1)[1]} targets, the canary answered: `{body[:200]}`")
    rng = summary.get("rng")
    if rng:
        j, n = rng["jitter"], rng["nojitter"]
        print(f"\naws-lc-rs first random bytes in a fresh process (bench/rng-init, medians of {j['runs']}): "
              f"with CPU jitter entropy {fmt(j['first'] / 1000, ' ms', 2)}, with AWS_LC_SYS_NO_JITTER_ENTROPY=1 "
              f"{fmt(n['first'] / 1000, ' ms', 2)} (second draw: {fmt(j['second'], ' µs', 1)} / {fmt(n['second'], ' µs', 1)}).")
    big = summary.get("scale-1000")
    if big:
        print(f"\n1,000 targets: first invocation {fmt(big['inv1']['wall_ms'] / 1000, ' s', 2)} (goal ≤ 3 s: "
              f"{verdict(big['inv1']['wall_ms'] <= 3000)}), peak RSS {fmt(big['vm_hwm_mib'], ' MiB')} "
              f"(goal ≤ 64 MiB: {verdict(big['vm_hwm_mib'] <= 64)}); probing and judging took "
              f"{fmt(big['inv1']['until_first_aws_call_ms'], ' ms', 0)} before the first AWS call, AWS calls spanned "
              f"{fmt(big['inv1']['aws_ms'], ' ms', 0)}.")


if __name__ == "__main__":
    main()
