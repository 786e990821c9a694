// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE
#include "engine/cgroup.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/grow.h"
#include "lib/u64map.h"
#include "output/format.h"

#define PATH_MAX_LEN 1024
/* Cgroups remembered; past this the cache starts afresh. */
#define CACHE_MAX 4096
/* A cgroup not found is looked for again at most this often. */
#define MISS_RETRY_NS 1000000000ULL
/* Hierarchies are shallow; this bounds the walk on a corrupt one. */
#define MAX_DEPTH 32

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

/* s is exactly prefix, then a 64-hex id, then suffix; the id into id. */
static bool scoped_id(const char *s, size_t n, const char *prefix,
		      const char *suffix, char *id)
{
	size_t lp = strlen(prefix), ls = strlen(suffix);

	if (n != lp + CT_CONTAINER_ID_LEN + ls || strncmp(s, prefix, lp) ||
	    strncmp(s + n - ls, suffix, ls) || !all_hex(s + lp, CT_CONTAINER_ID_LEN))
		return false;
	memcpy(id, s + lp, CT_CONTAINER_ID_LEN);
	id[CT_CONTAINER_ID_LEN] = '\0';
	return true;
}

/* systemd's slices spell a UID's dashes as underscores. */
static bool pod_uid(const char *s, size_t n, char *uid)
{
	if (n != CT_POD_UID_LEN)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		char ch = s[i] == '_' ? '-' : s[i];

		if (dash ? ch != '-' : !all_hex(&ch, 1))
			return false;
		uid[i] = ch;
	}
	uid[n] = '\0';
	return true;
}

/* kubepods-pod<uid>.slice, kubepods-<qos>-pod<uid>.slice, or cgroupfs's pod<uid>. */
static bool pod_component(const char *s, size_t n, bool under_kubepods,
			  char *uid)
{
	const char *p;

	if (n > 6 && !strncmp(s, "kubepods-", 9) && !strncmp(s + n - 6, ".slice", 6)) {
		p = s + n - 6 - CT_POD_UID_LEN - 3;
		if (p < s + 8 || strncmp(p, "pod", 3) || p[-1] != '-')
			return false;
		return pod_uid(p + 3, CT_POD_UID_LEN, uid);
	}
	return under_kubepods && n == CT_POD_UID_LEN + 3 &&
	       !strncmp(s, "pod", 3) && pod_uid(s + 3, CT_POD_UID_LEN, uid);
}

static const struct {
	const char *prefix, *runtime;
} scopes[] = {
	{ "docker-", "docker" },
	{ "cri-containerd-", "containerd" },
	{ "crio-", "crio" },
	{ "libpod-", "podman" },
};

/* One path component; parent is the one before it ("" at the top). */
static void parse_component(struct ct_container *c, const char *s, size_t n,
			    const char *parent, size_t pn, bool under_kubepods)
{
	char id[CT_CONTAINER_ID_LEN + 1];

	for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
		if (scoped_id(s, n, scopes[i].prefix, ".scope", id)) {
			snprintf(c->runtime, sizeof(c->runtime), "%s", scopes[i].runtime);
			memcpy(c->id, id, sizeof(c->id));
			return;
		}
	/* Docker's cgroupfs driver: /docker/<id>. */
	if (pn == 6 && !strncmp(parent, "docker", 6) &&
	    scoped_id(s, n, "", "", id)) {
		snprintf(c->runtime, sizeof(c->runtime), "docker");
		memcpy(c->id, id, sizeof(c->id));
		return;
	}
	if (pod_component(s, n, under_kubepods, id)) {
		memcpy(c->pod, id, CT_POD_UID_LEN + 1);
		return;
	}
	if (n > 8 && n < sizeof(c->service) && !strncmp(s + n - 8, ".service", 8)) {
		memcpy(c->service, s, n);
		c->service[n] = '\0';
	}
}

static void name_container(struct ct_container *c)
{
	if (c->id[0])
		snprintf(c->name, sizeof(c->name), "%s:%.*s", c->runtime,
			 CT_CONTAINER_SHORT, c->id);
	else if (c->pod[0])
		snprintf(c->name, sizeof(c->name), "pod:%s", c->pod);
	else if (c->service[0])
		snprintf(c->name, sizeof(c->name), "%s", c->service);
}

int ct_container_parse(const char *path, struct ct_container *c)
{
	const char *s, *parent = "";
	bool kubepods = false;
	size_t pn = 0;

	memset(c, 0, sizeof(*c));
	if (!path || path[0] != '/' || strlen(path) >= PATH_MAX_LEN)
		return -EINVAL;
	for (s = path + 1; *s;) {
		size_t n = strcspn(s, "/");

		if (n) {
			parse_component(c, s, n, parent, pn, kubepods);
			if ((n == 8 && !strncmp(s, "kubepods", 8)) ||
			    (n > 8 && !strncmp(s, "kubepods", 8) &&
			     (s[8] == '.' || s[8] == '-')))
				kubepods = true;
			parent = s;
			pn = n;
		}
		s += n;
		if (*s == '/')
			s++;
	}
	name_container(c);
	return c->name[0] ? 0 : -ENOENT;
}

/* Docker's state, where a name can be read without asking the daemon. */
#define DOCKER_DIR "/var/lib/docker/containers"
#define DOCKER_CONFIG_MAX (1 << 20)

/* A name as Docker allows them: [a-zA-Z0-9][a-zA-Z0-9_.-]*. */
static bool plain_name(const char *s, size_t n)
{
	if (!n || !isalnum((unsigned char)s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static int read_small(const char *path, char **out)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	ssize_t got;
	char *buf;
	int rc;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_size > DOCKER_CONFIG_MAX) {
		close(fd);
		return -EFBIG;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	got = read(fd, buf, (size_t)st.st_size);
	rc = got < 0 ? -errno : 0;
	close(fd);
	if (rc) {
		free(buf);
		return rc;
	}
	buf[got] = '\0';
	*out = buf;
	return 0;
}

int ct_docker_name_from(const char *dir, const char *id, char *out,
			size_t len)
{
	static const char key[] = "\"Name\":\"/";
	char path[PATH_MAX_LEN], *text = NULL, *name;
	size_t n;
	int rc;

	if (strlen(id) != CT_CONTAINER_ID_LEN || !all_hex(id, CT_CONTAINER_ID_LEN))
		return -EINVAL;
	snprintf(path, sizeof(path), "%s/%s/config.v2.json", dir, id);
	rc = read_small(path, &text);
	if (rc)
		return rc;
	name = strstr(text, key);
	n = name ? strcspn(name + sizeof(key) - 1, "\"") : 0;
	if (!name || name[sizeof(key) - 1 + n] != '"' ||
	    !plain_name(name + sizeof(key) - 1, n) || n >= len) {
		free(text);
		return -EINVAL;
	}
	memcpy(out, name + sizeof(key) - 1, n);
	out[n] = '\0';
	free(text);
	return 0;
}

/* Docker's own name for a container, where its state files say it. */
static void add_given_name(struct ct_container *c)
{
	if (strcmp(c->runtime, "docker") ||
	    ct_docker_name_from(DOCKER_DIR, c->id, c->given, sizeof(c->given)))
		return;
	snprintf(c->name, sizeof(c->name), "docker:%s", c->given);
}

bool ct_container_match(const struct ct_container *c, const char *path,
			const char *want)
{
	size_t n = strlen(want), sn = strlen(c->service), rl;

	if (!n)
		return false;
	if (!c->name[0])
		return path && !strcmp(path, want);
	if (!strcmp(c->name, want) || !strcmp(c->pod, want) ||
	    (c->given[0] && !strcmp(c->given, want)))
		return true;
	rl = strlen(c->runtime);
	/* "docker:0123456789ab" still names it once Docker's name is shown. */
	if (rl && !strncmp(want, c->runtime, rl) && want[rl] == ':') {
		want += rl + 1;
		n -= rl + 1;
	}
	if (c->id[0] && n >= 4 && n <= CT_CONTAINER_ID_LEN &&
	    !strncmp(c->id, want, n))
		return true;
	return sn > 8 && n == sn - 8 && !strncmp(c->service, want, n);
}

bool ct_cgroup_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);

	while (n > 1 && prefix[n - 1] == '/')
		n--;
	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return !strncmp(path, prefix, n) && (path[n] == '\0' || path[n] == '/');
}

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int ct_cgroup_mount_parse(FILE *mountinfo, char *out, size_t len)
{
	char line[4096], mnt[4096], fstype[64];

	while (fgets(line, sizeof(line), mountinfo)) {
		const char *sep = strstr(line, " - ");

		/* id parent dev root mountpoint ...; " - " fstype source opts */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2"))
			continue;
		unescape(mnt);
		if (strlen(mnt) >= len)
			continue;
		snprintf(out, len, "%s", mnt);
		return 0;
	}
	return -ENOENT;
}

static char mount_path[PATH_MAX_LEN];
static bool mount_looked;

const char *ct_cgroup_mount(void)
{
	FILE *f;

	if (mount_looked)
		return mount_path[0] ? mount_path : NULL;
	mount_looked = true;
	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return NULL;
	if (ct_cgroup_mount_parse(f, mount_path, sizeof(mount_path)))
		mount_path[0] = '\0';
	fclose(f);
	return mount_path[0] ? mount_path : NULL;
}

struct slot {
	struct ct_cgroup *cg;	/* NULL: looked for and not found */
	uint64_t miss_ns;
};

static struct u64map cache;
static bool cache_ready;

static void cache_reset(void)
{
	for (size_t i = 0; i < cache.cap; i++) {
		struct slot *s = (struct slot *)(cache.vals + i * cache.val_size);

		if (cache.keys[i] && s->cg) {
			free((char *)s->cg->path);
			free(s->cg);
		}
	}
	u64map_clear(&cache);
}

/* A fresh slot for id, clearing everything once the cache is full. */
static struct slot *cache_slot(uint64_t id)
{
	struct slot *s;
	int created;

	if (!cache_ready) {
		if (u64map_init(&cache, sizeof(struct slot)))
			return NULL;
		cache_ready = true;
	}
	s = u64map_get(&cache, id);
	if (s)
		return s;
	if (cache.len >= CACHE_MAX)
		cache_reset();
	return u64map_put(&cache, id, &created);
}

static int remember(uint64_t id, const char *rel)
{
	struct slot *s = cache_slot(id);
	struct ct_cgroup *cg;

	if (!s)
		return -ENOMEM;
	if (s->cg)
		return 0;
	cg = calloc(1, sizeof(*cg));
	if (!cg || !(cg->path = strdup(rel))) {
		free(cg);
		return -ENOMEM;
	}
	cg->id = id;
	ct_container_parse(cg->path, &cg->ctr);
	add_given_name(&cg->ctr);
	s->cg = cg;
	return 0;
}

/*
 * A cgroup's id is the kernfs id of its directory, which a file handle of
 * the cgroup2 mount carries (the kernel opens cgroups by it); on 64-bit
 * machines it is the inode number too, the fallback.
 */
static uint64_t dir_id(int dirfd, const char *name)
{
	struct {
		struct file_handle fh;
		uint64_t id;
	} h = { .fh.handle_bytes = sizeof(uint64_t) };
	struct stat st;
	int mnt;

	if (!name_to_handle_at(dirfd, name, &h.fh, &mnt, 0) &&
	    h.fh.handle_bytes == sizeof(uint64_t))
		return h.id;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW))
		return 0;
	return st.st_ino;
}

typedef void (*visit_fn)(uint64_t id, const char *rel, void *ctx);

struct visitor {
	visit_fn fn;
	void *ctx;
};

/* Visits every cgroup below rel (a path in buf of len bytes). */
static void walk(int dirfd, char *buf, size_t len, size_t at, int depth,
		 const struct visitor *v)
{
	struct dirent *de;
	DIR *d;

	if (depth > MAX_DEPTH)
		return;
	d = fdopendir(dirfd);
	if (!d) {
		close(dirfd);
		return;
	}
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		int fd;

		if (de->d_type != DT_DIR || de->d_name[0] == '.' ||
		    at + 1 + n >= len)
			continue;
		buf[at] = '/';
		memcpy(buf + at + 1, de->d_name, n + 1);
		v->fn(dir_id(dirfd, de->d_name), buf, v->ctx);
		fd = openat(dirfd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0)
			walk(fd, buf, len, at + 1 + n, depth + 1, v);
		buf[at] = '\0';
	}
	closedir(d);
}

static void visit_mount(const char *root, visit_fn fn, void *ctx)
{
	const struct visitor v = { fn, ctx };
	char buf[PATH_MAX_LEN] = "";
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	fn(dir_id(AT_FDCWD, root), "/", ctx);
	walk(fd, buf, sizeof(buf), 0, 0, &v);
}

static void remember_visit(uint64_t id, const char *rel, void *ctx)
{
	(void)ctx;
	remember(id, rel);
}

static void walk_mount(const char *root)
{
	visit_mount(root, remember_visit, NULL);
}

const struct ct_cgroup *ct_cgroup_get(uint64_t id)
{
	const char *root = ct_cgroup_mount();
	uint64_t now = ct_monotonic_ns();
	struct slot *s;

	if (!id || !root)
		return NULL;
	s = cache_ready ? u64map_get(&cache, id) : NULL;
	if (s && (s->cg || now - s->miss_ns < MISS_RETRY_NS))
		return s->cg;
	walk_mount(root);
	s = cache_slot(id);
	if (!s)
		return NULL;
	if (!s->cg)
		s->miss_ns = now;
	return s->cg;
}

const char *ct_cgroup_label(const struct ct_cgroup *cg)
{
	return cg->ctr.name[0] ? cg->ctr.name : cg->path;
}

bool ct_cgroup_id_under(uint64_t id, const char *prefix)
{
	const struct ct_cgroup *cg = ct_cgroup_get(id);

	return cg && ct_cgroup_under(cg->path, prefix);
}

bool ct_cgroup_id_is(uint64_t id, const char *want)
{
	const struct ct_cgroup *cg = ct_cgroup_get(id);

	return cg && ct_container_match(&cg->ctr, cg->path, want);
}

/* "ID:CONTROLLERS:PATH": the path, or NULL if the line is not so. */
static char *proc_cgroup_path(char *line, bool *v2)
{
	char *p = line, *ctrl;

	while (isdigit((unsigned char)*p))
		p++;
	if (p == line || *p != ':')
		return NULL;
	ctrl = p + 1;
	p = strchr(ctrl, ':');
	if (!p)
		return NULL;
	/* Hierarchy 0, with no controllers named, is cgroup v2's. */
	*v2 = p == line + 2 && line[0] == '0' && p == ctrl;
	return p + 1;
}

/* A path the cgroup2 mount can hold: absolute, no step upwards. */
static bool plain_path(const char *path)
{
	const char *s;

	if (path[0] != '/')
		return false;
	for (s = path; (s = strstr(s, "/..")); s += 3)
		if (s[3] == '/' || s[3] == '\0')
			return false;
	return true;
}

int ct_proc_cgroup_parse(FILE *f, char *out, size_t len)
{
	char *line = NULL, *path;
	size_t cap = 0;
	ssize_t n;
	int rc = -ENOENT;
	bool v2;

	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			line[--n] = '\0';
		path = proc_cgroup_path(line, &v2);
		/*
		 * The kernel does not escape a newline in a cgroup's name, so
		 * a line that is not ID:CONTROLLERS:PATH may be the rest of
		 * a path: the whole file is then not to be trusted.
		 */
		if (!path || (v2 && rc != -ENOENT) || (v2 && !plain_path(path))) {
			rc = -EINVAL;
			break;
		}
		if (!v2)
			continue;
		if (strlen(path) >= len) {
			rc = -ENAMETOOLONG;
			break;
		}
		snprintf(out, len, "%s", path);
		rc = 0;
	}
	free(line);
	if (rc)
		return rc;
	/* A cgroup removed while a process is still in it has no directory. */
	n = (ssize_t)strlen(out);
	if (n > 10 && !strcmp(out + n - 10, " (deleted)"))
		return -ENOENT;
	return 0;
}

uint64_t ct_cgroup_of_pid(uint32_t pid)
{
	const char *root = ct_cgroup_mount();
	char path[64], rel[PATH_MAX_LEN], full[2 * PATH_MAX_LEN];
	uint64_t id = 0;
	FILE *f;
	int rc;

	if (!root)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	rc = ct_proc_cgroup_parse(f, rel, sizeof(rel));
	fclose(f);
	if (rc)
		return 0;
	snprintf(full, sizeof(full), "%s%s", root, rel);
	id = dir_id(AT_FDCWD, full);
	if (id)
		remember(id, rel);
	return id;
}

struct matching {
	const char *under, *container;
	uint64_t *ids;
	size_t n, cap;
	uint64_t max;
	int err;
};

static void max_visit(uint64_t id, const char *rel, void *ctx)
{
	struct matching *m = ctx;

	(void)rel;
	if (id > m->max)
		m->max = id;
}

static void match_visit(uint64_t id, const char *rel, void *ctx)
{
	struct matching *m = ctx;
	struct ct_container c;

	if (!id || m->err)
		return;
	if (m->under && !ct_cgroup_under(rel, m->under))
		return;
	if (m->container) {
		ct_container_parse(rel, &c);
		add_given_name(&c);
		if (!ct_container_match(&c, rel, m->container))
			return;
	}
	if (ct_grow((void **)&m->ids, &m->cap, m->n, sizeof(*m->ids)))
		m->err = -ENOMEM;
	else
		m->ids[m->n++] = id;
}

int ct_cgroup_list_matching(const char *under, const char *container,
			    uint64_t **ids, uint64_t *max)
{
	struct matching m = { .under = under, .container = container };
	const char *root = ct_cgroup_mount();

	*ids = NULL;
	*max = 0;
	if (!root)
		return -ENOENT;
	/*
	 * The highest id first, then the matches: a cgroup made during the
	 * first walk with an id below that highest one existed before the
	 * second walk began, so no id up to *max is missed.
	 */
	visit_mount(root, max_visit, &m);
	visit_mount(root, match_visit, &m);
	if (m.err) {
		free(m.ids);
		return m.err;
	}
	*ids = m.ids;
	*max = m.max;
	return (int)m.n;
}
