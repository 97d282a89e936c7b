/* common: libraries loaded on first use (dlopen), so that a run which does
 * not need libpfm, PAPI or libmicrohttpd neither maps nor relocates them. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "common/util.h"

static pthread_mutex_t dl_lock = PTHREAD_MUTEX_INITIALIZER;

/* dlerror() text after its "soname: " prefix, which the message already has. */
static const char *short_error(const char *soname)
{
	const char *e = dlerror(), *p;

	if (!e)
		return "unknown error";
	p = strstr(e, soname);
	if (p == e && e[strlen(soname)] == ':')
		e += strlen(soname) + 1;
	while (*e == ' ')
		e++;
	return e;
}

static int load(struct util_dl_lib *lib)
{
	void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	const char *e;
	size_t i;

	if (!h) {
		e = short_error(lib->soname);
		if (strstr(e, "No such file"))
			util_fmt(lib->why, sizeof(lib->why), "%s not found: install Debian "
				 "package %s", lib->soname, lib->package);
		else
			util_fmt(lib->why, sizeof(lib->why), "%s cannot be loaded (%s): "
				 "reinstall Debian package %s", lib->soname, e, lib->package);
		return -ENOENT;
	}
	for (i = 0; i < lib->nr_syms; i++) {
		dlerror();
		*lib->syms[i].slot = dlsym(h, lib->syms[i].name);
		if (!*lib->syms[i].slot)
			break;
	}
	if (i < lib->nr_syms) {
		util_fmt(lib->why, sizeof(lib->why), "%s has no symbol %s (too old? install "
			 "the Debian 12 package %s)", lib->soname, lib->syms[i].name,
			 lib->package);
		for (size_t j = 0; j < lib->nr_syms; j++)
			*lib->syms[j].slot = NULL;
		dlclose(h);
		return -ENOSYS;
	}
	return 1;
}

int util_dl_load(struct util_dl_lib *lib, char *why, size_t why_len)
{
	int state;

	pthread_mutex_lock(&dl_lock);
	if (!lib->state)
		lib->state = load(lib);
	state = lib->state;
	pthread_mutex_unlock(&dl_lock);
	if (state > 0)
		return 0;
	if (why && why_len)
		util_fmt(why, why_len, "%s", lib->why);
	return state;
}
