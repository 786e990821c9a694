// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
/*
 * stdout's write errors as a user sees them: each case runs in a child
 * whose descriptor 1 is set up first, and is judged by the child's stderr
 * and exit status (the message comes from an atexit handler).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "output/ostream.h"

struct outcome {
	int status;	/* exit status, or -1 if the child did not exit */
	char err[256];	/* what it wrote on stderr */
};

/* Child side: descriptor 1 as the case wants it. */
static void fd1_to(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
		_exit(100);
	close(fd);
}

static void fd1_dev_full(const void *arg)
{
	(void)arg;
	fd1_to("/dev/full");
}

static void fd1_closed(const void *arg)
{
	(void)arg;
	close(STDOUT_FILENO);
}

static void fd1_file(const void *path)
{
	fd1_to(path);
}

/* A pipe whose reader is gone before anything is written. */
static void fd1_widowed_pipe(const void *arg)
{
	int p[2];

	(void)arg;
	if (pipe(p) || dup2(p[1], STDOUT_FILENO) < 0)
		_exit(100);
	close(p[0]);
	close(p[1]);
}

/*
 * Writes until stdout fails (a bounded number of times), then makes a
 * call that fails on its own, as an owner or cgroup lookup between a
 * write and its check does, and only then asks whether stdout failed.
 */
static void write_until_failed_then_lookup(void)
{
	char chunk[1024];

	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 1024 && !ferror(stdout); i++)
		fwrite(chunk, 1, sizeof(chunk), stdout);
	if (access("/nonexistent-conntrace-test/x", F_OK) == 0)
		_exit(101);
	if (!ct_out_failed(stdout))
		_exit(102);
}

static void write_hello(void)
{
	printf("hello\n");
}

static void say_if_gone(void)
{
	fprintf(stderr, "gone=%d\n", ct_out_gone(stdout));
}

static void run_child(void (*fd1)(const void *), const void *arg,
		      void (*body)(void), struct outcome *o)
{
	int errp[2], st;
	ssize_t n;
	size_t len = 0;
	pid_t pid;

	memset(o, 0, sizeof(*o));
	fflush(NULL); /* nothing of ours is written twice by the child */
	assert_int_equal(pipe(errp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (dup2(errp[1], STDERR_FILENO) < 0)
			_exit(100);
		close(errp[0]);
		close(errp[1]);
		fd1(arg);
		ct_stdio_init();
		body();
		exit(0);
	}
	close(errp[1]);
	/* The child ends on its own: its pipe reaches EOF when it does. */
	while (len < sizeof(o->err) - 1 &&
	       (n = read(errp[0], o->err + len, sizeof(o->err) - 1 - len)) > 0)
		len += n;
	close(errp[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* What the user sees of a case: its stderr, its exit status. */
static void expect(void (*fd1)(const void *), void (*body)(void),
		   const char *err, int status)
{
	struct outcome o;

	run_child(fd1, NULL, body, &o);
	assert_string_equal(o.err, err);
	assert_int_equal(o.status, status);
}

/* The 6.12 guest said "No such file or directory" here. */
static void test_full_named_after_a_later_call(void **state)
{
	(void)state;
	expect(fd1_dev_full, write_until_failed_then_lookup,
	       "conntrace: write error: No space left on device\n", 1);
}

static void test_closed_named_after_a_later_call(void **state)
{
	(void)state;
	expect(fd1_closed, write_until_failed_then_lookup,
	       "conntrace: write error: Bad file descriptor\n", 1);
}

/* Only what is still buffered at exit fails: told all the same. */
static void test_full_at_exit(void **state)
{
	(void)state;
	expect(fd1_dev_full, write_hello,
	       "conntrace: write error: No space left on device\n", 1);
}

static void test_reader_gone_is_seen_and_quiet(void **state)
{
	(void)state;
	expect(fd1_widowed_pipe, say_if_gone, "gone=1\n", 0);
}

static void test_file_gets_everything(void **state)
{
	char path[] = "/tmp/ct-ostream-XXXXXX", buf[32] = "";
	struct outcome o;
	ssize_t n;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	run_child(fd1_file, path, write_hello, &o);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(path);
	assert_int_equal(n, 6);
	assert_string_equal(buf, "hello\n");
	assert_string_equal(o.err, "");
	assert_int_equal(o.status, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_named_after_a_later_call),
		cmocka_unit_test(test_closed_named_after_a_later_call),
		cmocka_unit_test(test_full_at_exit),
		cmocka_unit_test(test_reader_gone_is_seen_and_quiet),
		cmocka_unit_test(test_file_gets_everything),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
