/* adapt: the simulator's workload file (see adapt/sim.h): [workload],
 * [phase.N] per-vCPU phases in file order, [noise.N] host processes,
 * [vm.N] background VMs arriving and leaving. */
#include "adapt/sim_int.h"
#include "paging-mode/pgmode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wctx {
	struct adapt_sim_workload *w;
	char last[64];
	int kind;     /* 1 phase, 2 noise, 3 vm */
};

static int parse_set(const char *v, uint64_t *set, char *msg, size_t len)
{
	const char *p = v;

	if (!strcmp(v, "all")) {
		*set = ~0ull;
		return 0;
	}
	*set = 0;
	while (*p) {
		char *end;
		long a = strtol(p, &end, 10), b = a;

		if (end == p)
			goto bad;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p)
				goto bad;
		}
		if (a < 0 || b < a || b >= ADAPT_MAX_VCPUS)
			goto bad;
		for (long i = a; i <= b; i++)
			*set |= 1ull << i;
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			goto bad;
	}
	return *set ? 0 : -EINVAL;
bad:
	snprintf(msg, len, "'%s': write all or a list such as 0-3,8 (0..%d)", v, ADAPT_MAX_VCPUS - 1);
	return -EINVAL;
}

static int new_section(struct wctx *c, const char *sec, char *msg, size_t len)
{
	struct adapt_sim_workload *w = c->w;

	snprintf(c->last, sizeof(c->last), "%s", sec);
	if (!strncmp(sec, "phase.", 6)) {
		if (w->nr_phases >= SIM_MAX_PHASES)
			goto full;
		c->kind = 1;
		w->ph[w->nr_phases++] = (struct adapt_sim_phase){ .vcpus = ~0ull, .dur_s = 1e9, .ips = 1e9,
			.llc_mpki = 1, .wss_mib = 1, .mlp = 1 };
	} else if (!strncmp(sec, "noise.", 6)) {
		if (w->nr_noise >= SIM_MAX_NOISE)
			goto full;
		c->kind = 2;
		w->noise[w->nr_noise++] = (struct adapt_sim_noise){ .threads = 1 };
	} else if (!strncmp(sec, "vm.", 3)) {
		if (w->nr_bgvms >= SIM_MAX_BGVMS)
			goto full;
		c->kind = 3;
		w->bg[w->nr_bgvms++] = (struct adapt_sim_bgvm){ .vcpus = 1, .ips = 1e9, .llc_mpki = 1,
			.wss_mib = 1, .mlp = 1 };
	} else if (!strcmp(sec, "workload")) {
		c->kind = 0;
	} else {
		snprintf(msg, len, "unknown section (workload, phase.N, noise.N, vm.N)");
		return -EINVAL;
	}
	return 0;
full:
	snprintf(msg, len, "too many sections of this kind");
	return -ENOSPC;
}

static int on_key(void *arg, const char *sec, const char *k, const char *v, char *msg, size_t len)
{
	struct wctx *c = arg;
	struct adapt_sim_workload *w = c->w;
	double d;
	int rc;

	if (strcmp(sec, c->last) && (rc = new_section(c, sec, msg, len)))
		return rc;
#define NUM(name, lo, hi, dst) if (!strcmp(k, name)) { rc = sim_num(v, lo, hi, &d, msg, len); if (!rc) dst = d; return rc; }
	if (c->kind == 0) {
		if (!strcmp(k, "cycle"))
			return sim_bool(v, &w->cycle, msg, len);
		if (!strcmp(k, "paging_mode") && (!strcmp(v, "shadow") || !strcmp(v, "nested"))) {
			w->paging_mode = !strcmp(v, "nested") ? ADAPT_PG_NESTED : ADAPT_PG_SHADOW;
			return 0;
		}
		if (!strcmp(k, "backing") && (!strcmp(v, "4k") || !strcmp(v, "2m"))) {
			w->backing = !strcmp(v, "2m") ? PGMODE_PAGE_2M : PGMODE_PAGE_4K;
			return 0;
		}
	} else if (c->kind == 1) {
		struct adapt_sim_phase *p = &w->ph[w->nr_phases - 1];

		if (!strcmp(k, "vcpus"))
			return parse_set(v, &p->vcpus, msg, len);
		NUM("dur_s", 1e-3, 1e9, p->dur_s);
		NUM("ips", 1, 1e11, p->ips);
		NUM("llc_mpki", 0, 1000, p->llc_mpki);
		NUM("wss_mib", 0, 1 << 24, p->wss_mib);
		NUM("mlp", 1, 64, p->mlp);
		NUM("pt_updates_per_s", 0, 1e8, p->pt_updates_per_s);
		NUM("tlb_mpki", 0, 1000, p->tlb_mpki);
	} else if (c->kind == 2) {
		struct adapt_sim_noise *n = &w->noise[w->nr_noise - 1];

		if (!strcmp(k, "kind") && (!strcmp(v, "cpu") || !strcmp(v, "memory"))) {
			n->kind = !strcmp(v, "memory");
			return 0;
		}
		if (!strcmp(k, "cpus")) {
			uint64_t set;

			if ((rc = parse_set(v, &set, msg, len)))
				return rc;
			n->nr_cpus = 0;
			for (int i = 0; i < 64 && n->nr_cpus < 8; i++)
				if (set >> i & 1)
					n->cpus[n->nr_cpus++] = i;
			return 0;
		}
		NUM("threads", 1, 8, n->threads);
		NUM("start_s", 0, 1e9, n->start_s);
		NUM("stop_s", 0, 1e9, n->stop_s);
	} else {
		struct adapt_sim_bgvm *b = &w->bg[w->nr_bgvms - 1];

		NUM("vcpus", 1, 16, b->vcpus);
		NUM("arrive_s", 0, 1e9, b->arrive_s);
		NUM("depart_s", 0, 1e9, b->depart_s);
		NUM("ips", 1, 1e11, b->ips);
		NUM("llc_mpki", 0, 1000, b->llc_mpki);
		NUM("wss_mib", 0, 1 << 24, b->wss_mib);
		NUM("mlp", 1, 64, b->mlp);
	}
#undef NUM
	snprintf(msg, len, "unknown key or bad value '%s' (see adapt/sim.h)", v);
	return -EINVAL;
}

int adapt_sim_workload_parse(const char *text, const char *origin, struct adapt_sim_workload *w,
			     char *err, size_t err_len)
{
	struct adapt_sim_workload *tmp = calloc(1, sizeof(*tmp));
	struct wctx c = { .w = tmp };
	int rc;

	if (!tmp)
		return -ENOMEM;
	tmp->paging_mode = ADAPT_PG_UNKNOWN;
	snprintf(tmp->path, sizeof(tmp->path), "%s", origin);
	rc = sim_ini_each(text, origin, on_key, &c, err, err_len);
	if (!rc && !tmp->nr_phases) {
		snprintf(err, err_len, "%s: no [phase.N]: give the vCPUs at least one phase", origin);
		rc = -EINVAL;
	}
	if (!rc)
		*w = *tmp;
	free(tmp);
	return rc;
}

int adapt_sim_workload_load(const char *path, struct adapt_sim_workload *w, char *err, size_t err_len)
{
	char *text;
	int rc = sim_read_file(path, &text, err, err_len);

	if (rc)
		return rc;
	rc = adapt_sim_workload_parse(text, path, w, err, err_len);
	free(text);
	return rc;
}

void adapt_sim_workload_for_guest(const char *guest, struct adapt_sim_workload *w, char *why, size_t why_len)
{
	const char *base = strrchr(guest, '/');
	struct adapt_sim_phase *p = &w->ph[0];

	base = base ? base + 1 : guest;
	memset(w, 0, sizeof(*w));
	w->paging_mode = ADAPT_PG_UNKNOWN;
	w->nr_phases = 1;
	*p = (struct adapt_sim_phase){ .vcpus = ~0ull, .dur_s = 1e9, .ips = 2e9, .llc_mpki = 0.2,
		.wss_mib = 0.5, .mlp = 1, .pt_updates_per_s = 10, .tlb_mpki = 0.05 };
	if (!strncmp(base, "compute", 7)) {
		p->vcpus = 1;
		snprintf(why, why_len, "core-bound (guest %s) on vCPU 0: ips 2e9, 0.2 LLC MPKI, 0.5 MiB", base);
	} else if (!strncmp(base, "stream", 6)) {
		p->vcpus = 1;
		p->ips = 2.5e9;
		p->llc_mpki = 25;
		p->wss_mib = 64;
		p->mlp = 6;
		p->tlb_mpki = 1;
		snprintf(why, why_len, "memory-bound (guest %s) on vCPU 0: 25 LLC MPKI, 64 MiB, MLP 6", base);
	} else {
		p->llc_mpki = 5;
		p->wss_mib = 16;
		p->mlp = 2;
		snprintf(why, why_len, "mixed (guest %s): 5 LLC MPKI, 16 MiB", base);
	}
	snprintf(w->path, sizeof(w->path), "(default for %s)", base);
}
