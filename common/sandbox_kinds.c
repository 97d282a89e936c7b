/*
 * The allow-list of every thread kind, in one place (README "Security"
 * summarises it). Derived from strace -f of every mode of avmm run and avmm
 * experiment; a rule names a system call and how its arguments are limited.
 */
#include <linux/capability.h>
#include <stddef.h>

#include "common/sandbox_int.h"

#define A(name) { name, SB_ANY }
#define R(name, cond) { name, cond }
#define END { NULL, SB_ANY }

/* Every allow-list kind: thread life, malloc, locks, clocks, signals, the
 * log (write), and what the SIGSYS reporter itself calls. */
static const struct sb_rule base[] = {
	A("exit"), A("exit_group"), A("futex"), A("rt_sigreturn"), A("rt_sigprocmask"),
	A("restart_syscall"), A("sigaltstack"), A("rseq"), A("set_robust_list"),
	A("madvise"), A("munmap"), A("brk"), A("mremap"), A("clock_gettime"),
	A("clock_getres"), A("gettimeofday"), A("clock_nanosleep"), A("nanosleep"),
	A("sched_yield"), A("getpid"), A("gettid"), A("write"), A("getrandom"),
	R("tgkill", SB_OWN_PID), R("prctl", SB_NAME),
	A("sched_getaffinity"), /* glibc sizes its malloc arenas with it */
	END,
};
static const struct sb_rule mem_noexec[] = {
	R("mmap", SB_NOEXEC), R("mprotect", SB_NOEXEC), END,
};
static const struct sb_rule mem_any[] = {
	A("mmap"), A("mprotect"), END,
};
static const struct sb_rule threads[] = {
	R("clone", SB_THREAD), R("clone3", SB_ENOSYS), END,
};
/* Reading files (open itself is per kind: read-only or any). */
static const struct sb_rule files[] = {
	A("read"), A("pread64"), A("readv"), A("lseek"), A("close"), A("fstat"),
	A("newfstatat"), A("statx"), A("getdents64"), A("readlink"), A("readlinkat"),
	A("access"), A("faccessat"), A("faccessat2"), A("fcntl"), A("writev"), A("uname"),
	A("sysinfo"), A("getcpu"), A("getrusage"), A("getuid"), A("geteuid"), END,
};
/* A socket server (libmicrohttpd, the control socket). */
static const struct sb_rule server[] = {
	A("accept"), A("accept4"), A("read"), A("recvfrom"), A("recvmsg"), A("sendto"),
	A("sendmsg"), A("writev"), A("shutdown"), A("close"), A("setsockopt"),
	A("getsockopt"), A("getsockname"), A("getpeername"), A("poll"), A("ppoll"),
	A("select"), A("pselect6"), A("epoll_create1"), A("epoll_ctl"), A("epoll_wait"),
	A("epoll_pwait"), A("eventfd2"), A("pipe2"), A("fcntl"), R("ioctl", SB_IOC_SOCK),
	END,
};

/* vCPU: KVM_RUN and the exit dispatch (console writes, kicks, parking). */
static const struct sb_rule vcpu[] = {
	R("ioctl", SB_IOC_KVM), R("newfstatat", SB_EMPTY_PATH), A("fstat"), A("writev"),
	END,
};
static const struct sb_rule ctl[] = {
	R("openat", SB_RDONLY), END,
};
/* move_pages in query mode: bankmap's per-tick sample of guest RAM by node
 * (on this thread when the loop does not run) */
static const struct sb_rule telemetry[] = {
	R("openat", SB_RDONLY), A("perf_event_open"), R("ioctl", SB_IOC_TEL),
	R("move_pages", SB_PAGES_QUERY), R("bpf", SB_BPF_USE), END,
};
/* Driver and actuators: sysfs writes (power caps), pinning, NUMA placement,
 * page-size changes, state files under /run/avmm, worker threads. */
static const struct sb_rule driver[] = {
	A("openat"), A("perf_event_open"), A("ioctl"), A("pwrite64"), A("ftruncate"),
	A("fsync"), A("fdatasync"), A("rename"), A("renameat"), A("renameat2"),
	A("unlink"), A("unlinkat"), A("mkdir"), A("mkdirat"), A("sched_setaffinity"),
	A("sched_getscheduler"), A("sched_setscheduler"), A("sched_getattr"),
	A("sched_setattr"), A("getpriority"), A("setpriority"), A("move_pages"),
	A("mbind"), A("migrate_pages"), A("get_mempolicy"), A("set_mempolicy"), A("mlock"),
	A("munlock"), R("bpf", SB_BPF_USE),
	A("mincore"), /* a page-size worker started here inherits this filter */
	END,
};
/* Page-size worker: madvise (in base) and mincore over guest RAM, reading
 * /proc/self/smaps, writing the kernel's debugfs split_huge_pages (root). */
static const struct sb_rule pgworker[] = {
	A("openat"), A("mincore"), END,
};
/* bankmap's migration worker: move_pages in batches over guest RAM (its
 * retries wait on a condition variable: futex, clock_gettime in base). */
static const struct sb_rule bmworker[] = {
	A("move_pages"), A("mbind"), A("get_mempolicy"), END,
};
/* Device timer thread (the HPET's comparators): waits on a condition variable
 * (futex, clocks in base) and raises interrupts with KVM_IRQ_LINE. */
static const struct sb_rule devtimer[] = {
	R("ioctl", SB_IOC_KVM), END,
};
static const struct sb_rule signals[] = {
	A("rt_sigtimedwait"), END,
};
/* Main thread: default allow, these denied; every thread inherits it. */
static const struct sb_rule main_deny[] = {
	A("execve"), A("execveat"), A("fork"), A("vfork"), R("clone", SB_NOT_THREAD),
	R("clone3", SB_ENOSYS), A("ptrace"), A("process_vm_readv"), A("process_vm_writev"),
	A("kexec_load"), A("kexec_file_load"), A("init_module"), A("finit_module"),
	A("delete_module"), A("mount"), A("umount2"), A("pivot_root"), A("chroot"),
	A("swapon"), A("swapoff"), A("reboot"), A("setns"), A("unshare"),
	A("open_by_handle_at"), A("iopl"), A("ioperm"), R("bpf", SB_BPF_OTHER), A("userfaultfd"),
	A("add_key"), A("request_key"), A("keyctl"), A("acct"), A("settimeofday"),
	A("clock_settime"), END,
};

#define CAP(c) (1ull << (c))

const struct sb_kind util_sandbox_kinds[UTIL_SANDBOX_KIND_COUNT] = {
	[UTIL_SANDBOX_VCPU] = { "vcpu", false, 0, { base, mem_noexec, vcpu } },
	[UTIL_SANDBOX_CTL] = { "ctl", false, 0, { base, mem_noexec, server, files, ctl, threads } },
	[UTIL_SANDBOX_TELEMETRY] = { "telemetry", false,
				     CAP(CAP_PERFMON) | CAP(CAP_DAC_READ_SEARCH) | CAP(CAP_BPF),
				     { base, mem_any, files, telemetry } },
	[UTIL_SANDBOX_METRICS] = { "metrics", false, 0, { base, mem_noexec, server, threads } },
	[UTIL_SANDBOX_DRIVER] = { "driver", false,
				  CAP(CAP_DAC_OVERRIDE) | CAP(CAP_DAC_READ_SEARCH) | CAP(CAP_SYS_NICE) |
				  CAP(CAP_PERFMON) | CAP(CAP_IPC_LOCK) | CAP(CAP_BPF),
				  { base, mem_any, files, driver, threads } },
	[UTIL_SANDBOX_SIGNALS] = { "signals", false, 0, { base, mem_noexec, signals } },
	[UTIL_SANDBOX_COLLECTOR] = { "collector", false, 0, { base, mem_noexec } },
	[UTIL_SANDBOX_HOSTLOAD] = { "hostload", false, 0, { base, mem_noexec } },
	[UTIL_SANDBOX_WATCHDOG] = { "watchdog", false, 0, { base, mem_noexec } },
	[UTIL_SANDBOX_PGWORKER] = { "pgworker", false, 0, { base, mem_noexec, files, pgworker } },
	[UTIL_SANDBOX_BMWORKER] = { "bmworker", false, 0, { base, mem_noexec, bmworker } },
	[UTIL_SANDBOX_DEVTIMER] = { "devtimer", false, 0, { base, mem_noexec, devtimer } },
	[UTIL_SANDBOX_MAIN] = { "main", true, ~0ull, { main_deny } },
};
