/* Slurm SPANK plugin (issue 17): `--avmm-profile=NAME` on sbatch/srun/salloc
 * sets the node's goal profile through the avmm node agent for the job's
 * duration and puts the previous one back when the job ends (cancel and
 * timeout too: slurmd runs the job epilog in every case).
 *
 *   submission (sbatch/srun)  the name is checked with `avmm policy check`;
 *                             an unknown one is refused with its message
 *   job prolog (slurmd, root) asks the agent for the profile in force, keeps
 *                             it in STATE/job-ID, switches to NAME
 *   job tasks                 AVMM_JOB_ID=<job id> in the environment: the
 *                             VMs the job starts label avmm_info with it
 *   job epilog (slurmd, root) puts the kept profile back when the profile in
 *                             force is still the job's (an agent restarted
 *                             since has its machine profile back already)
 *
 * plugstack.conf:
 *   optional /usr/local/lib/avmm/avmm_spank.so [avmm=/usr/local/bin/avmm]
 *            [socket=/run/avmm/agent.sock] [state=/run/avmm/slurm]
 * The agent being down never fails a job (nor drains the node): the
 * plugin logs why and the job runs under the profile in force. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <slurm/spank.h>

SPANK_PLUGIN(avmm, 1);

#define NAME_MAX_LEN 64

static char avmm_bin[256] = "/usr/local/bin/avmm";
static char agent_sock[108] = "/run/avmm/agent.sock";
static char state_dir[200] = "/run/avmm/slurm";

static int check_profile(int val, const char *optarg, int remote);

/* registered by slurm_spank_init: sbatch/salloc take no option table */
static struct spank_option opts[] = {
	{ "avmm-profile", "NAME", "avmm goal profile of the job's nodes while it runs "
	  "(`avmm policy list`; restored at the end)", 1, 0, check_profile },
	SPANK_OPTIONS_TABLE_END
};

static void parse_args(int ac, char **av)
{
	for (int i = 0; i < ac; i++) {
		if (!strncmp(av[i], "avmm=", 5))
			snprintf(avmm_bin, sizeof(avmm_bin), "%s", av[i] + 5);
		else if (!strncmp(av[i], "socket=", 7))
			snprintf(agent_sock, sizeof(agent_sock), "%s", av[i] + 7);
		else if (!strncmp(av[i], "state=", 6))
			snprintf(state_dir, sizeof(state_dir), "%s", av[i] + 6);
		else
			slurm_error("avmm: unknown plugstack.conf argument %s (avmm=, socket=, "
				    "state=)", av[i]);
	}
}

int slurm_spank_init(spank_t sp, int ac, char **av)
{
	parse_args(ac, av);
	if (spank_option_register(sp, &opts[0]) != ESPANK_SUCCESS)
		slurm_error("avmm: cannot register --avmm-profile");
	return 0;
}

/* `avmm policy check NAME`: 0 when valid, else -1 with its stderr in msg. */
static int policy_check(const char *name, char *msg, size_t len)
{
	int pfd[2], st;
	ssize_t n, got = 0;
	pid_t pid;

	msg[0] = 0;
	if (pipe(pfd))
		return snprintf(msg, len, "pipe: %s", strerror(errno)), -1;
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", 1);

		dup2(null, 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		execl(avmm_bin, avmm_bin, "policy", "check", name, (char *)NULL);
		dprintf(2, "cannot run %s: %s (plugstack.conf avmm=PATH)", avmm_bin,
			strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while (pid > 0 && (size_t)got < len - 1 &&
	       (n = read(pfd[0], msg + got, len - 1 - (size_t)got)) > 0)
		got += n;
	msg[got] = 0;
	close(pfd[0]);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return snprintf(msg, len, "cannot run %s", avmm_bin), -1;
	while (got > 0 && msg[got - 1] == '\n')
		msg[--got] = 0;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

/* A profile name from the profile folders: [A-Za-z0-9._-], not a path nor
 * a file (the prolog runs as root, and the agent takes a path from root). */
static bool name_ok(const char *n)
{
	size_t len = n ? strlen(n) : 0;

	if (!len || len >= NAME_MAX_LEN || n[0] == '.' ||
	    (len > 4 && !strcmp(n + len - 4, ".ini")))
		return false;
	for (; *n; n++)
		if (!isalnum((unsigned char)*n) && !strchr("._-", *n))
			return false;
	return true;
}

/* Submission: refuse what `avmm policy check` refuses, with its words. */
static int check_profile(int val, const char *optarg, int remote)
{
	char msg[1024];

	if (remote)
		return 0;
	if (!name_ok(optarg)) {
		slurm_error("--avmm-profile takes a profile name (avmm policy list), not '%s'",
			    optarg ? optarg : "");
		return -1;
	}
	if (policy_check(optarg, msg, sizeof(msg))) {
		slurm_error("%s", msg);
		return -1;
	}
	return 0;
}

/* One request line to the agent, its answer's "profile" into out; 0 or -1
 * with the reason in out. */
static int agent_profile(const char *name, char *out, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	char req[160], ans[2048];
	size_t got = 0;
	json_t *j;
	int fd, rc = -1;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", agent_sock);
	if (name)
		snprintf(req, sizeof(req), "{\"cmd\":\"profile\",\"name\":\"%s\"}\n", name);
	else
		snprintf(req, sizeof(req), "{\"cmd\":\"profile\"}\n");
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		snprintf(out, len, "no avmm agent on %s (%s): is avmm-agent.service running?",
			 agent_sock, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (got < sizeof(ans) - 1 && !memchr(ans, '\n', got)) {
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n = poll(&p, 1, 5000) == 1 ? read(fd, ans + got, sizeof(ans) - 1 - got) : 0;

		if (n <= 0)
			break;
		got += (size_t)n;
		ans[got] = 0;
	}
	close(fd);
	ans[got] = 0;
	j = json_loads(ans, JSON_DISABLE_EOF_CHECK, NULL);
	if (j && json_is_true(json_object_get(j, "ok")) &&
	    json_string_value(json_object_get(j, "profile"))) {
		snprintf(out, len, "%s", json_string_value(json_object_get(j, "profile")));
		rc = 0;
	} else {
		snprintf(out, len, "the avmm agent on %s refused: %s", agent_sock,
			 j && json_string_value(json_object_get(j, "error")) ?
			 json_string_value(json_object_get(j, "error")) : "no answer");
	}
	json_decref(j);
	return rc;
}

static void state_path(spank_t sp, char *out, size_t len)
{
	uint32_t job = 0;

	spank_get_item(sp, S_JOB_ID, &job);
	snprintf(out, len, "%s/job-%u", state_dir, job);
}

int slurm_spank_job_prolog(spank_t sp, int ac, char **av)
{
	char *want = NULL, prev[256], now[256], path[300];
	FILE *f;

	parse_args(ac, av);   /* the prolog runs in a process of its own */
	if (spank_option_getopt(sp, &opts[0], &want) != ESPANK_SUCCESS || !want)
		return 0;
	if (!name_ok(want)) {
		slurm_error("avmm: --avmm-profile=%.80s is not a profile name: not applied", want);
		return 0;
	}
	state_path(sp, path, sizeof(path));
	if (agent_profile(NULL, prev, sizeof(prev))) {
		slurm_error("avmm: --avmm-profile=%s not applied: %s", want, prev);
		return 0;
	}
	mkdir(state_dir, 0700);
	f = fopen(path, "w");
	if (!f) {
		slurm_error("avmm: cannot keep the previous profile in %s (%s): not switching "
			    "to %s", path, strerror(errno), want);
		return 0;
	}
	fprintf(f, "%s\n%s\n", prev, want);
	fclose(f);
	if (agent_profile(want, now, sizeof(now))) {
		slurm_error("avmm: --avmm-profile=%s not applied: %s", want, now);
		unlink(path);
		return 0;
	}
	slurm_info("avmm: profile %s for the job (was %s)", now, prev);
	return 0;
}

int slurm_spank_job_epilog(spank_t sp, int ac, char **av)
{
	char prev[256] = "", mine[256] = "", now[256], path[300];
	FILE *f;

	parse_args(ac, av);
	state_path(sp, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return 0;       /* not an --avmm-profile job, or it was not applied */
	if (!fgets(prev, sizeof(prev), f) || !fgets(mine, sizeof(mine), f))
		prev[0] = 0;
	fclose(f);
	unlink(path);
	prev[strcspn(prev, "\n")] = 0;
	mine[strcspn(mine, "\n")] = 0;
	if (!prev[0] || agent_profile(NULL, now, sizeof(now))) {
		slurm_error("avmm: profile %s not restored after the job: %s", prev,
			    prev[0] ? now : "state file unreadable");
		return 0;
	}
	if (strcmp(now, mine)) {
		slurm_info("avmm: profile now %s, not the job's %s (switched since, or the agent "
			   "restarted): left as it is", now, mine);
		return 0;
	}
	if (agent_profile(prev, now, sizeof(now)))
		slurm_error("avmm: profile %s not restored after the job: %s", prev, now);
	return 0;
}

/* Every task: the job id for the VMs it starts (avmm_info{job_id=...}). */
int slurm_spank_task_init(spank_t sp, int ac, char **av)
{
	uint32_t job = 0;
	char id[16];

	if (spank_get_item(sp, S_JOB_ID, &job) != ESPANK_SUCCESS)
		return 0;
	snprintf(id, sizeof(id), "%u", job);
	spank_setenv(sp, "AVMM_JOB_ID", id, 1);
	return 0;
}
