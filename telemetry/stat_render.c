/* Text form of a "stat" answer, as `avmm stat` prints it. */
#include "telemetry/tel_int.h"

#include <errno.h>
#include <string.h>

static double num(json_t *o, const char *k)
{
	return json_number_value(json_object_get(o, k));
}

/* "loop held: dwell, 3.2 s left (coremap: dwell, 6.8 s of 10.0 s), period 1000 ms" */
static void held(json_t *h, FILE *f)
{
	const char *reason = json_string_value(json_object_get(h, "reason"));

	if (!json_is_object(h) || !reason)
		return;
	if (!*reason && num(h, "full_every_ns") > 0) {
		fprintf(f, "loop steady, period %.0f ms: a full sample every %.0f s, each period "
			"between a look at each vCPU\n", num(h, "period_ns") / 1e6,
			num(h, "full_every_ns") / 1e9);
		return;
	}
	if (!*reason) {
		fprintf(f, "loop not held, period %.0f ms\n", num(h, "period_ns") / 1e6);
		return;
	}
	fprintf(f, "loop held: %s", reason);
	if (num(h, "left_ns") > 0)
		fprintf(f, ", %.1f s left", num(h, "left_ns") / 1e9);
	fprintf(f, " (%s), period %.0f ms\n", json_string_value(json_object_get(h, "note")) ?: "",
		num(h, "period_ns") / 1e6);
}

int tel_stat_render(const char *txt, FILE *f)
{
	json_error_t je;
	json_t *root = json_loads(txt, 0, &je), *samples, *s, *src, *v;
	const char *key;
	size_t i;
	int err = 0;

	if (!root || !json_is_object(root)) {
		fprintf(f, "avmm stat: unreadable answer: %s\n", root ? "not an object" : je.text);
		json_decref(root);
		return -EPROTO;
	}
	if (json_is_string(json_object_get(root, "error"))) {
		fprintf(f, "avmm stat: the VM answered: %s\n",
			json_string_value(json_object_get(root, "error")));
		err = -EIO;
		goto out;
	}
	samples = json_object_get(root, "samples");
	fprintf(f, "vm %s  run %s  profile %s  vCPUs %d\n",
		json_string_value(json_object_get(root, "vm")) ?: "?",
		json_string_value(json_object_get(root, "run_id")) ?: "?",
		json_string_value(json_object_get(root, "profile")) ?: "?",
		(int)json_integer_value(json_object_get(root, "nr_vcpus")));
	if (!json_is_array(samples) || json_array_size(samples) == 0) {
		fprintf(f, "no sample yet\n");
		goto out;
	}
	s = json_array_get(samples, json_array_size(samples) - 1);
	fprintf(f, "sample %lld  telemetry CPU %.3f ms  last sample %.1f us\n",
		(long long)json_integer_value(json_object_get(s, "seq")),
		num(s, "tel_cpu_ns") / 1e6, num(s, "tel_sample_ns") / 1e3);
	src = json_object_get(s, "sources");
	json_object_foreach(src, key, v) {
		bool up = json_is_true(json_object_get(v, "up"));

		fprintf(f, "  %-7s %s%s%s\n", key, up ? "up" : "down",
			up ? "" : ": ", up ? "" : json_string_value(json_object_get(v, "why")));
	}
	v = json_object_get(s, "energy");
	if (json_is_object(v))
		fprintf(f, "power %.2f W%s  energy %.3f J\n", num(v, "power_w"),
			json_is_true(json_object_get(v, "estimated")) ? " (estimated)" : "",
			num(v, "energy_uj") / 1e6);
	held(json_object_get(root, "held"), f);
	fprintf(f, "%-5s %8s %5s %7s %7s %10s %10s %6s %10s %10s\n", "VCPU", "TID", "PCPU",
		"CPU%", "DELAY%", "EXITS/s", "PGEXIT/s", "IPC", "EXITS", "PF_TAKEN");
	json_array_foreach(json_object_get(s, "vcpus"), i, v) {
		json_t *hw = json_object_get(v, "hw");
		char ipc[16] = "-";

		if (json_is_object(hw) && json_is_true(json_object_get(hw, "guest_valid")))
			snprintf(ipc, sizeof(ipc), "%.2f", num(hw, "ipc"));
		fprintf(f, "%-5zu %8lld %5lld %7.1f %7.1f %10.0f %10.0f %6s %10lld %10lld\n", i,
			(long long)json_integer_value(json_object_get(v, "tid")),
			(long long)json_integer_value(json_object_get(v, "pcpu")),
			num(v, "cpu_pct"), num(v, "run_delay_pct"), num(v, "exits_per_s"),
			num(v, "paging_exits_per_s"), ipc,
			(long long)json_integer_value(json_object_get(v, "exits")),
			(long long)json_integer_value(json_object_get(v, "pf_taken")));
	}
out:
	json_decref(root);
	return err;
}
