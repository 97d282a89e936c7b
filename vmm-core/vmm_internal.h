/* vmm-core internal state shared by its files; not a public header. */
#ifndef AVMM_VMM_INTERNAL_H
#define AVMM_VMM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "common/steal.h"
#include "vmm-core/bus.h"
#include "vmm-core/loader.h"
#include "vmm-core/vmm.h"

/* What a vCPU found when the halt watchdog asked it to look at itself. */
enum vmm_vcpu_look {
	VMM_LOOK_UNKNOWN,   /* did not answer (paused, gone) or an ioctl failed */
	VMM_LOOK_RUNNABLE,  /* not halted, or an NMI pending */
	VMM_LOOK_IDLE,      /* halted with interrupts on: waits for one */
	VMM_LOOK_DEAD,      /* halted with interrupts off and no NMI pending */
	VMM_LOOK_WAIT_SIPI, /* an AP never started (only another vCPU can) */
};

struct vmm_vcpu {
	struct vmm *vm;
	int idx;
	int fd;
	int stats_fd;       /* KVM binary stats, -1 when the kernel has none */
	struct kvm_run *run;
	size_t run_bytes;
	pthread_t thread;
	bool started;
	_Atomic pid_t tid;
	const volatile uint32_t *rseq_cpu; /* the thread's, under lock; NULL once ended */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool pause_req, paused, exited;
	/* A job for the parked thread (lifecycle.c: vmm_vcpu_run_parked): KVM
	 * ioctls run there, since the control thread's seccomp filter has none. */
	void (*job)(struct vmm_vcpu *v, void *arg);
	void *job_arg;
	bool job_done;
	_Atomic bool look_req;  /* the watchdog asks: vmm_watchdog_answer() */
	bool look_done;         /* under lock, with look and look_rip */
	enum vmm_vcpu_look look;
	uint64_t look_rip;
	struct vmm_vcpu_counters ctr;
};

#define VMM_PORT_WORDS (65536 / 64)

/* Token bucket: up to burst bytes at once, refilled at rate bytes/s (0: no limit). */
struct vmm_bucket {
	uint64_t rate, burst, last_ns;
	double tokens;
	bool started;
};

struct vmm_console {
	int fd;               /* stdout, a file, or -1 */
	bool owned;
	char name[256];       /* for messages: "stdout" or the path */
	uint8_t buf[4096];
	size_t len;
	uint64_t max_bytes;   /* 0: no cap */
	uint64_t accepted;    /* bytes within the caps */
	struct vmm_bucket bucket;
	bool warned_size, warned_rate, warned_error;
	_Atomic uint64_t written_bytes, dropped_size_bytes, dropped_rate_bytes;
	_Atomic uint64_t lost_bytes, write_errors;
};

struct vmm_serial {
	pthread_mutex_t lock;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	struct vmm_console con;
};

struct vmm_watchdog {
	pthread_t thread;
	bool started, stop;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t timeout_ns;
};

/* Written-page tracking (dirty_setup.c, dirty.c); the per-vCPU parts indexed like vcpu[]. */
struct vmm_dirty_vcpu {
	struct kvm_dirty_gfn *ring; /* mmapped from the vCPU fd; NULL: none */
	uint32_t fetch;             /* next entry to read (free running) */
	uint64_t *pending;          /* PFN bitmap of entries moved off a full ring */
	size_t pending_bytes;       /* its mapping (MAP_NORESERVE: pages on use) */
	uint64_t pending_pages;     /* bits set in it */
	uint32_t empty_fulls;       /* full-ring exits in a row that found nothing */
};

struct vmm_dirty {
	enum vmm_dirty_track mode;  /* OFF, RING or BITMAP */
	uint32_t entries;           /* RING: per vCPU */
	uint64_t pfn_bits;
	pthread_mutex_t lock;       /* every ring read, pending set and reset */
	uint64_t *slot_buf;         /* BITMAP: one slot's KVM_GET_DIRTY_LOG */
	size_t slot_buf_bytes;
	_Atomic uint64_t ring_full_exits;
	uint64_t harvests, entries_read, foreign, overflows, lost;
	_Atomic bool overflow_warned;
	char why[256];
	struct vmm_dirty_vcpu v[VMM_MAX_VCPUS];
	/* A live migration's own set (migrate.c; lock held to change it): every
	 * page any harvest takes is also set here, so a loop that harvests for
	 * its own purposes (bankmap) never hides a written page from it. */
	uint64_t *tap, tap_bits;
};

/* The operator's pause of the whole VM (lifecycle.c): while paused is set
 * every vCPU parks, whatever the per-vCPU pause_req says, so the loop's own
 * pause/resume of one vCPU (a remap) never lets a paused VM run. */
struct vmm_life {
	pthread_mutex_t lock;       /* serialises vmm_vm_pause/resume */
	_Atomic bool paused;
	_Atomic uint64_t transitions;  /* pauses + resumes so far */
	uint64_t paused_at_ns, paused_total_ns;
	struct kvm_clock_data clock;   /* KVM_GET_CLOCK at the pause */
	bool clock_saved;
};

struct vmm {
	int kvm_fd, vm_fd, vm_stats_fd;
	int nr_vcpus;
	struct vmm_vcpu vcpu[VMM_MAX_VCPUS];
	struct vmm_mem_map mem;
	uint8_t *ram;
	size_t ram_map_bytes;
	struct vmm_serial serial;
	_Atomic uint64_t unknown_seen[VMM_PORT_WORDS]; /* ports already logged */
	_Atomic bool unknown_mmio_logged;
	_Atomic bool stop;
	pthread_mutex_t end_lock;
	struct vmm_result result;
	struct vmm_boot boot;
	struct kvm_cpuid2 *cpuid;
	uint64_t console_max_bytes, console_rate_bps; /* as in vmm_config */
	uint64_t halt_watchdog_ms;                    /* as in vmm_config */
	struct vmm_watchdog wd;
	struct vmm_bus bus;                           /* the PC machine's devices */
	struct vmm_dirty dirty;
	struct {                   /* steal.c: the run-delay page */
		struct util_steal_area *area;   /* VMM_MAX_VCPUS of them (one page); NULL: none */
		int fd;                         /* its memfd (the node agent maps it) */
		bool filtered;                  /* guest writes of the MSR reach us */
	} steal;
	struct vmm_life life;                         /* whole-VM pause (lifecycle.c) */
};

/* memory.c: vmm_mem_check validates a --mem size (at least 4 MiB, whole
 * 4 KiB pages, within the host's memory) before anything is created. */
int vmm_mem_check(uint64_t bytes);
int vmm_mem_alloc(struct vmm *vm, uint64_t bytes, enum vmm_backing backing);
void vmm_mem_free(struct vmm *vm);
/* dirty_setup.c and dirty.c. vmm_dirty_choose is pure: the mode for a request, given the ring
 * size in bytes the host allows (KVM_CHECK_EXTENSION; 0: no ring); 0 or
 * -EINVAL/-EOPNOTSUPP with the reason in why. vmm_dirty_init runs after the
 * VM exists and before memory and vCPUs; vmm_dirty_slot_flags gives the flags
 * for KVM_SET_USER_MEMORY_REGION; vmm_dirty_vcpu_init maps a new vCPU's ring
 * (guest memory must exist); vmm_dirty_ring_full is the vCPU thread's answer
 * to KVM_EXIT_DIRTY_RING_FULL (0: run on). */
int vmm_dirty_choose(enum vmm_dirty_track want, uint32_t entries, int ring_max_bytes,
		     enum vmm_dirty_track *mode, char *why, size_t why_len);
int vmm_dirty_init(struct vmm *vm, const struct vmm_config *cfg);
uint32_t vmm_dirty_slot_flags(const struct vmm *vm);
int vmm_dirty_vcpu_init(struct vmm *vm, int idx);
void vmm_dirty_exit(struct vmm *vm);
/* steal.c (common/steal.h): vmm_steal_init after guest memory (a failure
 * leaves schedstat in use, never the VM stopped); vmm_steal_vcpu on the vCPU
 * thread before its first entry; vmm_steal_wrmsr answers the filtered MSR. */
int vmm_steal_init(struct vmm *vm);
void vmm_steal_exit(struct vmm *vm);
void vmm_steal_vcpu(struct vmm_vcpu *v);
bool vmm_steal_note(struct vmm_vcpu *v, uint64_t msr_val);  /* true: the guest's area */
int vmm_steal_wrmsr(struct vmm_vcpu *v);
int vmm_dirty_ring_full(struct vmm_vcpu *v);
/* cpu.c: CPUID and the boot vCPU's registers. vmm_cpuid_init builds the
 * table for a machine of nr_vcpus (before any vCPU exists); vmm_cpuid_set
 * gives one vCPU that table with its own APIC ids, shaped by cpu_model
 * (vmm_config; NULL: as KVM supports). */
int vmm_cpuid_init(struct vmm *vm, int nr_vcpus, const char *cpu_model);
int vmm_cpuid_set(struct vmm *vm, struct vmm_vcpu *vcpu);
int vmm_boot_regs(struct vmm *vm, struct vmm_vcpu *vcpu);
/* vcpu.c */
int vmm_vcpu_create(struct vmm *vm, int idx);
void vmm_vcpu_destroy(struct vmm_vcpu *vcpu);
void vmm_vcpu_kick(struct vmm_vcpu *vcpu);
/* lifecycle.c: runs fn on the vCPU's own thread while it is parked (the
 * caller has paused it); -ESRCH when it has ended or never started. */
int vmm_vcpu_run_parked(struct vmm_vcpu *v, void (*fn)(struct vmm_vcpu *, void *), void *arg);
/* exit.c: returns 0 to keep running, 1 when the VM has ended. */
int vmm_exit_dispatch(struct vmm_vcpu *vcpu);
/* Ends the VM once (first caller wins) and kicks every vCPU. */
void vmm_end(struct vmm *vm, enum vmm_end end, int status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* console.c: the serial console's output (the caller holds the serial lock).
 * max_bytes and rate_bps as in vmm_config (0: default, VMM_CONSOLE_UNLIMITED). */
int vmm_console_open(struct vmm_console *c, const char *path, uint64_t max_bytes,
		     uint64_t rate_bps);
void vmm_console_putc(struct vmm_console *c, uint8_t ch);
void vmm_console_flush(struct vmm_console *c);
void vmm_console_close(struct vmm_console *c);
void vmm_console_read(const struct vmm_console *c, struct vmm_console_counters *out);
/* Takes n tokens at now_ns if the bucket holds them; true when taken. Pure. */
bool vmm_bucket_take(struct vmm_bucket *b, uint64_t now_ns, uint64_t n);
/* watchdog.c: started by vmm_start, stopped by vmm_wait/vmm_destroy
 * (idempotent); vCPU threads call vmm_watchdog_answer when look_req is set. */
int vmm_watchdog_start(struct vmm *vm, uint64_t timeout_ms);
void vmm_watchdog_stop(struct vmm *vm);
void vmm_watchdog_answer(struct vmm_vcpu *v);
/* devices.c: the console limits come from vm->console_max_bytes/_rate_bps. */
int vmm_devices_init(struct vmm *vm, const char *console_path);
void vmm_devices_exit(struct vmm *vm);
/* is_write: data holds the value; read: handler fills data. Returns 1 if the VM ended. */
int vmm_pio(struct vmm_vcpu *vcpu, uint16_t port, uint8_t *data, int size, bool is_write);

#endif
