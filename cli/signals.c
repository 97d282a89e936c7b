/* The stopping signals of `avmm run` and `avmm agent`: SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT are taken by one thread (blocked everywhere else) that
 * calls stop(arg); SIGUSR2 ends that thread only once the main thread has
 * said so, so a stray one changes nothing. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "cli/cli.h"
#include "common/sandbox.h"
#include "common/util.h"

static void *wait_signals(void *arg)
{
	struct cli_signals *w = arg;
	int sig = 0;

	pthread_setname_np(pthread_self(), "avmm-signals");
	util_sandbox_enter(UTIL_SANDBOX_SIGNALS);     /* prints why when it fails */
	while (!w->done) {
		if (sigwait(&w->set, &sig))
			continue;
		if (sig == SIGUSR2)
			continue;
		if (!w->signo)
			w->signo = sig;
		util_info("%s: stopping", strsignal(sig));
		w->stop(w->arg);
	}
	return NULL;
}

void cli_signals_block(struct cli_signals *w)
{
	memset(w, 0, sizeof(*w));
	sigemptyset(&w->set);
	sigaddset(&w->set, SIGINT);
	sigaddset(&w->set, SIGTERM);
	sigaddset(&w->set, SIGHUP);
	sigaddset(&w->set, SIGQUIT);
	sigaddset(&w->set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &w->set, NULL);
}

int cli_signals_start(struct cli_signals *w, void (*stop)(void *arg), void *arg)
{
	w->stop = stop;
	w->arg = arg;
	w->started = !pthread_create(&w->thread, NULL, wait_signals, w);
	return w->started ? 0 : -EAGAIN;
}

int cli_signals_end(struct cli_signals *w)
{
	if (w->started) {
		w->done = true;
		pthread_kill(w->thread, SIGUSR2);
		pthread_join(w->thread, NULL);
		w->started = false;
	}
	return w->signo;
}
