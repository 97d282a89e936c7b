#!/usr/bin/env python3
"""Writes the sample sequences under tests/data/ that tests/adapt replays.

They are synthetic recordings, one row per vCPU per tick, shaped after what
the telemetry module reports on this machine (no PMU: llc/tlb = -1; a vCPU
sharing its CPU with a host hog gets ~half the CPU and ~half run delay).
Rows whose variant is not '*' exist once per configuration the loop may
choose (e.g. cpu0 / cpu1 = the CPU vCPU 0 is pinned to): the replay picks
the rows of the configuration in force, as if the same run had been
recorded under each. Deterministic (fixed seed). Run it from tests/data/.
"""
import random

HDR = "# t_s,variant,vcpu,pcpu,cpu_pct,run_delay_pct,llc_per_kinstr,tlb_per_kinstr,paging_exits_per_s,power_w\n"


def row(t, var, v, pcpu, cpu, delay, llc=-1, tlb=-1, pex=100, power=-1):
    return f"{t},{var},{v},{pcpu},{cpu:.1f},{delay:.1f},{llc},{tlb},{pex},{power}\n"


def hog():
    # a host hog lands on cpu0 at t=20 s; cpu1 stays quiet
    rnd = random.Random(1)
    with open("hog.csv", "w") as f:
        f.write("# vCPU 0; a host CPU hog arrives on cpu0 at t=20 s\n" + HDR)
        for t in range(1, 61):
            n = rnd.uniform(-1, 1)
            if t < 20:
                f.write(row(t, "cpu0", 0, 0, 97 + n, 1 + abs(n)))
            else:
                f.write(row(t, "cpu0", 0, 0, 50 + 2 * n, 49 + 2 * n))
            f.write(row(t, "cpu1", 0, 1, 97 + n, 1 + abs(n)))


def worse():
    # vCPU 0 waits 30% on cpu0; moving it to cpu1 (which looks idle) makes
    # it worse: cpu1 is shared with an interrupt-heavy task
    rnd = random.Random(2)
    with open("worse.csv", "w") as f:
        f.write("# vCPU 0 waits 30% on cpu0; on cpu1 it gets only 40% of a CPU\n" + HDR)
        for t in range(1, 121):
            n = rnd.uniform(-1, 1)
            f.write(row(t, "cpu0", 0, 0, 70 + n, 30 + n))
            f.write(row(t, "cpu1", 0, 1, 40 + n, 58 + n))


def noisy():
    # run delay jumps around the 25% threshold from tick to tick
    rnd = random.Random(3)
    with open("noisy.csv", "w") as f:
        f.write("# vCPU 0 and 1; run delay noisy around the noisy threshold (25%)\n" + HDR)
        for t in range(1, 181):
            for v in (0, 1):
                d = max(0.0, rnd.gauss(22, 9))
                f.write(row(t, "*", v, v, 100 - d, d))


def memory():
    # two memory-bound vCPUs (LLC misses 30/kinstr), packed on package 0
    # (cpu0, cpu1) or spread (cpu0, cpu2); spreading is 15% faster and
    # draws 30% more power (the second package wakes up)
    rnd = random.Random(4)
    with open("memory.csv", "w") as f:
        f.write("# 2 memory-bound vCPUs, topology package:2 core:2 pu:1; packed vs spread\n" + HDR)
        for t in range(1, 61):
            n = rnd.uniform(-0.5, 0.5)
            f.write(row(t, "packed", 0, 0, 85 + n, 1, 30, 2, 100, 100 + n))
            f.write(row(t, "packed", 1, 1, 85 + n, 1, 30, 2, 100, 100 + n))
            f.write(row(t, "spread", 0, 0, 98 + n, 1, 30, 2, 100, 130 + n))
            f.write(row(t, "spread", 1, 2, 98 + n, 1, 30, 2, 100, 130 + n))


def power():
    # node power above a 150 W cap until the cap is set
    rnd = random.Random(5)
    with open("power.csv", "w") as f:
        f.write("# 1 vCPU; node draws 180 W uncapped, 148 W once capped at 150 W\n" + HDR)
        for t in range(1, 41):
            n = rnd.uniform(-1, 1)
            f.write(row(t, "uncapped", 0, 0, 98 + n, 1, -1, -1, 100, 180 + n))
            f.write(row(t, "capped", 0, 0, 90 + n, 1, -1, -1, 100, 148 + n))


def contended():
    # every CPU is as busy: vCPU 0 waits ~50% wherever it runs (no better core)
    rnd = random.Random(6)
    with open("contended.csv", "w") as f:
        f.write("# vCPU 0 waits ~50% on cpu0 and on cpu1 alike (both CPUs hogged)\n" + HDR)
        for t in range(1, 41):
            n = rnd.uniform(-1, 1)
            f.write(row(t, "cpu0", 0, 0, 50 + n, 50 + n))
            f.write(row(t, "cpu1", 0, 1, 50 + n, 50 + n))


def hog2():
    # a hog on cpu0 from t=20 s; at t=30 s it moves to cpu1 (cpu0 is quiet again)
    rnd = random.Random(7)
    with open("hog2.csv", "w") as f:
        f.write("# vCPU 0; a hog on cpu0 from t=20 s, on cpu1 instead from t=30 s\n" + HDR)
        for t in range(1, 61):
            n = rnd.uniform(-1, 1)
            busy, quiet = (50 + 2 * n, 49 + 2 * n), (97 + n, 1 + abs(n))
            c0 = busy if 20 <= t < 30 else quiet
            c1 = busy if t >= 30 else quiet
            f.write(row(t, "cpu0", 0, 0, *c0))
            f.write(row(t, "cpu1", 0, 1, *c1))


if __name__ == "__main__":
    contended()
    hog2()
    hog()
    worse()
    noisy()
    memory()
    power()
