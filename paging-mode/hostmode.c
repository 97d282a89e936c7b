/* paging-mode host mode: reload kvm_intel/kvm_amd with ept=/npt= between runs
 * (root, no VM running); the running VMs are found as processes holding an
 * anon_inode:kvm-vm fd under <fsroot>/proc. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/util.h"
#include "paging-mode/probe_int.h"

extern char **environ;

static bool has_vm_fd(const char *fsroot, const char *pid)
{
	char dir[512], link[600], target[64];
	struct dirent *e;
	bool found = false;
	DIR *d;

	if (util_path(link, sizeof(link), fsroot, "/proc") ||
	    util_fmt(dir, sizeof(dir), "%s/%s/fd", link, pid) || !(d = opendir(dir)))
		return false;
	while (!found && (e = readdir(d))) {
		ssize_t n;

		if (e->d_name[0] == '.' || util_fmt(link, sizeof(link), "%s/%s", dir, e->d_name))
			continue;
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		found = !strcmp(target, "anon_inode:kvm-vm");
	}
	closedir(d);
	return found;
}

int pgmode_kvm_vm_list(const char *fsroot, char *out, size_t len)
{
	char proc[512], path[640], comm[64];
	struct dirent *e;
	size_t used = 0;
	int count = 0;
	DIR *d;

	out[0] = '\0';
	if (util_path(proc, sizeof(proc), fsroot, "/proc"))
		return -ENAMETOOLONG;
	d = opendir(proc);
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		int n;

		if (!isdigit((unsigned char)e->d_name[0]) || !has_vm_fd(fsroot, e->d_name))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		if (util_read_file(fsroot, path, comm, sizeof(comm)) < 0)
			snprintf(comm, sizeof(comm), "?");
		comm[strcspn(comm, "\n")] = '\0';
		n = snprintf(out + used, len - used, "%spid %s (%s)", count ? ", " : "",
			     e->d_name, comm);
		if (n > 0 && used + (size_t)n < len)
			used += (size_t)n;
		count++;
	}
	closedir(d);
	return count;
}

/* The real runner: posix_spawnp, its stderr kept for the reason. */
static int run_cmd(const char *const *argv, void *arg, char *why, size_t len)
{
	posix_spawn_file_actions_t fa;
	char err[256] = "";
	int p[2], status, rc;
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[1], 2);
	rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	if (rc) {
		close(p[0]);
		snprintf(why, len, "cannot run %s: %s", argv[0], strerror(rc));
		return -rc;
	}
	n = read(p[0], err, sizeof(err) - 1);
	err[n > 0 ? n : 0] = '\0';
	err[strcspn(err, "\n")] = '\0';
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	snprintf(why, len, "%s %s failed (status %d): %s", argv[0], argv[1] ? argv[1] : "",
		 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), err);
	return WIFEXITED(status) && WEXITSTATUS(status) ? WEXITSTATUS(status) : 1;
}

int pgmode_host_mode_set(const char *fsroot, enum pgmode_mode m, char *why, size_t len)
{
	return pgmode_host_mode_set_run(fsroot, m, run_cmd, NULL, why, len);
}

/* Unload and load the module with param=v; on a failed load, load it back
 * with its old settings so the host keeps KVM. */
static int reload(const char *mod, const char *par, int v, pgmode_run_fn run, void *arg,
		  char *why, size_t len)
{
	char setting[16], err[PGMODE_WHY];
	const char *unload[] = { "modprobe", "-r", mod, NULL };
	const char *load[] = { "modprobe", mod, setting, NULL };
	const char *back[] = { "modprobe", mod, NULL };
	int rc;

	snprintf(setting, sizeof(setting), "%s=%d", par, v);
	rc = run(unload, arg, err, sizeof(err));
	if (rc) {
		snprintf(why, len, "unloading %s: %s", mod, err);
		return rc < 0 ? rc : -EBUSY;
	}
	rc = run(load, arg, err, sizeof(err));
	if (rc) {
		char err2[PGMODE_WHY] = "";
		int rc2 = run(back, arg, err2, sizeof(err2));

		snprintf(why, len, "loading %s %s: %s; %s", mod, setting, err,
			 rc2 ? "and loading it back failed too: modprobe it by hand" :
			 "loaded it back with its old settings");
		return rc < 0 ? rc : -EIO;
	}
	return 0;
}

int pgmode_host_mode_set_run(const char *fsroot, enum pgmode_mode m, pgmode_run_fn run,
			     void *arg, char *why, size_t len)
{
	struct pgmode_host h;
	char vms[PGMODE_WHY], param[96];
	const char *mod, *par;
	int n, rc, now;

	if (m != PGMODE_MODE_NESTED && m != PGMODE_MODE_SHADOW) {
		snprintf(why, len, "host mode '%s': expected nested or shadow", pgmode_mode_name(m));
		return -EINVAL;
	}
	pgmode_probe(fsroot, PGMODE_PROBE_NO_SYSCALLS, &h);
	if (h.kvm != PGMODE_KVM_INTEL && h.kvm != PGMODE_KVM_AMD) {
		snprintf(why, len, "%s", h.host_switch.why);
		return -EOPNOTSUPP;
	}
	mod = h.kvm == PGMODE_KVM_INTEL ? "kvm_intel" : "kvm_amd";
	par = h.kvm == PGMODE_KVM_INTEL ? "ept" : "npt";
	now = h.kvm == PGMODE_KVM_INTEL ? h.ept : h.npt;
	if (now < 0) {
		snprintf(why, len, "%s has no %s parameter: cannot switch the paging mode", mod, par);
		return -EOPNOTSUPP;
	}
	if (now == (m == PGMODE_MODE_NESTED)) {
		snprintf(why, len, "%s already runs with %s=%c (%s paging): nothing to do", mod, par,
			 now ? 'Y' : 'N', pgmode_mode_name(m));
		return 0;
	}
	if (geteuid() != 0) {
		snprintf(why, len, "reloading %s needs root: run `avmm paging host-mode %s` as root",
			 mod, pgmode_mode_name(m));
		return -EPERM;
	}
	n = pgmode_kvm_vm_list(fsroot, vms, sizeof(vms));
	if (n > 0) {
		snprintf(why, len, "%d VM%s running (%s): stop %s first, then switch", n,
			 n == 1 ? "" : "s", vms, n == 1 ? "it" : "them");
		return -EBUSY;
	}
	rc = reload(mod, par, m == PGMODE_MODE_NESTED, run, arg, why, len);
	if (rc)
		return rc;
	snprintf(param, sizeof(param), "/sys/module/%s/parameters/%s", mod, par);
	pgmode_probe(fsroot, PGMODE_PROBE_NO_SYSCALLS, &h);
	if (h.mode != m) {
		snprintf(why, len, "reloaded %s with %s=%d but %s does not say so (the CPU or "
			 "firmware may lack it): check dmesg", mod, par, m == PGMODE_MODE_NESTED, param);
		return -EIO;
	}
	snprintf(why, len, "%s reloaded with %s=%d: new VMs run with %s paging (until reboot; "
		 "to keep it, add 'options %s %s=%d' to /etc/modprobe.d/)", mod, par,
		 m == PGMODE_MODE_NESTED, pgmode_mode_name(m), mod, par, m == PGMODE_MODE_NESTED);
	return 0;
}
