/*
 * common: logging, error strings, time, size parsing, counter wrap and the
 * injectable filesystem root used by every sysfs/procfs reader.
 *
 * Units: times in nanoseconds from CLOCK_MONOTONIC (_ns), sizes in bytes.
 * Threading: every function is thread-safe (logging takes a lock).
 * Errors: functions return 0 (or a count) on success, a negative errno on
 * failure; results go through out-parameters.
 */
#ifndef AVMM_UTIL_H
#define AVMM_UTIL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum util_log_level { UTIL_LOG_ERROR, UTIL_LOG_WARN, UTIL_LOG_INFO, UTIL_LOG_DEBUG };

/* Messages go to stderr prefixed with "avmm: " (errors: "avmm: error: "). */
void util_log_set_level(enum util_log_level level);
enum util_log_level util_log_get_level(void);
void util_log(enum util_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define util_err(...)   util_log(UTIL_LOG_ERROR, __VA_ARGS__)
#define util_warn(...)  util_log(UTIL_LOG_WARN, __VA_ARGS__)
#define util_info(...)  util_log(UTIL_LOG_INFO, __VA_ARGS__)
#define util_debug(...) util_log(UTIL_LOG_DEBUG, __VA_ARGS__)

/* Monotonic and thread-CPU clocks, in ns. */
uint64_t util_now_ns(void);
uint64_t util_thread_cpu_ns(void);
void util_sleep_ns(uint64_t ns);
/* The calling thread's rseq cpu_id (glibc registers the area per thread):
 * the kernel keeps it at the CPU the thread runs on, also across KVM_RUN
 * (updated at guest entry), so another thread of the process can read where
 * this one is without a system call, while this thread exists. NULL when
 * glibc runs without rseq (glibc.pthread.rseq=0). Values >= 2^31: unknown. */
const volatile uint32_t *util_rseq_cpu_id(void);
/* The CPU in such a cpu_id, read once: -1 for NULL or unknown. */
int util_rseq_cpu(const volatile uint32_t *cpu_id);

/* Condition variables timed on the monotonic clock (util_now_ns values):
 * the wait returns pthread_cond_timedwait's result (0, ETIMEDOUT). Stopping
 * a worker: *stop = true under lock, every waiter woken, the thread joined. */
void util_cond_init_mono(pthread_cond_t *cond);
int util_cond_wait_until_ns(pthread_cond_t *cond, pthread_mutex_t *lock, uint64_t due_ns);
void util_thread_stop(pthread_mutex_t *lock, pthread_cond_t *cond, bool *stop, pthread_t th);
/* A periodic thread's sleep without a mutex: one clock_nanosleep to due_ns
 * (util_now_ns), which a futex wait costs ~2 us more per wake-up than (the
 * 2-core dev VM), cut short when another thread stops it with
 * util_stop_join on the same word; returns whether stopped. The thread
 * calls util_stop_prepare first (it unblocks the stop signal, a real-time
 * signal whose handler does nothing, with SA_RESTART: the thread's other
 * system calls go on, while clock_nanosleep returns EINTR whatever the
 * flag). util_stop_join sets the word and signals the thread until it ends
 * (a signal just before its sleep is re-sent), then joins it. */
void util_stop_prepare(void);
bool util_sleep_until_stop(uint32_t *stop, uint64_t due_ns);
void util_stop_join(uint32_t *stop, pthread_t th);

/* "64M", "2G", "4096", "512k" -> bytes (binary multiples). -EINVAL, -ERANGE. */
int util_parse_size(const char *s, uint64_t *bytes);
/* Whole decimal number with optional surrounding whitespace. */
int util_parse_u64(const char *s, uint64_t *out);
int util_parse_int(const char *s, long min, long max, long *out);

/*
 * Difference cur - prev of a counter that wraps to 0 after range-1
 * (range = max value + 1; range 0 means the full 64-bit range).
 */
uint64_t util_counter_delta(uint64_t prev, uint64_t cur, uint64_t range);

/* Join root and an absolute path ("/" root or NULL means none). */
int util_path(char *out, size_t out_len, const char *root, const char *path);
/* Read a whole small file under root into buf (NUL-terminated, trailing
 * newline kept). Returns bytes read or -errno. */
int util_read_file(const char *root, const char *path, char *buf, size_t len);
int util_write_file(const char *root, const char *path, const char *text);

/*
 * Opens a file avmm writes (console, trace, report) safely when run as root:
 * O_WRONLY|O_CREAT|O_NOFOLLOW|O_CLOEXEC, mode 0644 (less the umask), never
 * following a symlink in the last component (paths under /dev/ except
 * /dev/shm/ may: /dev/stdout is one), refusing an existing regular file that
 * belongs to another user or has other hard links, and truncating a regular
 * file only after those checks. Devices and FIFOs are opened as they are.
 * Returns the fd, or -errno with a reason naming the path and the fix in why.
 */
int util_open_output(const char *path, char *why, size_t why_len);
/* The same as a stdio stream ("w" mode); NULL with errno set and why filled. */
FILE *util_fopen_output(const char *path, char *why, size_t why_len);

/* snprintf into a fixed buffer; returns 0 or -ENAMETOOLONG on truncation. */
int util_fmt(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What the loop runs after each sleep (the quiet tick: a wake-up, a look, a
 * sleep; and telemetry's full sample), kept together in .text.hot: after a
 * sleep each code page it touches is a TLB and cache miss. */
#define UTIL_HOT __attribute__((hot))
#define UTIL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define UTIL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define UTIL_MAX(a, b) ((a) > (b) ? (a) : (b))

/*
 * Libraries loaded on first use: util_dl_load() dlopens soname once
 * (RTLD_NOW | RTLD_LOCAL) and stores every symbol of syms[] in its slot.
 * Returns 0, or -ENOENT (library missing or unloadable) / -ENOSYS (a symbol
 * missing; every slot is left NULL) with a reason naming the Debian package
 * in why; later calls return the first outcome. Thread-safe; never unloaded.
 */
struct util_dl_sym {
	const char *name;
	void **slot;                     /* (void **)&table.fn */
};
struct util_dl_lib {
	const char *soname;              /* "libpfm.so.4" */
	const char *package;             /* "libpfm4" */
	const struct util_dl_sym *syms;
	size_t nr_syms;
	int state;                       /* private: 0 untried, 1 loaded, -errno */
	char why[160];                   /* private */
};
int util_dl_load(struct util_dl_lib *lib, char *why, size_t why_len);

#endif
