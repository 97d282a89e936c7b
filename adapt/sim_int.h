/* adapt: simulator internals (not public); see adapt/sim.h. */
#ifndef AVMM_ADAPT_SIM_INT_H
#define AVMM_ADAPT_SIM_INT_H

#include "adapt/sim.h"
#include "bankmap/bankmap.h"
#include "coremap/coremap.h"

typedef int (*sim_ini_fn)(void *arg, const char *section, const char *key, const char *value,
			  char *msg, size_t msg_len);
int sim_ini_each(const char *text, const char *origin, sim_ini_fn fn, void *arg, char *err, size_t err_len);
int sim_num(const char *v, double lo, double hi, double *out, char *msg, size_t len);
int sim_bool(const char *v, bool *out, char *msg, size_t len);
int sim_read_file(const char *path, char **out, char *err, size_t err_len);

#define SIM_MAX_PUS ADAPT_CM_CACHE_PUS
#define SIM_NODES TEL_MAX_NODES
#define SIM_BASE_NS 1000000000ull

enum sim_ent_kind { SIM_VCPU, SIM_HOG, SIM_STREAMER, SIM_BG };

struct sim_ent {
	enum sim_ent_kind kind;
	int idx;          /* vCPU index, noise index, background VM index */
	int pin;          /* PU (logical) or -1 */
	int pu;           /* where it ran last chunk */
};

/* The machine, the VM and everything cumulative. */
struct sim_engine {
	const struct adapt_sim_model *m;
	const struct adapt_sim_workload *w;
	struct coremap_topo *topo;
	int nr_pus, nr_nodes, nr_l3, nr_pkgs;
	int pu_node[SIM_MAX_PUS], pu_l3[SIM_MAX_PUS], pu_pkg[SIM_MAX_PUS], pu_core[SIM_MAX_PUS],
		pu_os[SIM_MAX_PUS];
	int nr_vcpus;
	uint64_t mem_bytes, seed, rng;
	uint64_t now_ns;                      /* virtual, from the start */
	/* placement: vCPU pins (logical PU, -1 none), pending until pin_at_ns */
	int vpin[ADAPT_MAX_VCPUS], vpu[ADAPT_MAX_VCPUS];
	int vpin_next[ADAPT_MAX_VCPUS];
	uint64_t pin_at_ns;
	bool pin_pending;
	double refill_s[ADAPT_MAX_VCPUS];    /* cold-cache time still to pay */
	/* memory of the VM: each vCPU's private share of guest RAM (1/nr_vcpus)
	 * per node, the VM's sum (frac), and the migration toward vtgt */
	double vfrac[ADAPT_MAX_VCPUS][SIM_NODES], vtgt[ADAPT_MAX_VCPUS][SIM_NODES], frac[SIM_NODES];
	bool migrating;
	double mig_quota_mib_s, mig_pages_done, mig_pages_total;
	uint64_t mig_requests, mig_bytes;
	/* paging */
	int mode;                             /* enum adapt_paging_mode */
	double b2m, b2m_tgt, quota_mib_s;
	uint64_t collapse_ok;
	double cap_w, f;                      /* power cap (0 none) and frequency factor */
	/* host load started by the experiment's phases: noise index range */
	struct adapt_sim_noise xload;
	bool xload_on;
	/* cumulative per vCPU */
	double cpu_s[ADAPT_MAX_VCPUS], delay_s[ADAPT_MAX_VCPUS], instr[ADAPT_MAX_VCPUS],
		cycles[ADAPT_MAX_VCPUS], llc[ADAPT_MAX_VCPUS], dtlb[ADAPT_MAX_VCPUS],
		walk[ADAPT_MAX_VCPUS], exits[ADAPT_MAX_VCPUS], pf[ADAPT_MAX_VCPUS];
	double energy_j, power_w, busy_s, instr_total;
	bool bankmap_sampled;                 /* as a real session: when the first profile has bankmap on */
	double host_busy_s;                   /* every PU's busy time (vCPUs, hogs, other VMs) */
	double pu_busy[SIM_MAX_PUS];          /* busy share last chunk, 0..1 */
	struct sim_ent ent[SIM_MAX_ENTS];
	int nr_ent;
};

/* sim_engine.c */
int sim_engine_init(struct sim_engine *e, const struct adapt_sim_model *m,
		    const struct adapt_sim_workload *w, int nr_vcpus, uint64_t mem_bytes, uint64_t seed,
		    char *err, size_t err_len);
void sim_engine_free(struct sim_engine *e);
void sim_engine_advance(struct sim_engine *e, uint64_t dt_ns);
/* One entity that runs in a chunk: its slot in ent[], its pin (PU, -1
 * none) and what it does. */
struct sim_runnable { int slot, pin; double ips, mpki, wss_mib, mlp, pt, tlb; bool vcpu; int node_local; };
/* sim_active.c: the phase vCPU v runs at virtual time t (NULL: idle); the
 * entities that run at t into a (their count; *next_s: the next time that
 * changes), and the PU each runs on (load: entities per PU). */
const struct adapt_sim_phase *sim_phase_at(const struct adapt_sim_workload *w, int v, double t_s,
					   double *next_s);
int sim_active(struct sim_engine *e, double t, struct sim_runnable *a, double *next_s);
void sim_place(struct sim_engine *e, struct sim_runnable *a, int n, int *load);
/* sim_chunk.c: run the n entities in a for dt seconds. */
void sim_chunk(struct sim_engine *e, struct sim_runnable *a, int n, double dt);
/* sim_migrate.c */
void sim_frac_update(struct sim_engine *e);
double sim_mig_left(const struct sim_engine *e);   /* share of guest RAM still to move */
void sim_migrate(struct sim_engine *e, double dt);  /* migration and collapse over dt s */
/* sim_sample.c */
void sim_sample_fill(struct sim_engine *e, uint64_t seq, const struct tel_sample *prev,
		     struct tel_sample *out);
void sim_bankmap_topo(const struct sim_engine *e, struct bankmap_topo *bt);

/* One simulated VM (sim_loop.c; its actuators in sim_act.c). */
struct adapt_sim {
	struct adapt_sim_cfg cfg;
	struct adapt_sim_model model;
	struct adapt_sim_workload work;
	struct pol_profile profile;
	struct sim_engine e;
	struct bankmap_topo bt;
	struct adapt_driver *d;
	double busy_pct[SIM_MAX_PUS];
	uint64_t seq, next_tick_ns;
	bool have_prev;
	bool initial_bankmap;               /* act_bankmap: the initial decision, nothing to move */
	struct tel_sample prev, cur;
};

/* sim_act.c: the simulated actuators on s->d; guest RAM's first placement
 * (the profile's bankmap policy) and, as a real session, its decision. */
int sim_register_actuators(struct adapt_sim *s);
void sim_initial_memory(struct adapt_sim *s);

#endif
