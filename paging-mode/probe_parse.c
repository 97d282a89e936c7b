/* paging-mode probe: parsing sysfs text and the pure decisions (flavour,
 * mode, what a MADV_COLLAPSE errno means). Tested on their own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "paging-mode/probe_int.h"

int pgmode_parse_bracket(const char *buf, char *out, size_t len)
{
	const char *a = strchr(buf, '['), *b;
	size_t n;

	if (!a || !(b = strchr(a + 1, ']')) || b == a + 1)
		return -EINVAL;
	n = (size_t)(b - a - 1);
	if (n >= len || memchr(a + 1, ' ', n))
		return -EINVAL;
	memcpy(out, a + 1, n);
	out[n] = '\0';
	return 0;
}

int pgmode_parse_yn(const char *buf)
{
	while (*buf == ' ' || *buf == '\t')
		buf++;
	if ((buf[0] == 'Y' || buf[0] == 'y' || buf[0] == '1') &&
	    (buf[1] == '\0' || buf[1] == '\n'))
		return 1;
	if ((buf[0] == 'N' || buf[0] == 'n' || buf[0] == '0') &&
	    (buf[1] == '\0' || buf[1] == '\n'))
		return 0;
	return -EINVAL;
}

int pgmode_parse_pool_dir(const char *name, uint64_t *page_kib)
{
	static const char pre[] = "hugepages-";
	char *end;
	unsigned long long v;

	if (strncmp(name, pre, sizeof(pre) - 1))
		return -EINVAL;
	name += sizeof(pre) - 1;
	if (*name < '0' || *name > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(name, &end, 10);
	if (errno || v == 0 || strcmp(end, "kB"))
		return -EINVAL;
	*page_kib = v;
	return 0;
}

enum pgmode_kvm pgmode_kvm_from_modules(bool intel, bool amd, bool pvm)
{
	/* KVM takes one vendor module at a time; kvm_pvm first because it may
	 * sit beside an idle kvm_intel/kvm_amd (PVM runs on any x86 host). */
	if (pvm)
		return PGMODE_KVM_PVM;
	if (intel)
		return PGMODE_KVM_INTEL;
	if (amd)
		return PGMODE_KVM_AMD;
	return PGMODE_KVM_OTHER;
}

enum pgmode_mode pgmode_mode_from_params(enum pgmode_kvm k, int ept, int npt)
{
	int v = k == PGMODE_KVM_INTEL ? ept : k == PGMODE_KVM_AMD ? npt : -1;

	if (k == PGMODE_KVM_PVM)
		return PGMODE_MODE_SHADOW;
	if (v < 0)
		return PGMODE_MODE_UNKNOWN;
	return v ? PGMODE_MODE_NESTED : PGMODE_MODE_SHADOW;
}

void pgmode_collapse_why(int err, const char *thp_enabled, char *out, size_t len)
{
	const char *never = !strcmp(thp_enabled, "never") ?
		" (THP enabled=[never] here)" : "";

	switch (err) {
	case 0:
		snprintf(out, len, "MADV_COLLAPSE promoted a 2 MiB scratch range after "
			 "MADV_HUGEPAGE: guest RAM can move to 2 MiB pages while the guest runs");
		break;
	case EINVAL:
		snprintf(out, len, "MADV_COLLAPSE: EINVAL: the kernel refuses it here: Linux "
			 "older than 6.1, THP not built in or disabled for this process, or "
			 "the range is MADV_NOHUGEPAGE%s", never);
		break;
	case EAGAIN:
		snprintf(out, len, "MADV_COLLAPSE: EAGAIN: the kernel could not lock or allocate "
			 "for the collapse just now; it is transient, probe again");
		break;
	case ENOMEM:
		snprintf(out, len, "MADV_COLLAPSE: ENOMEM: no free 2 MiB page (memory full or "
			 "fragmented): free memory or echo 1 > /proc/sys/vm/compact_memory");
		break;
	case EPERM:
		snprintf(out, len, "MADV_COLLAPSE: EPERM: not permitted for this process "
			 "(a seccomp filter or LSM): allow madvise");
		break;
	default:
		snprintf(out, len, "MADV_COLLAPSE: %s (errno %d)", strerror(err), err);
	}
}
