// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE /* fopencookie() */
#include "output/ostream.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first write error on stdout; 0 while there is none. */
static int out_errno;

static void record(int err)
{
	if (!out_errno)
		out_errno = err ? err : EIO;
}

/*
 * libc's stdout sets a flag on a failed write and keeps no errno. By the
 * time a caller sees the flag, errno may tell of a later call: a full
 * stdout was reported as "No such file or directory" after an owner's
 * cgroup lookup ran between the write and the check. So stdout's writes
 * go through here, where the error is kept as it happens. Partial writes
 * go on as libc's own stream does; a short count marks the stream failed.
 */
static ssize_t out_write(void *cookie, const char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	(void)cookie;
	while (done < len) {
		n = write(STDOUT_FILENO, buf + done, len - done);
		if (n <= 0) {
			record(n < 0 ? errno : 0);
			break;
		}
		done += n;
	}
	return done;
}

static int out_close(void *cookie)
{
	(void)cookie;
	return close(STDOUT_FILENO);
}

/*
 * A terminal keeps libc's stream: curses and the width query need its
 * descriptor, which a cookie stream does not have, and a terminal seldom
 * fails a write.
 */
static void keep_stdout_errors(void)
{
	cookie_io_functions_t io = { .write = out_write, .close = out_close };
	FILE *f;

	if (isatty(STDOUT_FILENO))
		return;
	f = fopencookie(NULL, "w", io);
	/* Fully buffered, as libc's stream is when it is no terminal. */
	if (f)
		stdout = f;
	/* else libc's stream still works, its errors reported vaguer. */
}

/* The descriptor f writes to: stdout's stream of our own has none. */
static int out_fd(FILE *f)
{
	return f == stdout ? STDOUT_FILENO : fileno(f);
}

bool ct_out_failed(FILE *f)
{
	if (!ferror(f))
		return false;
	if (f == stdout)
		record(errno);
	return true;
}

int ct_out_flush(FILE *f)
{
	int rc = fflush(f);

	if (rc == EOF && f == stdout)
		record(errno);
	return rc;
}

bool ct_out_gone(FILE *f)
{
	struct pollfd p = { .fd = out_fd(f) };

	/* A pipe's writing end polls POLLERR once no reader is left. */
	if (p.fd < 0 || poll(&p, 1, 0) != 1 || !(p.revents & POLLERR))
		return false;
	if (f == stdout)
		record(EPIPE);
	return true;
}

/*
 * atexit: what is still buffered is written now, so its error counts too.
 * _exit() sets the status from here, as gnulib's close_stdout does.
 */
static void check_stdout(void)
{
	ct_out_flush(stdout);
	if (ferror(stdout))
		record(0);
	if (fclose(stdout) == EOF)
		record(errno);
	if (!out_errno)
		return;
	if (out_errno == EPIPE)
		_exit(0);
	fprintf(stderr, "conntrace: write error: %s\n", strerror(out_errno));
	_exit(1);
}

void ct_stdio_init(void)
{
	/* open() takes the lowest free descriptor: the closed one. */
	for (int fd = 0; fd <= 2; fd++)
		if (fcntl(fd, F_GETFD) < 0 && errno == EBADF &&
		    open("/dev/null", fd ? O_RDONLY : O_WRONLY) < 0)
			_exit(1); /* no /dev/null: nothing can be made safe */
	signal(SIGPIPE, SIG_IGN);
	keep_stdout_errors();
	atexit(check_stdout);
}
