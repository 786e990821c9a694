// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
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
	struct pollfd p = { .fd = fileno(f) };

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
	atexit(check_stdout);
}
