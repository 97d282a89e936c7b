/* Fake migration targets for tests (the target's side of the stream in
 * vmm-core/migrate.c, played by a thread on a listening socket). */
#ifndef AVMM_TESTS_MIGPEER_H
#define AVMM_TESTS_MIGPEER_H

/* Accepts on *lfd, takes the stream's header and says yes ('Y'): the
 * connected socket, or -1. */
int migpeer_accept(const int *lfd);
/* pthread start (arg: the listening socket's int *): takes the whole stream
 * (until the source waits: 1 s without data), says the VM is restored
 * ('K'), takes the source's go into migpeer_go and hangs up without saying
 * that it runs the guest. */
void *migpeer_silent_after_go(void *arg);
extern char migpeer_go;

#endif
