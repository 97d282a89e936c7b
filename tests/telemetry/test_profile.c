/* After a profile switch telemetry names the new profile everywhere:
 * avmm_info{profile}, the samples JSON (dashboard header, `avmm stat`) and
 * the profile column of the traces from that sample on. No KVM needed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util.h"
#include "telemetry/tel.h"

static const char *profile_of_line(const char *line, char *out, size_t len)
{
	json_t *o = json_loads(line, 0, NULL);

	cr_assert(o, "bad JSON line %s", line);
	snprintf(out, len, "%s", json_string_value(json_object_get(o, "profile")) ?: "");
	json_decref(o);
	return out;
}

Test(profile, a_switch_shows_in_metrics_api_and_traces)
{
	char dir[] = "/tmp/tel-prof-XXXXXX", jsonl[64], csv[64], line[1 << 14], p[64];
	const char *traces[] = { jsonl, csv };
	struct tel_config c = { .counters = "none", .run_id = "r1", .profile_name = "balanced",
				.vm_name = "v", .nr_traces = 2 };
	struct tel_target tg = { .nr_vcpus = 1 };
	struct tel *t;
	char *m;
	int n = 0;
	FILE *f;

	cr_assert(mkdtemp(dir));
	snprintf(jsonl, sizeof(jsonl), "%s/t.jsonl", dir);
	snprintf(csv, sizeof(csv), "%s/t.csv", dir);
	c.trace_paths[0] = traces[0];
	c.trace_paths[1] = traces[1];
	cr_assert_eq(tel_open_target(&c, &tg, &t), 0);
	cr_assert_eq(tel_sample(t, NULL), 0);
	cr_assert_eq(tel_set_profile(t, NULL), -EINVAL);
	cr_assert_eq(tel_set_profile(t, "energy"), 0);
	cr_assert_eq(tel_sample(t, NULL), 0);
	cr_assert_eq(tel_metrics_text(t, &m), 0);
	cr_assert(strstr(m, "avmm_info{vm=\"v\",run_id=\"r1\",profile=\"energy\"} 1\n"), "%s", m);
	free(m);
	cr_assert_eq(tel_samples_json(t, 0, &m), 0);
	cr_assert(strstr(m, "\"profile\":\"energy\""), "%s", m);
	free(m);
	m = tel_ctl_stat("{}", NULL, t, &n);
	cr_assert(m && strstr(m, "\"profile\":\"energy\""), "%s", m ? m : "(null)");
	free(m);
	tel_close(t);

	f = fopen(jsonl, "r");
	cr_assert(f);
	cr_assert(fgets(line, sizeof(line), f));
	cr_assert_str_eq(profile_of_line(line, p, sizeof(p)), "balanced");
	{       /* the VM's name and its KVM statistics, both kept */
		json_t *o = json_loads(line, 0, NULL);

		cr_assert_str_eq(json_string_value(json_object_get(o, "vm")), "v", "%s", line);
		cr_assert(json_is_integer(json_object_get(json_object_get(o, "vm_stats"),
							  "mmu_pte_write")), "%s", line);
		json_decref(o);
	}
	cr_assert(fgets(line, sizeof(line), f));
	cr_assert_str_eq(profile_of_line(line, p, sizeof(p)), "energy");
	fclose(f);
	f = fopen(csv, "r");
	cr_assert(f);
	cr_assert(fgets(line, sizeof(line), f) && !strncmp(line, "run_id,profile,", 15));
	cr_assert(fgets(line, sizeof(line), f) && !strncmp(line, "\"r1\",\"balanced\",", 16), "%s", line);
	cr_assert(fgets(line, sizeof(line), f) && !strncmp(line, "\"r1\",\"energy\",", 14), "%s", line);
	fclose(f);
	unlink(jsonl);
	unlink(csv);
	rmdir(dir);
}
