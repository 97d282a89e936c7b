#!/usr/bin/env python3
"""Writes the generated seed files of the fuzz corpora (tests/fuzz/corpus/):
tiny guest images for `loader`, exit sequences for `exit`, sysfs/procfs
texts for `parse` and small KVM stats files for `kvmstats`. Other seeds are
plain files kept in git: the hwloc XML topologies of `topo` (exported by
hwloc 2.9 from synthetic descriptions, or written by hand), KVM stats files
read from a real VM and vCPU, a stripped test guest, and the inputs of
crashes found (named regress-*). Usage: tests/fuzz/gen-seeds.py [CORPUS_DIR]
"""
import os
import struct
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    assert len(data) < 64 * 1024, name
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def pad(b, n):
    return b + bytes(n - len(b))


# ---------------------------------------------------------------- loader
MB_MAGIC = 0x1BADB002


def mb_header(flags, extra=b""):
    return struct.pack("<III", MB_MAGIC, flags, (-(MB_MAGIC + flags)) & 0xffffffff) + extra


def elf32(entry, phdrs, body, machine=3):
    eh = b"\x7fELF" + bytes([1, 1, 1]) + bytes(9)
    eh += struct.pack("<HHIIIIIHHHHHH", 2, machine, 1, entry, 52, 0, 0, 52, 32, len(phdrs), 40, 0, 0)
    ph = b"".join(struct.pack("<IIIIIIII", t, off, paddr, paddr, fsz, msz, 7, 4)
                  for t, off, paddr, fsz, msz in phdrs)
    return eh + ph + body


def elf64(entry, phdrs, body):
    eh = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    eh += struct.pack("<HHIQQQIHHHHHH", 2, 62, 1, entry, 64, 0, 0, 64, 56, len(phdrs), 64, 0, 0)
    ph = b"".join(struct.pack("<IIQQQQQQ", t, 7, off, 0xffffffff80000000 + paddr, paddr, fsz, msz, 4)
                  for t, off, paddr, fsz, msz in phdrs)
    return eh + ph + body


def note(owner, ntype, desc):
    o = owner + b"\0"
    return (struct.pack("<III", len(o), len(desc), ntype) + pad(o, (len(o) + 3) & ~3) +
            pad(desc, (len(desc) + 3) & ~3))


code = bytes([0xb0, 0x41, 0xe6, 0xe9, 0xf4]) * 4  # mov al,'A'; out 0xe9,al; hlt

# Multiboot v1 ELF32: header at 0x60 inside a PT_LOAD of the whole file at 1 MiB.
body = pad(b"", 0x60 - 52 - 32) + mb_header(0x3) + code
img = elf32(0x100000 + 0x6c, [(1, 0, 0x100000, 52 + 32 + len(body), 0x2000)], body)
put("loader", "mb-elf32", img)
# The same with a second, bss-only segment and a PT_NOTE that Multiboot ignores.
img = elf32(0x100000 + 0xac, [(1, 0, 0x100000, 0x100, 0x100), (1, 0, 0x200000, 0, 0x3000),
                              (4, 0, 0, 0, 0)],
            pad(b"", 0xa0 - 52 - 96) + mb_header(0x3) + pad(code, 0x100 - 0xac))
put("loader", "mb-elf32-bss", img)
# Multiboot v1 a.out kludge: raw binary, addresses in the header.
hdr = mb_header(0x10003, struct.pack("<IIIII", 0x100000, 0x100000, 0, 0x104000, 0x100020))
put("loader", "mb-aout", pad(hdr, 0x20) + code)
# a.out kludge with load_end_addr set and the header not at offset 0.
hdr = mb_header(0x10002, struct.pack("<IIIII", 0x100010, 0x100000, 0x100040, 0, 0x100030))
put("loader", "mb-aout-off", pad(bytes(16) + hdr, 0x30) + code)

# ELF64 with a Xen PVH note (entry 0x200010) and one PT_LOAD at 2 MiB.
nt = note(b"Xen", 18, struct.pack("<I", 0x200010))
ehsz = 64 + 2 * 56
img = elf64(0xffffffff81000000, [(1, 0x100, 0x200000, 0x40, 0x1000), (4, ehsz, 0, len(nt), 0)],
            pad(nt, 0x100 - ehsz) + pad(code, 0x40))
put("loader", "pvh-elf64", img)
# ELF32 with two notes (the PVH one second, 8-byte descriptor).
nt = note(b"Xen", 5, b"linux") + note(b"Xen", 18, struct.pack("<Q", 0x100020))
ehsz = 52 + 2 * 32
img = elf32(0xc0100000, [(4, ehsz, 0, len(nt), 0), (1, 0xc0, 0x100000, 0x40, 0x2000)],
            pad(nt, 0xc0 - ehsz) + pad(code, 0x40))
put("loader", "pvh-elf32", img)
# ELF64 that speaks both (PVH wins) with a Multiboot header in its first segment.
nt = note(b"Xen", 18, struct.pack("<I", 0x100010))
ehsz = 64 + 2 * 56
img = elf64(0x100010, [(1, 0x100, 0x100000, 0x100, 0x100), (4, ehsz, 0, len(nt), 0)],
            pad(nt, 0x100 - ehsz) + pad(mb_header(0x3), 0x100))
put("loader", "pvh-and-mb", img)


def bzimage(version=0x20f, relocatable=1, align=0x200000, pref=0x200000, init_size=0x100000,
            xload=1, pm=0x200):
    h = bytearray(1024)
    h[0x1f1] = 1                       # setup_sects: 1 (+ boot sector) = 1024 bytes
    struct.pack_into("<I", h, 0x1f4, pm // 16)
    struct.pack_into("<H", h, 0x1fe, 0xaa55)
    h[0x200:0x202] = bytes([0xeb, 0x66])  # jump: header ends at 0x268
    h[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", h, 0x206, version)
    h[0x211] = 0x01                    # loadflags: LOADED_HIGH
    struct.pack_into("<I", h, 0x22c, 0x7fffffff)
    struct.pack_into("<I", h, 0x230, align)
    h[0x234] = relocatable
    struct.pack_into("<H", h, 0x236, xload)
    struct.pack_into("<I", h, 0x238, 2048)
    struct.pack_into("<Q", h, 0x258, pref)
    struct.pack_into("<I", h, 0x260, init_size)
    return bytes(h) + pad(code, pm)


put("loader", "bzimage", bzimage())
put("loader", "bzimage-fixed-1mib", bzimage(relocatable=0, pref=0))
put("loader", "bzimage-old-2.11", bzimage(version=0x20b))
put("loader", "bzimage-no-64bit", bzimage(xload=0))
put("loader", "empty", b"")
put("loader", "elf-truncated", b"\x7fELF\x02\x01\x01")

# ---------------------------------------------------------------- exit
IO, HLT, MMIO, IRQ_WINDOW, SHUTDOWN, FAIL_ENTRY, INTR, INTERNAL, SYSTEM_EVENT = \
    2, 5, 6, 7, 8, 9, 10, 17, 24
IN, OUT = 0, 1


def rec(reason, union=b"", data=b""):
    return bytes([reason]) + pad(union, 40) + pad(data, 16)


def pio(direction, port, size, data=b"", count=1, offset=4096):
    return rec(IO, struct.pack("<BBHIQ", direction, size, port, count, offset), data)


def out8(port, val):
    return pio(OUT, port, 1, bytes([val]))


def in8(port):
    return pio(IN, port, 1)


put("exit", "uart-hello", b"".join(out8(0x3f8, c) for c in b"Hi\n") + rec(HLT))
put("exit", "uart-dlab-loopback",
    out8(0x3fb, 0x80) + out8(0x3f8, 0x01) + out8(0x3f9, 0x00) + in8(0x3f8) + in8(0x3f9) +
    out8(0x3fb, 0x03) + out8(0x3f9, 0x0f) + out8(0x3fc, 0x1f) + in8(0x3fe) + out8(0x3f8, 0x41) +
    out8(0x3fc, 0x03) + in8(0x3fe) + in8(0x3fa) + in8(0x3fd) + out8(0x3ff, 0x5a) + in8(0x3ff))
put("exit", "debug-exit", pio(OUT, 0xf4, 4, struct.pack("<I", 3)))
put("exit", "debug-exit-read", pio(IN, 0xf4, 1) + pio(OUT, 0xf4, 1, b"\x01"))
put("exit", "reset-kbd", in8(0x64) + in8(0x60) + out8(0x64, 0xfe))
put("exit", "reset-port92", in8(0x92) + out8(0x92, 0x02) + out8(0x92, 0x01))
put("exit", "reset-cf9", in8(0xcf9) + out8(0xcf9, 0x02) + out8(0xcf9, 0x06))
put("exit", "post-rep", pio(OUT, 0x80, 1, bytes(range(16)), count=16) + pio(IN, 0x80, 2, count=8))
put("exit", "unknown-ports", pio(IN, 0x1234, 4) + pio(OUT, 0x1234, 2, b"\x01\x02") +
    pio(IN, 0x1234, 1, count=4) + pio(IN, 0x0cfc, 4) + pio(OUT, 0x0cf8, 4, b"\x00\x00\x00\x80"))
put("exit", "mmio", rec(MMIO, struct.pack("<Q8sIB", 0xfed00000, bytes(8), 4, 0)) +
    rec(MMIO, struct.pack("<Q8sIB", 0xfee00300, b"\x01\x02\x03\x04" + bytes(4), 4, 1)) +
    rec(IRQ_WINDOW) + rec(INTR) + rec(HLT))
put("exit", "shutdown", rec(INTR) + rec(SHUTDOWN))
put("exit", "internal-error", rec(INTERNAL, struct.pack("<II4Q", 1, 3, 0x42, 0x43, 0x44, 0)))
put("exit", "internal-error-many", rec(INTERNAL, struct.pack("<II4Q", 7, 16, 1, 2, 3, 4)))
put("exit", "fail-entry", rec(FAIL_ENTRY, struct.pack("<QI", 0x21, 1)))
put("exit", "system-reset", rec(SYSTEM_EVENT, struct.pack("<I", 2)))
put("exit", "system-poweroff", rec(SYSTEM_EVENT, struct.pack("<I", 1)))
put("exit", "system-crash", rec(SYSTEM_EVENT, struct.pack("<I", 3)))
put("exit", "unknown-reason", rec(39))
# The guest writes the steal-time MSR (KVM's 0x4b564d03); no steal area here.
WRMSR = 30
put("exit", "wrmsr-steal", rec(WRMSR, struct.pack("<B7xIIQ", 0, 4, 0x4b564d03, 0x1000 | 1)) +
    rec(WRMSR, struct.pack("<B7xIIQ", 0, 4, 0x4b564d03, 0)) +
    rec(WRMSR, struct.pack("<B7xIIQ", 0, 4, 0x10, 5)) + rec(HLT))
put("exit", "pio-page-end", pio(IN, 0x1234, 4, count=1024, offset=8192))

# ---------------------------------------------------------------- parse
texts = {
    "uj": "123456789012\n", "uj-space": "  42 \n", "uj-empty": "", "uj-neg": "-1\n",
    "uj-big": "18446744073709551616\n", "perf-event": "event=0x02\n",
    "perf-event-umask": "event=0x05,umask=0x0\n", "cpulist": "0-3,8,10-11\n",
    "cpulist-one": "28\n", "cpulist-bad": "3-1\n",
    "proc-stat": "cpu  4705 356 584 3699 23 23 0 0 0 0\n"
                 "cpu0 1393 20 164 1805 5 4 0 0 0 0\n"
                 "cpu1 3312 336 420 1894 18 19 0 0 0 0\n"
                 "intr 1462898\nctxt 115315\nbtime 769041601\n",
    "proc-stat-short": "cpu 1 2 3\ncpu7 1 2 3 4\n",
    "schedstat": "1234567890 45678 321\n", "schedstat-bad": "12 34\n",
    "task-stat": "4242 (avmm-vcpu0) S 1 4242 4242 0 -1 4194560 1234 0 0 0 56 78 0 0 20 0 "
                 "3 0 100 123456789 1000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 0 "
                 "0 17 1 0 0 0 0 0\n",
    "task-stat-paren": "7 (a) b (c)) R 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 "
                       "22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 3\n",
    "size": "64M", "size-bad": "12Q", "backend": "powercap",
}
for name, t in texts.items():
    put("parse", name, t)

# ---------------------------------------------------------------- kvmstats


def kvmstats(stats, id_str=b"kvm-fuzz", name_size=48, data_gap=0):
    """stats: [(name, flags, size)]; values are 1.. in order."""
    desc_off = 24 + name_size
    dsz = 16 + name_size
    data_off = desc_off + len(stats) * dsz + data_gap
    descs, data, off = b"", b"", 0
    for name, flags, size in stats:
        descs += struct.pack("<IhHII", flags, 0, size, off, 0) + pad(name, name_size)
        data += b"".join(struct.pack("<Q", off // 8 + i + 1) for i in range(size))
        off += 8 * size
    hdr = struct.pack("<6I", 0, name_size, len(stats), 24, desc_off, data_off)
    return hdr + pad(id_str, name_size) + descs + bytes(data_gap) + data


CUM, INST, PEAK, LOGHIST = 0x0, 0x1, 0x2, 0x4
put("kvmstats", "small", kvmstats([(b"exits", CUM, 1), (b"pf_taken", CUM, 1),
                                    (b"pages_4k", INST, 1), (b"halt_wait_hist", LOGHIST, 8)]))
put("kvmstats", "no-descs", kvmstats([]))
put("kvmstats", "short-names", kvmstats([(b"tlb_flush", CUM, 1), (b"invlpg", CUM, 1)],
                                        name_size=16, data_gap=8))

# ---------------------------------------------------------------- topo


def cpuset(bits):
    words = [0] * (max(bits) // 32 + 1)
    for b in bits:
        words[b // 32] |= 1 << (b % 32)
    return ",".join("0x%08x" % w for w in reversed(words))


def pu_xml(os_index, gp):
    c = cpuset([os_index])
    return ('    <object type="PU" os_index="%d" cpuset="%s" complete_cpuset="%s" '
            'nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="%d"/>\n'
            % (os_index, c, c, gp))


# Two PUs with OS indices 0 and 2000: too sparse for coremap's OS-index table.
c = cpuset([0, 2000])
put("topo", "sparse-large.xml",
    '<?xml version="1.0" encoding="UTF-8"?>\n<topology version="2.0">\n'
    '  <object type="Machine" os_index="0" cpuset="%s" complete_cpuset="%s" '
    'nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="1">\n'
    '    <object type="NUMANode" os_index="0" cpuset="%s" complete_cpuset="%s" '
    'nodeset="0x00000001" complete_nodeset="0x00000001" gp_index="2" local_memory="1048576"/>\n'
    % (c, c, c, c) + pu_xml(0, 3) + pu_xml(2000, 4) + "  </object>\n</topology>\n")
