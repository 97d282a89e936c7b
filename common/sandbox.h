/*
 * common/sandbox: one seccomp-BPF filter (libseccomp) and one capability set
 * per thread kind, installed by each thread on itself once its set-up is done.
 *
 * The allow-list of every kind is the table in common/sandbox_kinds.c (and the
 * README's "Security" section); a kind's list was derived from what its
 * thread calls under strace in every mode of `avmm run` and `avmm experiment`.
 *
 * Modes (util_sandbox_set_mode, once, by the CLI before any thread starts):
 *   kill (default)  a forbidden system call is reported on stderr as
 *                   "avmm: seccomp: thread NAME made forbidden system call
 *                   SYSCALL (nr N); stopping (filter KIND)" and the process
 *                   exits with status UTIL_SANDBOX_EXIT_STATUS (159 = 128 +
 *                   SIGSYS, what a shell shows for a process SIGSYS killed).
 *                   Host settings are not restored then: the state files
 *                   under /run/avmm are there to repair them. A thread that
 *                   blocks SIGSYS is killed by the kernel without the report.
 *   log             forbidden calls are allowed and logged by the kernel
 *                   (audit log / dmesg: "type=1326 ... syscall=N").
 *   off             no filter, no capability drop.
 *
 * Threading: util_sandbox_enter() acts on the calling thread only (filters
 * and capabilities are per thread in Linux) and on threads it creates later.
 * Errors: 0 or a negative errno; util_sandbox_enter() prints why itself.
 */
#ifndef AVMM_SANDBOX_H
#define AVMM_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>

enum util_sandbox_kind {
	UTIL_SANDBOX_VCPU,        /* avmm-vcpuN: KVM_RUN loop and exit dispatch */
	UTIL_SANDBOX_CTL,         /* control-socket thread */
	UTIL_SANDBOX_TELEMETRY,   /* telemetry sampler (runs without the loop) */
	UTIL_SANDBOX_METRICS,     /* metrics HTTP server (libmicrohttpd's thread) */
	UTIL_SANDBOX_DRIVER,      /* control-loop driver and its actuators */
	UTIL_SANDBOX_SIGNALS,     /* signal waiter of `avmm run` */
	UTIL_SANDBOX_COLLECTOR,   /* experiment collector */
	UTIL_SANDBOX_HOSTLOAD,    /* experiment host-load threads */
	UTIL_SANDBOX_WATCHDOG,    /* vmm-core's halt watchdog (exit counters, kicks) */
	UTIL_SANDBOX_PGWORKER,    /* paging-mode's page-size worker (madvise, smaps) */
	UTIL_SANDBOX_BMWORKER,    /* bankmap's migration worker (move_pages, mbind) */
	UTIL_SANDBOX_DEVTIMER,    /* vmm-core's device timers (HPET): KVM_IRQ_LINE */
	UTIL_SANDBOX_MAIN,        /* main thread: deny-list only, inherited by all */
	UTIL_SANDBOX_KIND_COUNT
};

enum util_sandbox_mode { UTIL_SANDBOX_OFF, UTIL_SANDBOX_LOG, UTIL_SANDBOX_KILL };

#define UTIL_SANDBOX_EXIT_STATUS 159

/* "off", "log", "kill" -> mode; -EINVAL otherwise. */
int util_sandbox_parse_mode(const char *s, enum util_sandbox_mode *out);
/* --seccomp ARG: parse and set the mode, or say what is wrong (-EINVAL). */
int util_sandbox_set_mode_arg(const char *arg);
void util_sandbox_set_mode(enum util_sandbox_mode mode);
enum util_sandbox_mode util_sandbox_get_mode(void);
const char *util_sandbox_kind_name(enum util_sandbox_kind kind);

/*
 * On the calling thread, in the global mode: PR_SET_NO_NEW_PRIVS, drop the
 * capabilities the kind does not keep (effective, permitted, inheritable,
 * ambient and, with CAP_SETPCAP, the bounding set; without privileges there
 * is nothing to drop and this succeeds), then load the kind's filter. In kill
 * mode the SIGSYS reporter is installed process-wide first. Returns 0, or a
 * negative errno after printing which thread and filter failed and the fix.
 */
int util_sandbox_enter(enum util_sandbox_kind kind);
/* Whether this thread runs under a filter (its own, or main's inherited). */
bool util_sandbox_active(void);

/* The capabilities (bit N = capability N) a kind keeps. */
uint64_t util_sandbox_kept_caps(enum util_sandbox_kind kind);

#endif
