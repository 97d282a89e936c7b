/*
 * vmm-core internal: the snapshot file format (snapshot_fmt.c), shared by
 * `avmm ctl snapshot` / `avmm run --restore` and, later, the migration stream
 * (the same header and sections over a socket) — see README "Snapshot format".
 *
 * All integers little-endian. A file is
 *   header (struct vmm_snap_header, VMM_SNAP_HEADER_BYTES)
 *   sections: struct vmm_snap_sec (16 bytes: type, index, payload bytes)
 *             followed by the payload
 *   an END section whose payload is the u32 CRC-32C (Castagnoli) of every
 *   byte before it (header and sections), and whose index is the number of
 *   sections before it. Version 1 had CRC-32 (IEEE) there; version 2, the
 *   same layout with CRC-32C (the SSE4.2 crc32 instruction: ~20x cheaper).
 * A reader refuses, before anything is restored: another magic or version, a
 * host whose CPU vendor differs or lacks a feature bit the file needs, a file
 * that ends before its END section (truncated), a CRC mismatch.
 */
#ifndef AVMM_VMM_SNAPSHOT_H
#define AVMM_VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMM_SNAP_MAGIC "AVMMSNAP"
#define VMM_SNAP_VERSION 2u
#define VMM_SNAP_HEADER_BYTES 128u

/* CPUID words whose set bits the guest may use: the restoring host needs
 * them all. */
enum vmm_snap_feat {
	VMM_SNAP_F1_ECX, VMM_SNAP_F1_EDX,      /* leaf 1 */
	VMM_SNAP_F7_EBX, VMM_SNAP_F7_ECX, VMM_SNAP_F7_EDX, /* leaf 7 subleaf 0 */
	VMM_SNAP_FX1_ECX, VMM_SNAP_FX1_EDX,    /* leaf 0x80000001 */
	VMM_SNAP_FD1_EAX,                      /* leaf 0xd subleaf 1 (XSAVEOPT, XSAVES...) */
	VMM_SNAP_NR_FEAT
};

struct vmm_snap_cpu {
	char vendor[13];                 /* CPUID 0: "GenuineIntel", "AuthenticAMD" */
	uint32_t feat[VMM_SNAP_NR_FEAT];
	uint32_t xsave_bytes;            /* CPUID 0xd.0 ECX: the XSAVE area the host needs */
};

/* Header flags (a zero word to avmm versions before them, which ignore it). */
#define VMM_SNAP_FLAG_HANDOVER 1u   /* a migration stream whose source hands over with 'G' */

struct vmm_snap_header {
	uint32_t version;
	uint32_t flags;                  /* VMM_SNAP_FLAG_* */
	uint32_t nr_vcpus;
	uint64_t mem_bytes;
	uint64_t created_unix_s;
	struct vmm_snap_cpu cpu;         /* the host the snapshot was taken on */
};

enum vmm_snap_type {
	VMM_SNAP_END = 0,
	VMM_SNAP_CONFIG = 1,     /* the VM's config (text: key=value lines) */
	VMM_SNAP_REGS, VMM_SNAP_SREGS, VMM_SNAP_FPU, VMM_SNAP_XSAVE, VMM_SNAP_XCRS,
	VMM_SNAP_MSRS, VMM_SNAP_LAPIC, VMM_SNAP_EVENTS, VMM_SNAP_MP_STATE,  /* per vCPU */
	VMM_SNAP_CPUID,          /* per vCPU: its kvm_cpuid2 */
	VMM_SNAP_IRQCHIP,        /* index 0 PIC master, 1 PIC slave, 2 IOAPIC */
	VMM_SNAP_PIT,            /* kvm_pit_state2 */
	VMM_SNAP_CLOCK,          /* kvm_clock_data */
	VMM_SNAP_DEVICE,         /* index: bus slot; payload: name NUL then state */
	VMM_SNAP_SERIAL,
	VMM_SNAP_RAM,            /* payload: u64 gpa, then runs of 4 KiB pages */
	VMM_SNAP_NR_TYPES
};

struct vmm_snap_sec {
	uint32_t type, index;
	uint64_t bytes;
};

/* The host's CPU (CPUID on this thread). */
void vmm_snap_host_cpu(struct vmm_snap_cpu *out);
/* Pure: 0 when a snapshot taken on `file` may run on `host`, else -ENOTSUP
 * with why naming the vendor or the missing feature bits (word, mask). */
int vmm_snap_cpu_check(const struct vmm_snap_cpu *file, const struct vmm_snap_cpu *host,
		       char *why, size_t why_len);

/* Writer: header, sections, end; every write whole or -errno (-EIO short). */
struct vmm_snap_writer {
	int fd;
	uint32_t crc, nr_sections;
	uint64_t bytes;
};
int vmm_snap_write_header(struct vmm_snap_writer *w, int fd, const struct vmm_snap_header *h);
int vmm_snap_write_section(struct vmm_snap_writer *w, uint32_t type, uint32_t index,
			   const void *payload, uint64_t bytes);
/* One section whose payload is a then b (e.g. a RAM run: its gpa, its pages). */
int vmm_snap_write_parts(struct vmm_snap_writer *w, uint32_t type, uint32_t index,
			 const void *a, uint64_t a_bytes, const void *b, uint64_t b_bytes);
int vmm_snap_write_end(struct vmm_snap_writer *w);

/* Reader. read_header checks magic, version and (against the host) the CPU;
 * next_section gives the next section's head (END included: its CRC has then
 * been checked) and read_payload its payload. Errors: -EPROTO (not a
 * snapshot, other version, CRC), -ENOTSUP (CPU), -ENODATA (truncated), with
 * the reason in why (what, at which byte offset, what to do). */
struct vmm_snap_reader {
	int fd;
	uint32_t crc, nr_sections;
	uint64_t off;
	struct vmm_snap_sec cur;
	uint64_t cur_left;
	char why[256];
};
int vmm_snap_read_header(struct vmm_snap_reader *r, int fd, const struct vmm_snap_cpu *host,
			 struct vmm_snap_header *out);
int vmm_snap_next_section(struct vmm_snap_reader *r, struct vmm_snap_sec *out);
int vmm_snap_read_payload(struct vmm_snap_reader *r, void *buf, uint64_t bytes);

/* CRC-32C of buf, continuing crc (0 to start): the SSE4.2 instruction when
 * the CPU has it, else tables; _soft always the tables (same value), _hw
 * whether the instruction is used (snapshot_crc.c). */
uint32_t vmm_snap_crc32c(uint32_t crc, const void *buf, size_t len);
uint32_t vmm_snap_crc32c_soft(uint32_t crc, const void *buf, size_t len);
bool vmm_snap_crc32c_hw(void);

#endif
