/* Trace files: one record per tick, as JSON lines or CSV. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct tel_trace {
	FILE *f;
	bool csv;
	char *path, *run_id, *profile, *vm;
	int nr_vcpus;
	char pending[1024];      /* CSV: decisions since the last row */
};

static const char *const vcpu_cols[] = {
	"tid", "pcpu", "cpu_time_ns", "run_delay_ns", "exits", "io_exits", "mmio_exits",
	"halt_exits", "pf_taken", "pf_fixed", "pf_emulate", "tlb_flush", "invlpg", "cpu_pct",
	"run_delay_pct", "exits_per_s", "paging_exits_per_s", "hw_valid", "cycles",
	"instructions", "llc_misses", "dtlb_misses", "walk_cycles", "ipc", "multiplex_ratio",
};

static void csv_header(struct tel_trace *tr)
{
	fputs("run_id,profile,vm,seq,t_ns,wall_ns,time,dt_ns,tel_cpu_ns,tel_sample_ns,energy_up,"
	      "energy_estimated,energy_uj,power_w,power_cap_w,vm_energy_uj,mmu_pte_write,mmu_shadow_zapped,"
	      "remote_tlb_flush,pages_4k,pages_2m,pages_1g,guest_ram_valid,guest_ram_bytes,"
	      "guest_rss_bytes,guest_bytes_4k,guest_bytes_2m,guest_bytes_1g,paging_target,"
	      "paging_busy,paging_ranges_total,paging_ranges_done,paging_collapse_ok,"
	      "paging_collapse_errors,mem_available_pct", tr->f);
	for (int i = 0; i < TEL_SRC_COUNT; i++)
		fprintf(tr->f, ",source_%s_up", tel_source_name(i)); /* energy_up is the reading's */
	for (int v = 0; v < tr->nr_vcpus; v++)
		for (size_t k = 0; k < UTIL_ARRAY_SIZE(vcpu_cols); k++)
			fprintf(tr->f, ",vcpu%d_%s", v, vcpu_cols[k]);
	fputs(tel_bankmap_csv_cols, tr->f);
	fputs(",decisions\n", tr->f);
}

/* RFC 4180 quoting for free text. */
static void csv_text(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s == '\n' ? ' ' : *s, f);
	}
	fputc('"', f);
}

int tel_trace_open(const char *path, const struct tel_config *c, int nr_vcpus,
		   struct tel_trace **out)
{
	struct tel_trace *tr;
	size_t n = path ? strlen(path) : 0;
	bool csv = n > 4 && !strcmp(path + n - 4, ".csv");
	char why[512];
	int err;

	if (!csv && !(n > 6 && !strcmp(path + n - 6, ".jsonl"))) {
		util_err("trace file '%s': the name must end in .jsonl or .csv", path ? path : "");
		return -EINVAL;
	}
	tr = calloc(1, sizeof(*tr));
	if (!tr)
		return -ENOMEM;
	tr->csv = csv;
	tr->nr_vcpus = nr_vcpus;
	tr->path = strdup(path);
	tr->run_id = strdup(c->run_id);
	tr->profile = strdup(c->profile_name);
	tr->vm = strdup(c->vm_name);
	tr->f = util_fopen_output(path, why, sizeof(why));
	if (!tr->f) {
		err = -errno;
		util_err("trace file: %s%s", why, err == -ENOENT || err == -EACCES ?
			 " (check the folder exists and is writable)" : "");
		tel_trace_close(tr);
		return err;
	}
	if (csv)
		csv_header(tr);
	fflush(tr->f);
	*out = tr;
	return 0;
}

/* Guest RAM by page size and the worker's progress; empty cells where
 * unknown (no live actuator, smaps not read, MemAvailable unknown). */
static void csv_paging(FILE *f, const struct tel_paging_sample *p)
{
	static const char *const targets[] = { "keep", "4k", "2m", "1g" };

	if (!p->ram_bytes) {
		fputs(",,,,,,,,,,,,,", f);
		return;
	}
	fprintf(f, ",%d,%llu,", p->valid, (unsigned long long)p->ram_bytes);
	if (p->valid)
		fprintf(f, "%llu,%llu,%llu,%llu", (unsigned long long)p->rss_bytes,
			(unsigned long long)p->bytes_4k, (unsigned long long)p->bytes_2m,
			(unsigned long long)p->bytes_1g);
	else
		fputs(",,,", f);
	fprintf(f, ",%s,%d,%llu,%llu,%llu,%llu,", (unsigned)p->target < 4 ? targets[p->target] : "keep",
		p->busy, (unsigned long long)p->ranges_total, (unsigned long long)p->ranges_done,
		(unsigned long long)p->collapse_ok, (unsigned long long)p->collapse_errors);
	if (p->mem_available_pct >= 0)
		fprintf(f, "%.2f", p->mem_available_pct);
}

static void csv_sample(struct tel_trace *tr, const struct tel_sample *s)
{
	FILE *f = tr->f;
	const struct tel_energy_sample *e = &s->energy;
	char iso[TEL_ISO8601_LEN];

	csv_text(f, tr->run_id);
	fputc(',', f);
	csv_text(f, tr->profile);
	fputc(',', f);
	csv_text(f, tr->vm);
	if (tel_iso8601(s->wall_ns, iso, sizeof(iso)))
		iso[0] = 0;
	fprintf(f, ",%llu,%llu,%llu,%s,%llu,%llu,%llu,%d", (unsigned long long)s->seq,
		(unsigned long long)s->t_ns, (unsigned long long)s->wall_ns, iso,
		(unsigned long long)s->dt_ns,
		(unsigned long long)s->tel_cpu_ns, (unsigned long long)s->tel_sample_ns, e->up);
	if (e->up) {
		fprintf(f, ",%d,%llu,", e->estimated, (unsigned long long)e->energy_uj);
		if (!isnan(e->power_w))
			fprintf(f, "%.6f", e->power_w);
		fprintf(f, ",%.6f,", e->power_cap_w);
		if (e->attributed)
			fprintf(f, "%llu", (unsigned long long)e->vm_energy_uj);
	} else {
		fputs(",,,,,", f);
	}
	fprintf(f, ",%llu,%llu,%llu,%llu,%llu,%llu", (unsigned long long)s->vm.mmu_pte_write,
		(unsigned long long)s->vm.mmu_shadow_zapped,
		(unsigned long long)s->vm.remote_tlb_flush, (unsigned long long)s->vm.pages_4k,
		(unsigned long long)s->vm.pages_2m, (unsigned long long)s->vm.pages_1g);
	csv_paging(f, &s->paging);
	for (int i = 0; i < TEL_SRC_COUNT; i++)
		fprintf(f, ",%d", s->src[i].up);
	for (int i = 0; i < tr->nr_vcpus; i++) {
		const struct tel_vcpu_sample *v = &s->vcpu[i];

		if (i >= s->nr_vcpus) {
			for (size_t k = 0; k < UTIL_ARRAY_SIZE(vcpu_cols); k++)
				fputc(',', f);
			continue;
		}
		fprintf(f, ",%d,%d,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,%llu,"
			"%.3f,%.3f,%.3f,%.3f,%d", (int)v->tid, v->pcpu,
			(unsigned long long)v->cpu_time_ns, (unsigned long long)v->run_delay_ns,
			(unsigned long long)v->exits, (unsigned long long)v->io_exits,
			(unsigned long long)v->mmio_exits, (unsigned long long)v->halt_exits,
			(unsigned long long)v->pf_taken, (unsigned long long)v->pf_fixed,
			(unsigned long long)v->pf_emulate, (unsigned long long)v->tlb_flush,
			(unsigned long long)v->invlpg, v->cpu_pct, v->run_delay_pct,
			v->exits_per_s, v->paging_exits_per_s, v->hw_valid);
		if (v->hw_valid)
			fprintf(f, ",%llu,%llu,%llu,%llu,%llu,%.4f,%.4f",
				(unsigned long long)v->cycles, (unsigned long long)v->instructions,
				(unsigned long long)v->llc_misses, (unsigned long long)v->dtlb_misses,
				(unsigned long long)v->walk_cycles, v->ipc, v->multiplex_ratio);
		else
			fputs(",,,,,,,", f);
	}
	tel_bankmap_csv(f, &s->bankmap);
	fputc(',', f);
	csv_text(f, tr->pending);
	fputc('\n', f);
	tr->pending[0] = 0;
}

static int json_line(struct tel_trace *tr, json_t *o, const char *type)
{
	char *txt;

	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "type", json_string(type));
	json_object_set_new(o, "run_id", json_string(tr->run_id));
	json_object_set_new(o, "profile", json_string(tr->profile));
	/* "vm" names the VM in every record; a sample's KVM VM statistics,
	 * "vm" in the samples JSON, keep their values as "vm_stats" here. */
	if (json_is_object(json_object_get(o, "vm")))
		json_object_set(o, "vm_stats", json_object_get(o, "vm"));
	json_object_set_new(o, "vm", json_string(tr->vm));
	txt = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!txt)
		return -ENOMEM;
	fputs(txt, tr->f);
	fputc('\n', tr->f);
	free(txt);
	return 0;
}

static int finish(struct tel_trace *tr)
{
	if (fflush(tr->f) || ferror(tr->f)) {
		util_warn("writing trace file '%s' failed: %s", tr->path, strerror(errno));
		clearerr(tr->f);
		return -EIO;
	}
	return 0;
}

int tel_trace_sample(struct tel_trace *tr, const struct tel_sample *s,
		     const char *const *ev, int nev)
{
	if (tr->csv)
		csv_sample(tr, s);
	else
		json_line(tr, tel_sample_json(s, ev, nev), "sample");
	return finish(tr);
}

int tel_trace_decision(struct tel_trace *tr, const struct tel_decision *d)
{
	size_t n;

	if (!tr->csv) {
		json_line(tr, tel_decision_json(d, 0), "decision");
		return finish(tr);
	}
	n = strlen(tr->pending);
	snprintf(tr->pending + n, sizeof(tr->pending) - n, "%s%.*s: %.*s (%.*s)", n ? "; " : "",
		 (int)sizeof(d->kind), d->kind, (int)sizeof(d->what), d->what,
		 (int)sizeof(d->why), d->why);
	return 0;
}

int tel_trace_note(struct tel_trace *tr, const char *type, const char *note)
{
	if (tr->csv)
		return 0;
	json_line(tr, json_pack("{s:s}", "note", note), type);
	return finish(tr);
}

int tel_trace_set_profile(struct tel_trace *tr, const char *name)
{
	char *p = strdup(name);

	if (!p)
		return -ENOMEM;
	free(tr->profile);
	tr->profile = p;
	return 0;
}

void tel_trace_close(struct tel_trace *tr)
{
	if (!tr)
		return;
	if (tr->f)
		fclose(tr->f);
	free(tr->path);
	free(tr->run_id);
	free(tr->profile);
	free(tr->vm);
	free(tr);
}
