/* `avmm paging`: the host's paging modes and levers, a running VM's backing
 * (--name), `paging calibrate` and `paging host-mode nested|shadow`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cli.h"
#include "common/util.h"
#include "paging-mode/pgmode.h"

static void paging_usage(FILE *f)
{
	fprintf(f,
		"usage: avmm paging [--fsroot DIR] [--json]\n"
		"       avmm paging --name VM [--socket PATH] [--json]\n"
		"       avmm paging calibrate [--guest PATH] [--ops N] [--reps N] [--json]\n"
		"       avmm paging host-mode nested|shadow [--fsroot DIR]\n\n"
		"Without a VM: the host's paging modes and levers: the KVM flavour (kvm_intel,\n"
		"kvm_amd, kvm_pvm) and its parameters (ept, npt, tdp_mmu, nx_huge_pages), the\n"
		"paging mode a VM started now gets, THP settings, hugetlb pools, whether\n"
		"MADV_COLLAPSE works (tried on a scratch range), KVM capabilities, and each\n"
		"lever available or not with the reason.\n"
		"With --name: how the running VM's guest RAM is backed (share of resident RAM in\n"
		"4 KiB / 2 MiB / 1 GiB pages), the promotion worker and the cost model's estimate.\n\n"
		"options:\n"
		"  --fsroot DIR    read sysfs/procfs under DIR (fake trees; no system calls then)\n"
		"  --json          one JSON object instead of the table\n"
		"  --name VM       ask the running VM over its control socket\n"
		"  --socket PATH   that socket (default /run/avmm/VM.sock)\n"
		"  -h, --help      this help\n\n"
		"calibrate: measures the cost of one paging exit on this host with the\n"
		"page-table-churn guest and stores it for the cost model (see\n"
		"`avmm paging calibrate --help`).\n"
		"host-mode: reloads kvm_intel/kvm_amd with ept=/npt= (root, no VM running; see\n"
		"`avmm paging host-mode --help`).\n\n"
		"exit status: 0 done, 1 the VM or host refused or failed, 2 bad arguments.\n");
}

static json_t *tri(int v)
{
	return v < 0 ? json_null() : json_boolean(v);
}

static json_t *lever_json(const struct pgmode_lever *l)
{
	return json_pack("{s:b,s:s}", "available", l->available, "why", l->why);
}

#define LEVERS(X) X(nested) X(host_switch) X(thp) X(collapse) X(hugetlb_2m) X(hugetlb_1g) \
	X(split) X(kvm_page_stats)

static int print_json(const struct pgmode_host *h)
{
	json_t *o = json_object(), *pools = json_array(), *lv = json_object();
	char *s;

	json_object_set_new(o, "kvm", json_string(pgmode_kvm_name(h->kvm)));
	json_object_set_new(o, "mode", json_string(pgmode_mode_name(h->mode)));
	json_object_set_new(o, "ept", tri(h->ept));
	json_object_set_new(o, "npt", tri(h->npt));
	json_object_set_new(o, "tdp_mmu", tri(h->tdp_mmu));
	json_object_set_new(o, "nx_huge_pages",
			    h->nx_huge_pages[0] ? json_string(h->nx_huge_pages) : json_null());
	json_object_set_new(o, "thp", json_pack("{s:o,s:o,s:o,s:o}",
		"enabled", h->thp_enabled[0] ? json_string(h->thp_enabled) : json_null(),
		"defrag", h->thp_defrag[0] ? json_string(h->thp_defrag) : json_null(),
		"khugepaged_defrag", tri(h->khugepaged_defrag),
		"khugepaged_pages_to_scan", h->khugepaged_pages_to_scan ?
			json_integer((json_int_t)h->khugepaged_pages_to_scan) : json_null()));
	for (int i = 0; i < h->nr_pools; i++)
		json_array_append_new(pools, json_pack("{s:I,s:I,s:I}",
			"page_kib", (json_int_t)h->pool[i].page_kib,
			"total", (json_int_t)h->pool[i].total, "free", (json_int_t)h->pool[i].free));
	json_object_set_new(o, "hugetlb", pools);
	json_object_set_new(o, "caps", json_pack("{s:o,s:o,s:o}",
		"dirty_log_ring", tri(h->cap_dirty_log_ring),
		"binary_stats", tri(h->cap_binary_stats), "sync_mmu", tri(h->cap_sync_mmu)));
#define LEVER_JSON(n) json_object_set_new(lv, #n, lever_json(&h->n));
	LEVERS(LEVER_JSON)
	json_object_set_new(o, "levers", lv);
	s = json_dumps(o, JSON_INDENT(2));
	json_decref(o);
	if (!s)
		return 1;
	printf("%s\n", s);
	free(s);
	return 0;
}

static const char *flag_yn(int v)
{
	return v < 0 ? "-" : v ? "Y" : "N";
}

static const char *yes(int v)
{
	return v < 0 ? "not checked" : v ? "yes" : "no";
}

static void print_table(const struct pgmode_host *h)
{
	printf("KVM         %s    mode: %s (what a VM started now gets)\n",
	       pgmode_kvm_name(h->kvm), pgmode_mode_name(h->mode));
	printf("parameters  ept %s  npt %s  tdp_mmu %s  nx_huge_pages %s\n", flag_yn(h->ept),
	       flag_yn(h->npt), flag_yn(h->tdp_mmu), h->nx_huge_pages[0] ? h->nx_huge_pages : "-");
	printf("THP         enabled [%s]  defrag [%s]  khugepaged defrag %s, pages_to_scan %llu\n",
	       h->thp_enabled[0] ? h->thp_enabled : "-", h->thp_defrag[0] ? h->thp_defrag : "-",
	       flag_yn(h->khugepaged_defrag), (unsigned long long)h->khugepaged_pages_to_scan);
	printf("hugetlb    ");
	for (int i = 0; i < h->nr_pools; i++)
		printf("%s %llu %s pages: %llu reserved, %llu free", i ? ";" : "",
		       (unsigned long long)(h->pool[i].page_kib >= (1u << 20) ?
			h->pool[i].page_kib >> 20 : h->pool[i].page_kib >= 1024 ?
			h->pool[i].page_kib >> 10 : h->pool[i].page_kib),
		       h->pool[i].page_kib >= (1u << 20) ? "GiB" :
		       h->pool[i].page_kib >= 1024 ? "MiB" : "KiB",
		       (unsigned long long)h->pool[i].total, (unsigned long long)h->pool[i].free);
	printf("%s\n", h->nr_pools ? "" : " none");
	printf("KVM caps    dirty-log ring %s, binary stats %s, sync MMU %s\n\n",
	       yes(h->cap_dirty_log_ring), yes(h->cap_binary_stats), yes(h->cap_sync_mmu));
	printf("%-15s %-10s %s\n", "lever", "available", "why");
#define LEVER_ROW(n) printf("%-15s %-10s %s\n", #n, h->n.available ? "yes" : "no", h->n.why);
	LEVERS(LEVER_ROW)
}

static int host_mode(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "fsroot", required_argument, NULL, 'r' }, { "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *fsroot = NULL;
	enum pgmode_mode m;
	char why[512];
	int c, rc;

	while ((c = getopt_long(argc, argv, "+h", lo, NULL)) != -1) {
		if (c == 'r') {
			fsroot = optarg;
			continue;
		}
		FILE *f = c == 'h' ? stdout : stderr;

		fprintf(f, "usage: avmm paging host-mode nested|shadow [--fsroot DIR]\n\n"
			"Reloads kvm_intel (ept=1|0) or kvm_amd (npt=1|0) so that VMs started next run\n"
			"with nested (EPT/NPT) or shadow paging. Needs root and no VM running (it names\n"
			"the processes holding a KVM VM); refused on kvm_pvm and hosts without the\n"
			"parameter. Not persistent across reboot: add 'options kvm_intel ept=0' (or\n"
			"kvm_amd npt=0) to /etc/modprobe.d/ for that.\n");
		return c == 'h' ? 0 : 2;
	}
	if (optind != argc - 1 || (strcmp(argv[optind], "nested") && strcmp(argv[optind], "shadow"))) {
		util_err("paging host-mode: expected nested or shadow%s%s", optind < argc ? ", not " : "",
			 optind < argc ? argv[optind] : "");
		return 2;
	}
	m = strcmp(argv[optind], "nested") ? PGMODE_MODE_SHADOW : PGMODE_MODE_NESTED;
	rc = pgmode_host_mode_set(fsroot, m, why, sizeof(why));
	if (rc) {
		util_err("paging host-mode %s: %s", argv[optind], why);
		return 1;
	}
	printf("%s\n", why);
	return 0;
}

int cli_paging(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "fsroot", required_argument, NULL, 'r' }, { "json", no_argument, NULL, 'j' },
		{ "name", required_argument, NULL, 'n' }, { "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { 0 },
	};
	const char *fsroot = NULL, *name = NULL, *sock = NULL;
	struct pgmode_host h;
	bool json = false;
	int c;

	if (argc > 1 && !strcmp(argv[1], "calibrate"))
		return cli_paging_calibrate(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "host-mode"))
		return host_mode(argc - 1, argv + 1);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': fsroot = optarg; break;
		case 'j': json = true; break;
		case 'n': name = optarg; break;
		case 's': sock = optarg; break;
		case 'h': paging_usage(stdout); return 0;
		default:
			util_err("paging: unknown option; run 'avmm paging --help' for the options");
			return 2;
		}
	}
	if (optind < argc) {
		util_err("paging: unexpected '%s' (forms: paging, paging --name VM, paging calibrate, "
			 "paging host-mode nested|shadow)", argv[optind]);
		return 2;
	}
	if ((name || sock) && fsroot) {
		util_err("paging: --fsroot is for the host view; leave it out with --name/--socket");
		return 2;
	}
	if (name || sock)
		return cli_paging_vm(name, sock, json);
	pgmode_probe(fsroot, fsroot && strcmp(fsroot, "/") ? PGMODE_PROBE_NO_SYSCALLS : 0, &h);
	if (json)
		return print_json(&h);
	print_table(&h);
	return 0;
}
