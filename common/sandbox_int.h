/* common/sandbox internals: the rule and kind types shared by the mechanism
 * (sandbox.c) and the per-kind allow-lists (sandbox_kinds.c). */
#ifndef AVMM_SANDBOX_INT_H
#define AVMM_SANDBOX_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sandbox.h"

/* How a rule restricts its system call's arguments. */
enum cond {
	SB_ANY,          /* no restriction */
	SB_NOEXEC,       /* mmap/mprotect: arg2 without PROT_EXEC */
	SB_EMPTY_PATH,   /* newfstatat: only fstat of an fd (AT_EMPTY_PATH) */
	SB_RDONLY,       /* openat: no O_WRONLY, O_RDWR, O_CREAT, O_TRUNC */
	SB_OWN_PID,      /* tgkill: threads of this process only */
	SB_NAME,         /* prctl: PR_SET_NAME and PR_GET_NAME only */
	SB_THREAD,       /* clone: CLONE_THREAD set (threads, never processes) */
	SB_NOT_THREAD,   /* clone: CLONE_THREAD clear (main's deny-list) */
	SB_ENOSYS,       /* clone3: fails with ENOSYS, glibc falls back to clone */
	SB_IOC_KVM,      /* ioctl: KVM (0xAE..), TCGETS, TIOCGWINSZ */
	SB_IOC_TEL,      /* ioctl: SB_IOC_KVM plus perf ('$') */
	SB_IOC_SOCK,     /* ioctl: FIONBIO, FIONREAD */
	SB_PAGES_QUERY,  /* move_pages: query only (nodes = NULL), this process (pid 0) */
	SB_BPF_USE,      /* bpf: only the commands that use objects it holds (bpf_use_cmds) */
	SB_BPF_OTHER,    /* bpf: every other command (main's deny-list) */
};

struct sb_rule {
	const char *name;
	enum cond cond;
};

#define SB_MAX_LISTS 6

struct sb_kind {
	const char *name;
	bool deny_list;                       /* default allow (main) */
	uint64_t keep_caps;                   /* bit N: capability N */
	const struct sb_rule *lists[SB_MAX_LISTS];   /* each ends with a NULL name */
};

extern const struct sb_kind util_sandbox_kinds[UTIL_SANDBOX_KIND_COUNT];

#endif
