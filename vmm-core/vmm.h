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

/* Written-page tracking (vmm_dirty_*): off by default. AUTO: KVM's dirty ring
 * where the host offers it, else the slots' dirty bitmap; RING: the ring or
 * vmm_create fails; BITMAP: the slots' bitmap (VM-wide, not per vCPU). */
enum vmm_dirty_track { VMM_DIRTY_OFF, VMM_DIRTY_AUTO, VMM_DIRTY_RING, VMM_DIRTY_BITMAP };

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
	enum vmm_dirty_track dirty_track;
	/* Entries per vCPU ring: a power of two, 256 (one 4 KiB page of 16-byte
	 * entries, KVM's minimum) to 65536 and the host's limit; 0: 4096. */
	uint32_t dirty_ring_entries;
	/* CPUID: NULL or "host": what KVM supports; else MODEL[,+flag,-flag,vendor=V]
	 * (cpuid_shape.c lists models, flags and their dependencies). */
	const char *cpu_model;
	/* QEMU's pc-testdev (ports 0xe0-0xeb, 0x2000-0x2017, MMIO RAM at
	 * 0xff000000): for conformance suites (kvm-unit-tests) only. */
	bool testdev;
};

#define VMM_DIRTY_RING_DEFAULT 4096u

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
	VMM_END_POWEROFF,   /* ACPI soft-off (S5) through PM1a control: status 0 */
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

/*
 * The whole VM, for the operator (lifecycle.c): vmm_vm_pause parks every
 * vCPU and saves the KVM clock; vmm_vm_resume puts the clock back (the
 * guest's kvmclock does not count the paused time) and lets them run.
 * Independent of vmm_pause/vmm_resume (a vCPU runs only when neither holds
 * it). -EALREADY: already paused / not paused; -ESRCH: the VM has ended.
 * out (may be NULL) is filled in every case.
 */
struct vmm_vm_pause_info {
	bool paused;
	uint64_t transitions;      /* pauses + resumes since creation */
	uint64_t paused_since_ns;  /* util_now_ns() at the pause; 0 when running */
	uint64_t paused_total_ns;  /* completed pauses */
	bool clock_saved;          /* KVM_GET_CLOCK worked at the pause */
	uint64_t clock_ns;         /* the kvmclock saved at the pause */
	uint32_t clock_flags;      /* its flags (KVM_CLOCK_TSC_STABLE ...) */
	bool clock_tsc_stable;     /* KVM_CLOCK_TSC_STABLE: one master clock */
	uint64_t clock_after_ns;   /* resume: the kvmclock just after KVM_SET_CLOCK */
};
int vmm_vm_pause(struct vmm *vm, struct vmm_vm_pause_info *out);
int vmm_vm_resume(struct vmm *vm, struct vmm_vm_pause_info *out);
void vmm_vm_pause_info(struct vmm *vm, struct vmm_vm_pause_info *out);
/* Lock-free, for the loop: paused now; *transitions (may be NULL) counts
 * pauses and resumes, so a change tells a tick that straddled one. */
bool vmm_vm_paused(const struct vmm *vm, uint64_t *transitions);

/*
 * Snapshots (snapshot_*.c; the format: snapshot.h and README "Snapshot
 * format"). vmm_snapshot_save writes the state of a VM paused with
 * vmm_vm_pause to fd (the work runs on vCPU 0's parked thread); *bytes (may
 * be NULL) is the file's size. vmm_snapshot_restore loads fd (seekable) into
 * a VM just created with the same vCPU count and RAM size, before
 * vmm_start: it reads and checks the whole file first (header, host CPU,
 * every section's size, the CRC) and changes nothing when a check fails; an
 * I/O error after that leaves the VM half-restored: destroy it, never start
 * it. 0 or -errno with why (what, where, what to do).
 */
int vmm_snapshot_save(struct vmm *vm, int fd, uint64_t *bytes, char *why, size_t why_len);
int vmm_snapshot_restore(struct vmm *vm, int fd, char *why, size_t why_len);

/*
 * Live migration (migrate.c, migrate_recv.c; the stream: a snapshot written
 * front to back, README "Live migration"). vmm_migrate_send moves a running
 * VM over fd, a connected stream socket: header (the target checks it before
 * anything else moves), pre-copy rounds of RAM while the guest runs (the
 * slots' dirty log is turned on here when tracking is off), then pause, the
 * last written pages, the state, END, and the target's acknowledgement.
 * 0: the target holds the VM and runs it, which stays paused here (the
 * caller stops it); -EINPROGRESS: the target was told to run the VM but did
 * not confirm it: the VM stays paused here (it may run there; why says so);
 * another -errno: the VM runs on here, why says what failed. Call from the control
 * thread. vmm_migrate_receive loads such a stream into a VM created with the
 * same shape before its vCPUs start; -errno: refused (and told to the
 * source), the VM must never run (destroy it).
 */
struct vmm_migrate_opts {
	uint64_t downtime_ms;       /* stop and copy once what is left fits this */
	unsigned max_rounds;        /* or after this many pre-copy rounds */
	unsigned min_rounds;        /* but not before this many (0, 1: no minimum) */
	uint64_t answer_ms;         /* the wait for each of the target's answers (0: 120 s) */
};
#define VMM_MIGRATE_ANSWER_MS_DEFAULT 120000
struct vmm_migrate_stats {
	unsigned rounds;            /* pre-copy rounds (the stop-and-copy not counted) */
	uint64_t pages, last_pages; /* 4 KiB pages sent in all; in the stop-and-copy */
	uint64_t bytes;             /* the stream */
	uint64_t total_ns, downtime_ns, precopy_pause_ns;
};
int vmm_migrate_send(struct vmm *vm, int fd, const struct vmm_migrate_opts *o,
		     struct vmm_migrate_stats *st, char *why, size_t len);
/* answer_ms: the wait for the source's go after the restore (0: 120 s) */
int vmm_migrate_receive(struct vmm *vm, int sock, uint64_t answer_ms, uint64_t *bytes, char *why,
			size_t len);
/* Addresses (migrate_addr.c): unix:PATH or tcp:HOST:PORT. parse is pure;
 * listen and connect give a socket fd or -errno with why. */
struct vmm_migrate_addr {
	bool unix_path;
	char path[108], host[256], port[8];
};
int vmm_migrate_addr_parse(const char *addr, struct vmm_migrate_addr *out, char *why, size_t len);
int vmm_migrate_listen(const char *addr, char *why, size_t len);
int vmm_migrate_connect(const char *addr, char *why, size_t len);
/* Asks the avmm at control socket ctl_path to migrate its VM to addr
 * (migrate_request.c): 0 with why = the one-line summary, or -errno with
 * why and the stage that failed. *answer (free it; NULL when no answer
 * came) is the VM's JSON answer. */
enum vmm_migrate_stage {
	VMM_MIGRATE_CONNECT,   /* the target did not answer at addr */
	VMM_MIGRATE_CTL,       /* the VM's control socket did not answer */
	VMM_MIGRATE_REFUSED,   /* the VM answered: the migration failed, it runs on */
	VMM_MIGRATE_UNSURE,    /* the target may run it: the VM stays paused here */
};
int vmm_migrate_request(const char *ctl_path, const char *addr, char **answer,
			enum vmm_migrate_stage *stage, char *why, size_t len);
/* Pure: whether pages left fit downtime_ms at rate_bps (bytes/s; 0: never). */
bool vmm_migrate_converged(uint64_t pages, uint64_t rate_bps, uint64_t downtime_ms);
/* Pure: whether pre-copy ends after round `rounds`, which sent sent_pages
 * and left pending_pages written since (rate_bps: the last timed round's).
 * Ends at max_rounds; else not before min_rounds, and only once pending fits
 * downtime_ms; even then another round runs while it halves the stop and
 * copy (pending < sent / 2) and pending is above VMM_MIGRATE_FLOOR_PAGES. */
#define VMM_MIGRATE_FLOOR_PAGES 256u   /* 1 MiB: ~1 ms to send here */
bool vmm_migrate_stop(const struct vmm_migrate_opts *o, unsigned rounds, uint64_t sent_pages,
		      uint64_t pending_pages, uint64_t rate_bps);

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
/* Each vCPU thread's run delay in memory (common/steal.h): its KVM
 * steal-time area (NULL: none), and the memfd of the page that holds them,
 * vCPU i's at offset 64 * i (-1: none; the node agent maps it). */
struct util_steal_area;
const struct util_steal_area *vmm_vcpu_steal(const struct vmm *vm, int vcpu);
int vmm_steal_fd(const struct vmm *vm);
bool vmm_ended(const struct vmm *vm);
void vmm_vcpu_counters(const struct vmm *vm, int vcpu, struct vmm_vcpu_counters *out);
void vmm_console_counters(const struct vmm *vm, struct vmm_console_counters *out);

/* Guest RAM regions (for page placement): index 0.. until -ENOENT. */
int vmm_ram_region(const struct vmm *vm, int idx, void **hva, uint64_t *gpa, uint64_t *bytes);

/*
 * Written pages (dirty.c), when vmm_config.dirty_track is not OFF.
 * A set is a bitmap over guest page frames: bit n is gpa n*4096 (PFN =
 * gpa >> 12); it holds info.pfn_bits bits (the top of guest RAM / 4096).
 * RING: one ring per vCPU; a page appears in the set of the vCPU that wrote
 * it first after the previous harvest (a page two vCPUs write lands in one
 * of them). A vCPU whose ring fills (KVM_EXIT_DIRTY_RING_FULL) moves its
 * entries into its own pending set and runs on: nothing is lost and the guest
 * never waits for a harvester. BITMAP: KVM_GET_DIRTY_LOG on each slot: one
 * set for the whole VM, so vcpu must be -1. Pages the monitor itself writes
 * (the loader) are not counted: only writes by the guest (or by KVM for it).
 * Threading: harvest from any thread but the vCPU threads, between
 * vmm_create and vmm_destroy (after vmm_wait too); calls are serialised.
 */
struct vmm_dirty_info {
	enum vmm_dirty_track mode;  /* OFF, RING or BITMAP: what is in use */
	bool per_vcpu;              /* RING */
	uint32_t ring_entries;      /* RING: per vCPU */
	uint64_t pfn_bits;          /* bits a set needs */
	uint64_t ring_full_exits;   /* KVM_EXIT_DIRTY_RING_FULL, all vCPUs */
	uint64_t harvests;          /* vmm_dirty_harvest calls that succeeded */
	uint64_t entries;           /* ring entries (RING) or set bits (BITMAP) read */
	uint64_t foreign_entries;   /* entries outside guest RAM slots (ignored) */
	/* Rings KVM overran (a host bug; see dirty.c) and the entries overwritten
	 * there: up to that many written pages may be missing from the sets. */
	uint64_t ring_overflows, lost_entries;
	char why[256];              /* how this mode was chosen; what is missing */
};
void vmm_dirty_info(const struct vmm *vm, struct vmm_dirty_info *out);
/* ORs into set (bits: its size in bits, at least info.pfn_bits) the pages
 * vcpu wrote since its previous harvest (-1: every vCPU, or the VM), then
 * rearms tracking for them (KVM_RESET_DIRTY_RINGS, VM-wide, or the bitmap
 * read's write-protect). *new_pages (may be NULL): bits this call set that
 * were clear. -ENODATA: tracking is off; -EOPNOTSUPP: vcpu >= 0 with the
 * VM-wide bitmap; -EINVAL: vcpu out of range or set too small. */
int vmm_dirty_harvest(struct vmm *vm, int vcpu, uint64_t *set, uint64_t bits,
		      uint64_t *new_pages);

/* Text for a vmm_end value ("debug-exit", "reset", ...). */
const char *vmm_end_name(enum vmm_end end);
/* Whether the guest ended in success: ACPI power-off (the bundled guests),
 * or 0 written to the debug-exit port (guests that use it for success). */
bool vmm_result_success(enum vmm_end end, int exit_status);

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
	/* A file the client passed with its request (SCM_RIGHTS, e.g. the
	 * snapshot file it opened), -1: none. The server closes it once the
	 * request's line is handled; a handler only uses it. */
	int fd;
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
/* The same, passing fd to the server with the request (peer.fd there). */
int vmm_ctl_call_fd(const char *path, const char *request_json, int fd, char **answer);
/* The control sockets of the running avmm processes (NAME.sock in
 * util_run_dir() that accept a connection; agent.sock left out), sorted by
 * name: the first max into paths; returns how many there are, or -errno. */
#define VMM_CTL_PATH_MAX 108
int vmm_ctl_find_running(char paths[][VMM_CTL_PATH_MAX], int max);
/* For a client given neither --name nor --socket: the path of the only
 * running avmm; else says why (none, or several: listed) as cmd and returns
 * -ENOENT, -EEXIST or -errno. */
int vmm_ctl_pick_running(const char *cmd, char *path, size_t len);

#endif
