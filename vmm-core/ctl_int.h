/* vmm-core control socket internals shared by ctl.c (registry, socket set-up,
 * client side) and ctl_serve.c (the poll loop serving many clients). */
#ifndef AVMM_VMM_CTL_INT_H
#define AVMM_VMM_CTL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#include "vmm-core/vmm.h"

#define CTL_MAX_CMDS 32
#define CTL_LINE_MAX 65536            /* longest request line, newline included */
#define CTL_MAX_CLIENTS 256           /* served at once; more wait in the backlog */
#define CTL_OUT_HIGH (256u << 10)     /* stop taking requests while this much is unsent */
#define CTL_LINE_TIMEOUT_NS (5ull * 1000000000)   /* a started line must end in 5 s */
#define CTL_WRITE_TIMEOUT_NS (5ull * 1000000000)  /* unsent answers must move in 5 s */
#define CTL_IDLE_TIMEOUT_NS (60ull * 1000000000)  /* a silent client is closed after 60 s */

struct ctl_client {
	int fd;
	struct vmm_ctl_peer peer;
	char *in;                 /* CTL_LINE_MAX bytes */
	size_t in_len;
	char *out;
	size_t out_len, out_off, out_cap;
	uint64_t line_start_ns;   /* first byte of the unfinished line; 0: none */
	uint64_t out_since_ns;    /* when unsent output last made progress */
	uint64_t last_ns;         /* last activity */
	bool eof, close_after_out;
};

struct vmm_ctl {
	int listen_fd, wake[2];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uid_t owner;
	gid_t group;              /* (gid_t)-1: none */
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t lock;
	int nr;
	struct { char name[32]; vmm_ctl_fn fn; void *arg; } cmd[CTL_MAX_CMDS];
	struct ctl_client *clients[CTL_MAX_CLIENTS];
	int nr_clients;
	uint64_t refused;         /* peers refused by the credential check */
};

/* Answers every complete line in c->in (dispatching to the registered
 * commands) into c->out; keeps an unfinished line. Pure of I/O. */
void ctl_client_process(struct vmm_ctl *ctl, struct ctl_client *c, uint64_t now_ns);
int ctl_client_append(struct ctl_client *c, const char *text);
/* Queues {"ok":false,"error":msg}; on failure the client is closed. */
void ctl_client_error(struct ctl_client *c, const char *msg);
void *ctl_thread(void *arg);
/* ctl_fd.c: recv that also takes a file descriptor passed with SCM_RIGHTS
 * (into *fd, closing one held there before); ctl_send_fd sends one byte of
 * buf with fd attached. Both as recv/send: bytes or -1 with errno. */
ssize_t ctl_recv_fd(int sock, void *buf, size_t len, int *fd);
ssize_t ctl_send_fd(int sock, const void *buf, int fd);
/* path into a sockaddr_un; -ENAMETOOLONG (logged) when it does not fit. */
int ctl_make_addr(const char *path, struct sockaddr_un *sa);
bool ctl_peer_allowed(const struct vmm_ctl *ctl, const struct vmm_ctl_peer *peer);

#endif
