#ifndef AVMM_TESTS_HTTPGET_H
#define AVMM_TESTS_HTTPGET_H
/* GET http://127.0.0.1:port/path; returns the status code (or -errno) and
 * the malloc'd body; content type copied into ctype when non-NULL. */
int http_get(int port, const char *path, char **body, char *ctype, int ctype_len);
#endif
