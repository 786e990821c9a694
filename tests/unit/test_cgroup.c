// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/cgroup.h"

#define ID64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID "8f4c2b1e-3a5d-4e6f-9a0b-1c2d3e4f5a6b"
#define UID_ "8f4c2b1e_3a5d_4e6f_9a0b_1c2d3e4f5a6b"

struct layout {
	const char *path;
	const char *name;	/* NULL: no layout known (-ENOENT) */
	const char *runtime, *pod, *service;
};

static const struct layout layouts[] = {
	{ "/system.slice/nginx.service", "nginx.service", "", "", "nginx.service" },
	{ "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service",
	  "foo.service", "", "", "foo.service" },
	{ "/system.slice/docker-" ID64 ".scope", "docker:0123456789ab", "docker", "", "" },
	{ "/system.slice/cri-containerd-" ID64 ".scope", "containerd:0123456789ab",
	  "containerd", "", "" },
	{ "/machine.slice/crio-" ID64 ".scope", "crio:0123456789ab", "crio", "", "" },
	{ "/machine.slice/libpod-" ID64 ".scope", "podman:0123456789ab", "podman", "", "" },
	{ "/docker/" ID64, "docker:0123456789ab", "docker", "", "" },
	{ "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice",
	  "pod:" UID, "", UID, "" },
	{ "/kubepods.slice/kubepods-pod" UID_ ".slice", "pod:" UID, "", UID, "" },
	{ "/kubepods/besteffort/pod" UID, "pod:" UID, "", UID, "" },
	/* A container in a pod: the container is named, the pod kept. */
	{ "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_
	  ".slice/cri-containerd-" ID64 ".scope", "containerd:0123456789ab",
	  "containerd", UID, "" },
	/* A container started by a service: the container wins. */
	{ "/system.slice/containerd.service/docker-" ID64 ".scope",
	  "docker:0123456789ab", "docker", "", "containerd.service" },
	/* Unknown or malformed layouts: no name. */
	{ "/", NULL, "", "", "" },
	{ "/user.slice/user-1000.slice/session-3.scope", NULL, "", "", "" },
	{ "/system.slice/docker-0123.scope", NULL, "", "", "" },
	{ "/system.slice/docker-" ID64 "0.scope", NULL, "", "", "" },
	{ "/system.slice/docker-" ID64 ".scopex", NULL, "", "", "" },
	{ "/system.slice/docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.scope",
	  NULL, "", "", "" },
	{ "/system.slice/docker-" ID64, NULL, "", "", "" },
	{ "/system.slice/podman-" ID64 ".scope", NULL, "", "", "" },
	{ "/kubepods.slice/kubepods-podnotauid.slice", NULL, "", "", "" },
	{ "/kubepods.slice/kubepods-pod" UID_ "x.slice", NULL, "", "", "" },
	{ "/kubepods-pod.slice", NULL, "", "", "" },
	{ "/pod" UID, NULL, "", "", "" },	/* not under kubepods */
	{ "/other/" ID64, NULL, "", "", "" },
	{ "/system.slice/.service", NULL, "", "", "" },
	{ "//system.slice//nginx.service/", "nginx.service", "", "", "nginx.service" },
};

static void test_layouts(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		const struct layout *l = &layouts[i];
		struct ct_container c;
		int rc = ct_container_parse(l->path, &c);

		print_message("%s\n", l->path);
		assert_int_equal(rc, l->name ? 0 : -ENOENT);
		assert_string_equal(c.name, l->name ? l->name : "");
		assert_string_equal(c.runtime, l->runtime);
		assert_string_equal(c.pod, l->pod);
		assert_string_equal(c.service, l->service);
		if (l->runtime[0])
			assert_string_equal(c.id, ID64);
	}
}

static void test_bad_paths(void **state)
{
	char longp[2000];
	struct ct_container c;

	(void)state;
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(ct_container_parse(NULL, &c), -EINVAL);
	assert_int_equal(ct_container_parse("", &c), -EINVAL);
	assert_int_equal(ct_container_parse("system.slice/nginx.service", &c), -EINVAL);
	assert_int_equal(ct_container_parse(longp, &c), -EINVAL);
	assert_string_equal(c.name, "");
}

static void test_match(void **state)
{
	struct ct_container c;
	const char *p = "/system.slice/docker-" ID64 ".scope";

	(void)state;
	assert_int_equal(ct_container_parse(p, &c), 0);
	assert_true(ct_container_match(&c, p, "docker:0123456789ab"));
	assert_true(ct_container_match(&c, p, "0123456789ab"));
	assert_true(ct_container_match(&c, p, ID64));
	assert_true(ct_container_match(&c, p, "0123"));
	assert_false(ct_container_match(&c, p, "012"));
	assert_false(ct_container_match(&c, p, "123456789ab"));
	assert_false(ct_container_match(&c, p, ID64 "0"));
	assert_false(ct_container_match(&c, p, ""));
	assert_false(ct_container_match(&c, p, p));

	p = "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID64 ".scope";
	assert_int_equal(ct_container_parse(p, &c), 0);
	assert_true(ct_container_match(&c, p, UID));
	assert_true(ct_container_match(&c, p, "containerd:0123456789ab"));
	assert_false(ct_container_match(&c, p, "pod:" UID "x"));

	p = "/system.slice/nginx.service";
	assert_int_equal(ct_container_parse(p, &c), 0);
	assert_true(ct_container_match(&c, p, "nginx.service"));
	assert_true(ct_container_match(&c, p, "nginx"));
	assert_false(ct_container_match(&c, p, "ngin"));
	assert_false(ct_container_match(&c, p, "nginx.servic"));

	p = "/user.slice/user-1000.slice/session-3.scope";
	assert_int_equal(ct_container_parse(p, &c), -ENOENT);
	assert_true(ct_container_match(&c, p, p));
	assert_false(ct_container_match(&c, p, "session-3.scope"));
	assert_false(ct_container_match(&c, NULL, p));
}

static void test_under(void **state)
{
	(void)state;
	assert_true(ct_cgroup_under("/a", "/a"));
	assert_true(ct_cgroup_under("/a/b", "/a"));
	assert_true(ct_cgroup_under("/a/b", "/a/"));
	assert_false(ct_cgroup_under("/ab", "/a"));
	assert_false(ct_cgroup_under("/a", "/a/b"));
	assert_true(ct_cgroup_under("/a", "/"));
	assert_true(ct_cgroup_under("/", "/"));
	assert_false(ct_cgroup_under("/b", "/a"));
}

/* fn on a file that holds text. */
static int parse_text(int (*fn)(FILE *, char *, size_t), const char *text,
		      char *out, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int rc;

	assert_non_null(f);
	rc = fn(f, out, len);
	fclose(f);
	return rc;
}

static int parse_mounts(const char *text, char *out, size_t len)
{
	return parse_text(ct_cgroup_mount_parse, text, out, len);
}

static void test_mountinfo(void **state)
{
	char out[256];

	(void)state;
	/* Hybrid: v1 controllers on a tmpfs, v2 below them. */
	assert_int_equal(parse_mounts(
		"25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
		"26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n"
		"27 25 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n",
		out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/fs/cgroup/unified");
	assert_int_equal(parse_mounts(
		"26 25 0:23 / /mnt/my\\040cg rw - cgroup2 none rw\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/mnt/my cg");
	assert_int_equal(parse_mounts(
		"27 25 0:24 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"
		"garbage\n\n - cgroup2\n", out, sizeof(out)), -ENOENT);
	assert_int_equal(parse_mounts(
		"26 25 0:23 / /a/very/long/mount/point rw - cgroup2 none rw\n",
		out, 8), -ENOENT);
}

static int parse_proc(const char *text, char *out, size_t len)
{
	return parse_text(ct_proc_cgroup_parse, text, out, len);
}

static void test_proc_cgroup(void **state)
{
	char out[64];

	(void)state;
	/* Hybrid: v1 hierarchies first, v2's line anywhere among them. */
	assert_int_equal(parse_proc(
		"12:cpu,cpuacct:/user.slice\n"
		"1:name=systemd:/user.slice/session-3.scope\n"
		"0::/system.slice/nginx.service\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/system.slice/nginx.service");
	assert_int_equal(parse_proc("0::/\n", out, sizeof(out)), 0);
	assert_string_equal(out, "/");
	/* No newline at the end; a name with dots and colons is a name. */
	assert_int_equal(parse_proc("0::/a/..b/c:d", out, sizeof(out)), 0);
	assert_string_equal(out, "/a/..b/c:d");
	/* v1 only: no v2 line. */
	assert_int_equal(parse_proc("3:memory:/x\n", out, sizeof(out)), -ENOENT);
	assert_int_equal(parse_proc("", out, sizeof(out)), -ENOENT);
	assert_int_equal(parse_proc("0::/gone (deleted)\n", out, sizeof(out)), -ENOENT);
}

static void test_proc_cgroup_malformed(void **state)
{
	static const char *const bad[] = {
		"0::\n",			/* no path */
		"0::system.slice\n",		/* not absolute */
		"0::/../../other\n",		/* outside our namespace */
		"0::/a/..\n",
		"0::/a\n0::/b\n",		/* two v2 lines */
		"0::/a\nb\n",			/* the rest of a name with a newline */
		"garbage\n0::/a\n",
		":memory:/x\n0::/a\n",	/* no hierarchy number */
		"3:memory\n0::/a\n",		/* no path */
		"\n0::/a\n",
		"x0::/a\n",
	};
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse_proc(bad[i], out, sizeof(out)), -EINVAL);
	assert_int_equal(parse_proc("0::/0123456789abcdef\n", out, sizeof(out)),
			 -ENAMETOOLONG);
	assert_int_equal(parse_proc("0::/0123456789abcd\n", out, sizeof(out)), 0);
}

static char docker_dir[64];

/* A config.v2.json for ID64 in a fresh directory, holding text. */
static void docker_config(const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", docker_dir, ID64);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/%s/config.v2.json", docker_dir, ID64);
	unlink(path);
	if (!text)
		return;
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_docker_name(void **state)
{
	char name[64], path[256];

	(void)state;
	snprintf(docker_dir, sizeof(docker_dir), "/tmp/ct-test-docker-XXXXXX");
	assert_non_null(mkdtemp(docker_dir));
	docker_config("{\"ID\":\"" ID64 "\",\"Name\":\"/web-1\",\"State\":{}}");
	assert_int_equal(ct_docker_name_from(docker_dir, ID64, name, sizeof(name)), 0);
	assert_string_equal(name, "web-1");
	/* Too small a buffer, a bad id: refused, nothing read. */
	assert_int_equal(ct_docker_name_from(docker_dir, ID64, name, 4), -EINVAL);
	assert_int_equal(ct_docker_name_from(docker_dir, "0123", name, sizeof(name)), -EINVAL);
	assert_int_equal(ct_docker_name_from(docker_dir, "../" ID64, name, sizeof(name)), -EINVAL);
	docker_config("{\"Name\":\"/we b\"}");
	assert_int_equal(ct_docker_name_from(docker_dir, ID64, name, sizeof(name)), -EINVAL);
	docker_config("{\"Name\":\"/web");
	assert_int_equal(ct_docker_name_from(docker_dir, ID64, name, sizeof(name)), -EINVAL);
	docker_config("{}");
	assert_int_equal(ct_docker_name_from(docker_dir, ID64, name, sizeof(name)), -EINVAL);
	docker_config(NULL);
	assert_int_equal(ct_docker_name_from(docker_dir, ID64, name, sizeof(name)), -ENOENT);
	/* A FIFO with no writer must not block. */
	snprintf(path, sizeof(path), "%s/%s/config.v2.json", docker_dir, ID64);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(ct_docker_name_from(docker_dir, ID64, name, sizeof(name)), -EINVAL);
}

/* Runs even when an assertion failed: the directory goes. */
static int docker_teardown(void **state)
{
	char path[256];

	(void)state;
	if (docker_dir[0]) {
		docker_config(NULL);
		snprintf(path, sizeof(path), "%s/%s", docker_dir, ID64);
		rmdir(path);
		rmdir(docker_dir);
	}
	return 0;
}

static void test_match_runtime_prefix(void **state)
{
	struct ct_container c;
	const char *p = "/system.slice/docker-" ID64 ".scope";

	(void)state;
	assert_int_equal(ct_container_parse(p, &c), 0);
	strcpy(c.given, "web");
	strcpy(c.name, "docker:web");
	assert_true(ct_container_match(&c, p, "web"));
	assert_true(ct_container_match(&c, p, "docker:web"));
	assert_true(ct_container_match(&c, p, "docker:0123456789ab"));
	assert_false(ct_container_match(&c, p, "podman:0123456789ab"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layouts),
		cmocka_unit_test(test_bad_paths),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_under),
		cmocka_unit_test(test_mountinfo),
		cmocka_unit_test_teardown(test_docker_name, docker_teardown),
		cmocka_unit_test(test_match_runtime_prefix),
		cmocka_unit_test(test_proc_cgroup),
		cmocka_unit_test(test_proc_cgroup_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
