/* adapt internal: the session's state, shared by session*.c. */
#ifndef AVMM_ADAPT_SESSION_INT_H
#define AVMM_ADAPT_SESSION_INT_H

#include <sched.h>

#include "adapt/adapt.h"
#include "adapt/session.h"
#include "coremap/coremap.h"
#include "energy/energy.h"

struct adapt_session {
	struct adapt_session_cfg cfg;
	struct pol_profile profile;
	const char *dirs[POL_MAX_DIRS];
	char dir_storage[POL_MAX_DIRS][POL_PATH_MAX];
	int nr_dirs;
	char run_id[48], socket[108];
	struct vmm *vm;
	enum energy_backend energy_backend;
	bool energy_tried;
	struct energy_src *energy;
	struct energy_cap cap;
	struct util_state *state;  /* host-state journal; NULL: none */
	bool restore_failed;       /* keep the journal for `avmm restore` */
	bool cap_open;
	char cap_why[256];
	struct tel *tel;
	struct vmm_ctl *ctl;
	struct coremap_topo *topo;
	struct adapt_driver *driver;
	struct adapt_cpu_load cpu_load;
	cpu_set_t start_cpus;   /* the process's CPUs at open: what unpinning restores */
	double pu_busy_pct[ADAPT_CPU_LOAD_MAX]; /* read by adapt_step through env */
	int started;          /* steps brought up */
	bool running;
};

/* session_energy.c: the energy source (opened on the first sample) and the
 * power-cap actuator. */
int adapt_session_energy_init(struct adapt_session *s);
void adapt_session_energy_exit(struct adapt_session *s);
int adapt_session_energy_sample(void *arg, uint64_t now_ns, double busy_cores,
				struct tel_energy_sample *out);
int adapt_session_apply_energy(void *ctx, const struct adapt_change *c, char *msg, size_t len);

/* session_loop.c: the control loop and its coremap actuator. */
int adapt_session_loop_init(struct adapt_session *s);
void adapt_session_loop_exit(struct adapt_session *s);

#endif
