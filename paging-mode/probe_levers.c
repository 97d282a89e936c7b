/* paging-mode probe: each lever available or not, with a reason an operator
 * can act on (pure: from what the probe read). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "paging-mode/probe_int.h"

static void set(struct pgmode_lever *l, bool avail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set(struct pgmode_lever *l, bool avail, const char *fmt, ...)
{
	va_list ap;

	l->available = avail;
	va_start(ap, fmt);
	vsnprintf(l->why, sizeof(l->why), fmt, ap);
	va_end(ap);
}

static const char *module_of(enum pgmode_kvm k)
{
	return k == PGMODE_KVM_INTEL ? "kvm_intel" : k == PGMODE_KVM_AMD ? "kvm_amd" : "kvm_pvm";
}

static void nested_levers(struct pgmode_host *h, const struct pgmode_probe_facts *f)
{
	const char *mod = module_of(h->kvm), *par = h->kvm == PGMODE_KVM_AMD ? "npt" : "ept";
	int v = h->kvm == PGMODE_KVM_AMD ? h->npt : h->ept;

	if (h->kvm == PGMODE_KVM_OTHER) {
		set(&h->nested, false, "no KVM vendor module (kvm_intel, kvm_amd, kvm_pvm) under "
		    "/sys/module: load one (modprobe kvm_intel or kvm_amd) on a host with VT-x/AMD-V");
		set(&h->host_switch, false, "no kvm_intel/kvm_amd loaded: nothing to switch");
		return;
	}
	if (h->kvm == PGMODE_KVM_PVM) {
		set(&h->nested, false, "kvm_pvm runs guests with shadow paging only (no ept/npt "
		    "parameter); nested paging needs kvm_intel/kvm_amd on a host with VT-x/AMD-V");
		set(&h->host_switch, false, "kvm_pvm has no ept/npt parameter: the paging mode of "
		    "this host cannot be switched");
		return;
	}
	if (v < 0) {
		set(&h->nested, false, "%s has no %s parameter file "
		    "(/sys/module/%s/parameters/%s): cannot tell the mode", mod, par, mod, par);
		set(&h->host_switch, false, "%s has no %s parameter", mod, par);
		return;
	}
	if (v)
		set(&h->nested, true, "%s %s=Y: guests run with nested paging (2-D page walks)",
		    mod, par);
	else
		set(&h->nested, false, "%s is loaded with %s=N (shadow paging): `avmm paging "
		    "host-mode nested` (root, no VM running) reloads it with %s=1", mod, par, par);
	if (f->root)
		set(&h->host_switch, true, "reloading %s with %s=0|1 when no VM runs: `avmm paging "
		    "host-mode nested|shadow`", mod, par);
	else
		set(&h->host_switch, false, "reloading %s needs root: run `avmm paging host-mode` "
		    "as root", mod);
}

static void thp_levers(struct pgmode_host *h, const struct pgmode_probe_facts *f)
{
	char why[PGMODE_WHY];

	if (!h->thp_enabled[0])
		set(&h->thp, false, "no /sys/kernel/mm/transparent_hugepage/enabled: the kernel "
		    "has no transparent huge pages (CONFIG_TRANSPARENT_HUGEPAGE)");
	else if (!strcmp(h->thp_enabled, "never"))
		set(&h->thp, false, "THP is enabled=[never]: echo madvise > "
		    "/sys/kernel/mm/transparent_hugepage/enabled (root) lets avmm advise guest RAM");
	else
		set(&h->thp, true, "THP enabled=[%s] defrag=[%s]: guest RAM advised MADV_HUGEPAGE "
		    "faults in as 2 MiB pages", h->thp_enabled,
		    h->thp_defrag[0] ? h->thp_defrag : "?");
	if (!f->syscalls_tried) {
		set(&h->collapse, false, "not tried (probe without system calls, e.g. --fsroot "
		    "on a fake tree)");
		return;
	}
	pgmode_collapse_why(f->collapse_err, h->thp_enabled, why, sizeof(why));
	set(&h->collapse, f->collapse_err == 0, "%s", why);
}

static void pool_lever(struct pgmode_lever *l, const struct pgmode_host *h, uint64_t kib,
		       const char *name, const char *reserve)
{
	for (int i = 0; i < h->nr_pools; i++) {
		const struct pgmode_hugetlb_pool *p = &h->pool[i];

		if (p->page_kib != kib)
			continue;
		if (p->total)
			set(l, true, "%llu pages of %s reserved, %llu free", (unsigned long long)p->total,
			    name, (unsigned long long)p->free);
		else
			set(l, false, "no %s pages reserved: %s (root)", name, reserve);
		return;
	}
	set(l, false, "this kernel or CPU has no %s hugetlb pages "
	    "(no /sys/kernel/mm/hugepages/hugepages-%llukB)", name, (unsigned long long)kib);
}

static void split_lever(struct pgmode_host *h, const struct pgmode_probe_facts *f)
{
	static const char *const later = "without it, demotion relies on MADV_NOHUGEPAGE and the "
		"kernel splitting pages lazily";

	switch (f->split) {
	case PGMODE_SPLIT_OK:
		set(&h->split, true, "/sys/kernel/debug/split_huge_pages: demotes guest RAM to "
		    "4 KiB at once");
		break;
	case PGMODE_SPLIT_NO_DEBUGFS:
		set(&h->split, false, "debugfs is not mounted: mount -t debugfs none "
		    "/sys/kernel/debug (root); %s", later);
		break;
	case PGMODE_SPLIT_NO_FILE:
		set(&h->split, false, "debugfs has no split_huge_pages (kernel without "
		    "CONFIG_TRANSPARENT_HUGEPAGE or debugfs restricted); %s", later);
		break;
	case PGMODE_SPLIT_NOT_ROOT:
		set(&h->split, false, "/sys/kernel/debug/split_huge_pages is root-only: run avmm "
		    "as root; %s", later);
		break;
	}
}

static void stats_lever(struct pgmode_host *h, const struct pgmode_probe_facts *f)
{
	if (f->syscalls_tried && f->kvm_open_err)
		set(&h->kvm_page_stats, false, "cannot open /dev/kvm: %s: run as root or add the "
		    "user to the kvm group", strerror(f->kvm_open_err));
	else if (h->kvm == PGMODE_KVM_PVM)
		set(&h->kvm_page_stats, false, "kvm_pvm's pages_4k/pages_2m/pages_1g VM statistics "
		    "stay 0 whatever backs guest RAM: avmm reads page sizes from /proc/PID/smaps");
	else if (h->kvm == PGMODE_KVM_OTHER)
		set(&h->kvm_page_stats, false, "no KVM vendor module loaded");
	else if (h->cap_binary_stats == 0)
		set(&h->kvm_page_stats, false, "KVM has no binary statistics (Linux < 5.14): "
		    "avmm reads page sizes from /proc/PID/smaps");
	else
		set(&h->kvm_page_stats, true, "KVM's pages_4k/pages_2m/pages_1g count the sizes "
		    "of its own guest mappings (%s)",
		    h->mode == PGMODE_MODE_NESTED ? "EPT/NPT entries" : "shadow entries");
}

void pgmode_probe_levers(struct pgmode_host *h, const struct pgmode_probe_facts *f)
{
	nested_levers(h, f);
	thp_levers(h, f);
	pool_lever(&h->hugetlb_2m, h, 2048, "2 MiB", "echo N > "
		   "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages");
	pool_lever(&h->hugetlb_1g, h, 1048576, "1 GiB", "boot with hugepagesz=1G hugepages=N, "
		   "or echo N > /sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages");
	split_lever(h, f);
	stats_lever(h, f);
}
