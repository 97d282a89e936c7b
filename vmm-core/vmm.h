/*
 * vmm-core: a virtual machine monitor on Linux KVM.
 *
 * Lifecycle: vmm_create() opens /dev/kvm, creates the VM, its guest memory,
 * the in-kernel irqchip and N vCPUs, and loads the guest image; vmm_start()
 * starts one thread per vCPU (named "avmm-vcpuN"); vmm_wait() joins them and
 * returns how the guest ended; vmm_destroy() frees everything.
 *
 * Threading: vmm_pause()/vmm_resume()/vmm_request_stop() and the getters may
 * be called from any thread while the vCPUs run. vmm_pause() returns once the
 * vCPU(s) are parked outside KVM_RUN, so callers may remap or migrate them.
 *
 * Units: sizes in bytes, guest physical addresses (gpa) in bytes.
 * Errors: 0 or a negative errno; a message naming the object was logged.
 */
#ifndef AVMM_VMM_H
#define AVMM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VMM_MAX_VCPUS 64

enum vmm_backing { VMM_BACKING_ANON, VMM_BACKING_THP, VMM_BACKING_HUGETLBFS };

struct vmm_config {
	int vcpus;                /* 1..VMM_MAX_VCPUS and the host's KVM limit */
	uint64_t mem_bytes;       /* guest RAM */
	enum vmm_backing backing;
	const char *console_path; /* NULL or "stdio": stdout; else a file */
	/* Console caps: bytes in all, and bytes/s (token bucket, bursts of one
	 * second or 4 KiB); what exceeds them is dropped and counted. 0: the
	 * default; VMM_CONSOLE_UNLIMITED: none. */
	uint64_t console_max_bytes, console_rate_bps;
	const char *guest_path;   /* Multiboot v1 ELF, ELF64 with PVH note, bzImage */
	const char *cmdline;      /* may be NULL */
	const char *initrd_path;  /* may be NULL */
	/* Halt watchdog: the run ends (VMM_END_HALTED, status 8) when every vCPU
	 * has been halted with interrupts off this long. 0: the default (10 s);
	 * VMM_HALT_WATCHDOG_OFF: never. */
	uint64_t halt_watchdog_ms;
	/* CPUID: NULL or "host": what KVM supports; else MODEL[,+flag,-flag,vendor=V]
	 * (cpuid_shape.c lists models, flags and their dependencies). */
	const char *cpu_model;
	/* QEMU's pc-testdev (ports 0xe0-0xeb, 0x2000-0x2017, MMIO RAM at
	 * 0xff000000): for conformance suites (kvm-unit-tests) only. */
	bool testdev;
};

#define VMM_HALT_WATCHDOG_DEFAULT_MS 10000ull
#define VMM_HALT_WATCHDOG_OFF UINT64_MAX

/* How the guest ended. */
enum vmm_end {
	VMM_END_RUNNING,    /* not ended yet */
	VMM_END_DEBUG_EXIT, /* wrote v to the isa-debug-exit port: vmm_debug_exit_status(v) */
	VMM_END_RESET,      /* keyboard-controller or port-0x92 reset */
	VMM_END_SHUTDOWN,   /* triple fault */
	VMM_END_HALTED,     /* powered off, or every vCPU halted with interrupts off */
	VMM_END_STOPPED,    /* vmm_request_stop() */
	VMM_END_ERROR,      /* KVM_RUN failure, emulation failure, failed entry */
};

/*
 * Exit statuses of `avmm run` (see README "Exit status of avmm run"). They
 * never collide: the debug-exit statuses are odd (1..127), the others even,
 * and 128+N is left to signals.
 */
#define VMM_STATUS_BAD_ARGS       2 /* bad arguments, or the VM could not be created */
#define VMM_STATUS_CRASH          4 /* triple fault, emulation failure, failed entry */
#define VMM_STATUS_DEBUG_EXIT_BIG 6 /* the guest wrote a debug-exit value >= 64 */
#define VMM_STATUS_HALTED         8 /* every vCPU halted with interrupts off (cli; hlt) */
#define VMM_DEBUG_EXIT_MAX       64 /* values below give QEMU's (v<<1)|1 */
/* Status for a value the guest wrote to port 0xf4: (v<<1)|1 for v < 64, else 6. */
int vmm_debug_exit_status(uint32_t value);

struct vmm_result {
	enum vmm_end end;
	int exit_status;    /* what avmm should exit with */
	char why[256];      /* readable reason */
};

/* Monitor-side per-vCPU counters (cumulative since start). */
struct vmm_vcpu_counters {
	uint64_t exits, pio_exits, mmio_exits, hlt_exits, unknown_pio, unknown_mmio;
};

#define VMM_CONSOLE_UNLIMITED UINT64_MAX
#define VMM_CONSOLE_MAX_DEFAULT (64ull << 20)  /* bytes */
#define VMM_CONSOLE_RATE_DEFAULT (1ull << 20)  /* bytes/s */

/* Serial console output (cumulative since creation). */
struct vmm_console_counters {
	uint64_t written_bytes;      /* written to the console file or stdout */
	uint64_t dropped_size_bytes; /* dropped beyond console_max_bytes */
	uint64_t dropped_rate_bytes; /* dropped beyond console_rate_bps */
	uint64_t lost_bytes;         /* lost to write errors (e.g. a full disk) */
	uint64_t write_errors;
};

struct vmm;

int vmm_create(const struct vmm_config *cfg, struct vmm **out);
int vmm_start(struct vmm *vm);
/* Like vmm_start, but every vCPU thread stops before its first KVM_RUN: on
 * return the threads exist, their TIDs are published (vmm_vcpu_tid) and no
 * guest instruction has run. The caller may place them (by TID) and lets
 * them into the guest with vmm_resume(vm, -1). */
int vmm_start_held(struct vmm *vm);
int vmm_wait(struct vmm *vm, struct vmm_result *res);
void vmm_request_stop(struct vmm *vm);
void vmm_destroy(struct vmm *vm);

/* vcpu = -1: all vCPUs. Idempotent. */
int vmm_pause(struct vmm *vm, int vcpu);
int vmm_resume(struct vmm *vm, int vcpu);

int vmm_nr_vcpus(const struct vmm *vm);
pid_t vmm_vcpu_tid(const struct vmm *vm, int vcpu); /* 0 before vmm_start */
/* The CPU the vCPU's thread runs on, or last ran on, read from the thread's
 * rseq area (no system call); -1 before start, after its end, or without rseq. */
int vmm_vcpu_pcpu(struct vmm *vm, int vcpu);
int vmm_vm_fd(const struct vmm *vm);
/* vCPU ioctls block while that vCPU is inside KVM_RUN: samplers must not
 * issue them on a running VM. Use these KVM binary-stats fds (opened at
 * creation; -1 when the kernel has none) — reading them never blocks. */
int vmm_vcpu_fd(const struct vmm *vm, int vcpu);
int vmm_vm_stats_fd(const struct vmm *vm);
int vmm_vcpu_stats_fd(const struct vmm *vm, int vcpu);
bool vmm_ended(const struct vmm *vm);
void vmm_vcpu_counters(const struct vmm *vm, int vcpu, struct vmm_vcpu_counters *out);
void vmm_console_counters(const struct vmm *vm, struct vmm_console_counters *out);

/* Guest RAM regions (for page placement): index 0.. until -ENOENT. */
int vmm_ram_region(const struct vmm *vm, int idx, void **hva, uint64_t *gpa, uint64_t *bytes);

/* Text for a vmm_end value ("debug-exit", "reset", ...). */
const char *vmm_end_name(enum vmm_end end);

/*
 * Control socket: a Unix stream socket that takes one JSON object per line
 * ({"cmd":"NAME", ...}) and answers one JSON object per line. One thread
 * serves many clients at once through poll(); a client whose line does not
 * end within 5 s, or that does not read its answers for 5 s, or is silent
 * for 60 s, is closed. The socket is mode 0600 (0660 with a group) and only
 * root, the VM's owner (this process's uid) or a member of that group may
 * talk to it (SO_PEERCRED). Modules register commands; handlers run on the
 * control thread with the peer's credentials and return a malloc'd JSON text
 * (without newline) or NULL with *err set. Answers are sent with
 * MSG_NOSIGNAL: a client that hangs up never kills avmm.
 */
struct vmm_ctl_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};
typedef char *(*vmm_ctl_fn)(const char *request_json, const struct vmm_ctl_peer *peer,
			    void *arg, int *err);
struct vmm_ctl;
/* group: (gid_t)-1 for none. An existing socket at path is replaced only if
 * it is a socket nobody answers on; anything else there is an error. */
int vmm_ctl_open(const char *path, gid_t group, struct vmm_ctl **out);
int vmm_ctl_register(struct vmm_ctl *ctl, const char *cmd, vmm_ctl_fn fn, void *arg);
void vmm_ctl_close(struct vmm_ctl *ctl);
/* A VM name is 1-64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
bool vmm_ctl_valid_name(const char *name);
/* Default socket path for a VM name: util_run_dir() + "/<name>.sock".
 * -EINVAL for a name vmm_ctl_valid_name refuses. */
int vmm_ctl_default_path(const char *vm_name, char *out, size_t len);
/* Client side: send one request line, read one answer line (malloc'd);
 * gives up after 10 s. request_json NULL: only test that something listens. */
int vmm_ctl_call(const char *path, const char *request_json, char **answer);

#endif
