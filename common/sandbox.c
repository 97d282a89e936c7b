/* Per-thread-kind seccomp filters and capability sets (see sandbox.h). */
#include "common/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/bpf.h>
#include <linux/capability.h>
#include <pthread.h>
#include <seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "common/sandbox_int.h"
#include "common/util.h"

/* LeakSanitizer stops the world at exit from the main thread with clone (no
 * CLONE_THREAD) and ptrace: sanitizer builds (make check) leave main's
 * deny-list out. */
#if defined(__SANITIZE_ADDRESS__)
#define SB_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(leak_sanitizer)
#define SB_LSAN 1
#endif
#endif

#define CAP(c) (1ull << (c))

/* ---- mode ---- */

static enum util_sandbox_mode sb_mode = UTIL_SANDBOX_KILL;

int util_sandbox_parse_mode(const char *s, enum util_sandbox_mode *out)
{
	if (!strcmp(s, "off"))
		*out = UTIL_SANDBOX_OFF;
	else if (!strcmp(s, "log"))
		*out = UTIL_SANDBOX_LOG;
	else if (!strcmp(s, "kill"))
		*out = UTIL_SANDBOX_KILL;
	else
		return -EINVAL;
	return 0;
}

int util_sandbox_set_mode_arg(const char *arg)
{
	enum util_sandbox_mode mode;

	if (util_sandbox_parse_mode(arg, &mode)) {
		util_err("--seccomp '%s': expected off, log or kill", arg);
		return -EINVAL;
	}
	util_sandbox_set_mode(mode);
	return 0;
}

void util_sandbox_set_mode(enum util_sandbox_mode mode)
{
	__atomic_store_n(&sb_mode, mode, __ATOMIC_RELEASE);
}

enum util_sandbox_mode util_sandbox_get_mode(void)
{
	return __atomic_load_n(&sb_mode, __ATOMIC_ACQUIRE);
}

const char *util_sandbox_kind_name(enum util_sandbox_kind kind)
{
	return (unsigned)kind < UTIL_SANDBOX_KIND_COUNT ? util_sandbox_kinds[kind].name : "?";
}

uint64_t util_sandbox_kept_caps(enum util_sandbox_kind kind)
{
	return (unsigned)kind < UTIL_SANDBOX_KIND_COUNT ? util_sandbox_kinds[kind].keep_caps : 0;
}

/* ---- the SIGSYS reporter (kill mode) ---- */

#define NR_NAMES 512
static char sc_names[NR_NAMES][24];          /* resolved once, read in the handler */
static __thread const char *sb_thread_kind;  /* set by util_sandbox_enter */
static bool sb_main_entered;                 /* every thread inherits main's filter */
static pthread_once_t reporter_once = PTHREAD_ONCE_INIT;

static size_t put(char *buf, size_t at, size_t len, const char *s)
{
	while (*s && at + 1 < len)
		buf[at++] = *s++;
	return at;
}

static size_t put_num(char *buf, size_t at, size_t len, unsigned long v)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n > 0 && at + 1 < len)
		buf[at++] = tmp[--n];
	return at;
}

static bool str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

/*
 * glibc's malloc opens /proc/sys/vm/overcommit_memory once per process, on
 * whichever thread first shrinks a thread arena's heap; when the open fails
 * it keeps its default (release with MADV_DONTNEED). That one open is
 * answered with EACCES instead of being reported.
 */
static bool answer_known_open(int nr, void *uc)
{
#if defined(__x86_64__)
	ucontext_t *u = uc;
	const char *path;

	if (nr != __NR_openat || !u)
		return false;
	path = (const char *)u->uc_mcontext.gregs[REG_RSI];
	if (!path || !str_eq(path, "/proc/sys/vm/overcommit_memory"))
		return false;
	u->uc_mcontext.gregs[REG_RAX] = -EACCES;
	return true;
#else
	(void)nr;
	(void)uc;
	return false;
#endif
}

/* Async-signal-safe: a few system calls every filter allows, no locks. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char msg[256], name[17] = "";
	int nr = si->si_syscall;
	size_t n = 0;

	(void)sig;
	if (si->si_arch == AUDIT_ARCH_X86_64 && answer_known_open(nr, uc))
		return;
	if (prctl(PR_GET_NAME, name, 0, 0, 0) || !name[0]) {
		n = put_num(name, 0, sizeof(name), (unsigned long)syscall(SYS_gettid));
		name[n] = 0;
	}
	n = put(msg, 0, sizeof(msg), "avmm: seccomp: thread ");
	n = put(msg, n, sizeof(msg), name);
	n = put(msg, n, sizeof(msg), " made forbidden system call ");
	if (si->si_arch == AUDIT_ARCH_X86_64 && nr >= 0 && nr < NR_NAMES && sc_names[nr][0])
		n = put(msg, n, sizeof(msg), sc_names[nr]);
	else
		n = put(msg, n, sizeof(msg), "?");
	n = put(msg, n, sizeof(msg), " (nr ");
	n = put_num(msg, n, sizeof(msg), (unsigned long)nr);
	if (si->si_arch != AUDIT_ARCH_X86_64) {
		n = put(msg, n, sizeof(msg), ", audit arch ");
		n = put_num(msg, n, sizeof(msg), si->si_arch);
	}
	n = put(msg, n, sizeof(msg), "); stopping (filter ");
	n = put(msg, n, sizeof(msg), sb_thread_kind ? sb_thread_kind : "inherited from its creator");
	n = put(msg, n, sizeof(msg), ")\n");
	if (write(STDERR_FILENO, msg, n) < 0)
		n = 0;
	_exit(UTIL_SANDBOX_EXIT_STATUS);
}

static void reporter_init(void)
{
	struct sigaction sa = { .sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO };
	int nr;

	for (nr = 0; nr < NR_NAMES; nr++) {
		char *s = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

		if (s)
			snprintf(sc_names[nr], sizeof(sc_names[nr]), "%s", s);
		free(s);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
}

/* ---- capabilities ---- */

static int drop_caps(uint64_t keep)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	uint64_t eff;
	int c, i;

	if (syscall(SYS_capget, &h, d))
		return -errno;
	eff = d[0].effective | (uint64_t)d[1].effective << 32;
	if (eff & CAP(CAP_SETPCAP))
		for (c = 0; c < 64; c++)
			if (!(keep & CAP(c)) && prctl(PR_CAPBSET_READ, c, 0, 0, 0) == 1)
				prctl(PR_CAPBSET_DROP, c, 0, 0, 0);
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);   /* EINVAL before 4.3 */
	for (i = 0; i < 2; i++) {
		uint32_t k = (uint32_t)(keep >> (32 * i));

		d[i].effective &= k;
		d[i].permitted &= k;
		d[i].inheritable = 0;
	}
	if (syscall(SYS_capset, &h, d))
		return -errno;
	return 0;
}

/* ---- filters ---- */

/* The bpf() commands a sandboxed thread may use (telemetry's batch of KVM
 * statistics, loaded before): on maps, programs and links it already holds,
 * never loading, attaching or opening by id. One rule per command either way
 * (a rule compares an argument once). */
static const unsigned bpf_use_cmds[] = {
	BPF_MAP_UPDATE_ELEM, BPF_MAP_DELETE_ELEM, BPF_PROG_TEST_RUN, BPF_ITER_CREATE,
};
#define BPF_CMD_LAST 63u      /* above the last command Linux has */

static bool bpf_cmd_used(unsigned cmd)
{
	for (size_t i = 0; i < sizeof(bpf_use_cmds) / sizeof(bpf_use_cmds[0]); i++)
		if (bpf_use_cmds[i] == cmd)
			return true;
	return false;
}

static int bpf_rule(scmp_filter_ctx ctx, uint32_t act, int nr, bool use)
{
	int rc = use ? 0 : seccomp_rule_add(ctx, act, nr, 1, SCMP_A0(SCMP_CMP_GT, BPF_CMD_LAST));

	for (unsigned cmd = 0; !rc && cmd <= BPF_CMD_LAST; cmd++)
		if (bpf_cmd_used(cmd) == use)
			rc = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0(SCMP_CMP_EQ, cmd));
	return rc;
}

static int add_rule(scmp_filter_ctx ctx, const struct sb_rule *r, uint32_t act)
{
	int nr = seccomp_syscall_resolve_name(r->name), rc;

	if (nr == __NR_SCMP_ERROR)
		return 0;                /* not a system call on this architecture */
	switch (r->cond) {
	case SB_ANY:
		return seccomp_rule_add(ctx, act, nr, 0);
	case SB_NOEXEC:
		return seccomp_rule_add(ctx, act, nr, 1, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	case SB_EMPTY_PATH:
		return seccomp_rule_add(ctx, act, nr, 1,
					SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH));
	case SB_RDONLY:
		return seccomp_rule_add(ctx, act, nr, 1,
					SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE | O_CREAT | O_TRUNC, 0));
	case SB_PAGES_QUERY:
		return seccomp_rule_add(ctx, act, nr, 2, SCMP_A0(SCMP_CMP_EQ, 0),
					SCMP_A3(SCMP_CMP_EQ, 0));
	case SB_OWN_PID:
		return seccomp_rule_add(ctx, act, nr, 1, SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)getpid()));
	case SB_NAME:
		rc = seccomp_rule_add(ctx, act, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
		return rc ? rc : seccomp_rule_add(ctx, act, nr, 1, SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME));
	case SB_THREAD:
		return seccomp_rule_add(ctx, act, nr, 1,
					SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	case SB_NOT_THREAD:
		return seccomp_rule_add(ctx, act, nr, 1, SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
	case SB_ENOSYS:
		return seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), nr, 0);
	case SB_IOC_TEL:
		rc = seccomp_rule_add(ctx, act, nr, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, 0x2400));
		if (rc)
			return rc;
		/* fall through */
	case SB_IOC_KVM:
		rc = seccomp_rule_add(ctx, act, nr, 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xff00, 0xae00));
		if (!rc)
			rc = seccomp_rule_add(ctx, act, nr, 1, SCMP_A1(SCMP_CMP_EQ, TCGETS));
		return rc ? rc : seccomp_rule_add(ctx, act, nr, 1, SCMP_A1(SCMP_CMP_EQ, TIOCGWINSZ));
	case SB_BPF_USE:
	case SB_BPF_OTHER:
		return bpf_rule(ctx, act, nr, r->cond == SB_BPF_USE);
	case SB_IOC_SOCK:
		rc = seccomp_rule_add(ctx, act, nr, 1, SCMP_A1(SCMP_CMP_EQ, FIONBIO));
		return rc ? rc : seccomp_rule_add(ctx, act, nr, 1, SCMP_A1(SCMP_CMP_EQ, FIONREAD));
	}
	return -EINVAL;
}

static int load_filter(const struct sb_kind *k, uint32_t deny, const char **failed)
{
	scmp_filter_ctx ctx = seccomp_init(k->deny_list ? SCMP_ACT_ALLOW : deny);
	const struct sb_rule *r;
	int i, rc;

	if (!ctx)
		return -ENOMEM;
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, deny);
	for (i = 0; !rc && i < SB_MAX_LISTS && k->lists[i]; i++)
		for (r = k->lists[i]; !rc && r->name; r++) {
			rc = add_rule(ctx, r, k->deny_list ? deny : SCMP_ACT_ALLOW);
			if (rc)
				*failed = r->name;
		}
	if (!rc)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int util_sandbox_enter(enum util_sandbox_kind kind)
{
	enum util_sandbox_mode mode = util_sandbox_get_mode();
	const struct sb_kind *k;
	const char *failed = NULL;
	char tname[17] = "";
	int rc;

	if ((unsigned)kind >= UTIL_SANDBOX_KIND_COUNT)
		return -EINVAL;
	if (mode == UTIL_SANDBOX_OFF)
		return 0;
#ifdef SB_LSAN
	if (kind == UTIL_SANDBOX_MAIN)
		return 0;
#endif
	k = &util_sandbox_kinds[kind];
	prctl(PR_GET_NAME, tname, 0, 0, 0);
	if (mode == UTIL_SANDBOX_KILL)
		pthread_once(&reporter_once, reporter_init);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
		rc = -errno;
		goto fail;
	}
	rc = drop_caps(k->keep_caps);
	if (rc)
		util_warn("seccomp: thread %s keeps its capabilities (capset: %s)", tname,
			  strerror(-rc));
	rc = load_filter(k, mode == UTIL_SANDBOX_KILL ? SCMP_ACT_TRAP : SCMP_ACT_LOG, &failed);
	if (rc)
		goto fail;
	sb_thread_kind = k->name;
	if (kind == UTIL_SANDBOX_MAIN)
		__atomic_store_n(&sb_main_entered, true, __ATOMIC_RELEASE);
	return 0;
fail:
	util_err("seccomp: cannot install the %s filter on thread %s%s%s%s: %s; the kernel "
		 "needs CONFIG_SECCOMP_FILTER (and SECCOMP_RET_LOG for --seccomp log), or run "
		 "with --seccomp off", k->name, tname, failed ? " (rule for " : "",
		 failed ? failed : "", failed ? ")" : "", strerror(-rc));
	return rc;
}

bool util_sandbox_active(void)
{
	return sb_thread_kind || __atomic_load_n(&sb_main_entered, __ATOMIC_ACQUIRE);
}
