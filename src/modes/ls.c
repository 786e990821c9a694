// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/ls.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "engine/cgroup.h"
#include "engine/diag.h"
#include "engine/filter.h"
#include "output/format.h"
#include "engine/session.h"
#include "modes/ls_by.h"
#include "modes/ls_groups.h"
#include "modes/ls_out.h"
#include "engine/resolve.h"
#include "engine/stopsig.h"
#include "modes/runner.h"
#include "engine/netns.h"
#include "engine/owners.h"
#include "engine/privs.h"
#include "engine/walkcost.h"
#include "output/ostream.h"

#define MAX_NETNS 4096
/*
 * Rows held while the owners are found and the columns are measured, at
 * most: past this, the dump waits for the walk and rows are written as they
 * come (a longer one widens its column from there on), so memory does not
 * grow with the number of sockets.
 */
#define HOLD_MAX 16384

struct ls {
	struct ct_ls_opts opts;
	struct ct_session session;
	struct ct_owners owners;
	bool have_owners;
	enum ct_walk walk;	/* where owners come from */
	/*
	 * Owners are found on a second thread while the sockets are dumped:
	 * the walk's fixed cost (BTF, verifier) then hides behind the dump.
	 * Rows wait in `out` until the owners are known, and until the
	 * table's widths are.
	 */
	pthread_t owner_thread;
	bool owner_thread_running;
	atomic_bool owners_ready;
	bool written;		/* the header and the held rows are out */
	bool owners_first;	/* found before the dump: see owners_first() */
	struct ct_ls_out out;
	struct ct_diag diag;
	struct ct_ls_summary summary;
	struct ct_ls_groups groups;	/* states --by-container */
	uint64_t unowned;	/* rows that asked for an owner and got none */
	uint32_t netns[MAX_NETNS];
	int nnetns;
	uint64_t since_ns;
	struct ct_by_count by;		/* states --by */
	struct ct_resolver resolver;	/* -r */
	const char *when;		/* --interval: this listing's time */
};

/* h: the socket's holder, where the owners were needed first. */
static bool wanted(const struct ls *l, const struct ct_sockrec *r,
		   const struct ct_holder *h)
{
	uint64_t cgroup = ct_ls_cgroup(r->cgroup, h);

	if (l->opts.cgroup && !ct_cgroup_id_under(cgroup, l->opts.cgroup))
		return false;
	if (l->opts.container && !ct_cgroup_id_is(cgroup, l->opts.container))
		return false;
	return ctf_match_tuple(l->opts.filter, r->family, r->state, r->saddr,
			       r->sport, r->daddr, r->dport, cgroup);
}

/*
 * Whether every socket's owner must be known before it is matched or
 * counted: per owner, and per owner's cgroup. Otherwise the walk (-p)
 * runs beside the dump, or not at all.
 */
static bool owners_first(const struct ct_ls_opts *o)
{
	return o->by == CT_BY_COMM || o->by == CT_BY_PROCESS ||
	       o->by == CT_BY_CONTAINER || o->by_container || o->cgroup ||
	       o->container || ctf_needs_cgroup(o->filter);
}

static const struct ct_holder *owner_of(void *ctx, uint64_t inode)
{
	struct ls *l = ctx;
	const struct ct_holder *h = NULL;

	if (l->have_owners && inode)
		h = ct_owners_find(&l->owners, inode, l->since_ns);
	if (!h && inode && l->opts.procs)
		l->unowned++;
	return h;
}

static void join_owner_thread(struct ls *l)
{
	if (!l->owner_thread_running)
		return;
	pthread_join(l->owner_thread, NULL);
	l->owner_thread_running = false;
}

/* Once the owners and the widths are known: the header, then held rows. */
static void write_held(struct ls *l)
{
	join_owner_thread(l);
	if (l->written)
		return;
	ct_ls_write_held(&l->out, owner_of, l);
	l->written = true;
}

/* Rows wait for the owners, and in a table for the widths. */
static bool must_hold(const struct ls *l)
{
	bool waiting = l->owner_thread_running && !atomic_load(&l->owners_ready);

	if (ct_ls_nheld(&l->out) >= HOLD_MAX || (l->written && !waiting))
		return false;
	return waiting || !l->opts.json;
}

static int on_socket(const struct ct_sockrec *r, void *ctx)
{
	struct ls *l = ctx;
	const struct ct_holder *h = NULL;

	if (l->owners_first && l->have_owners && r->inode)
		h = ct_owners_find(&l->owners, r->inode, l->since_ns);
	if (!wanted(l, r, h))
		return 0;
	if (l->opts.by)
		return ct_by_add(&l->by, l->opts.by, r, h);
	if (l->opts.summary) {
		ct_ls_count(&l->summary, r);
		if (l->summary.groups)
			return ct_ls_groups_count(l->summary.groups, r,
						  ct_ls_cgroup(r->cgroup, h));
		return 0;
	}
	if (must_hold(l))
		return ct_ls_hold(&l->out, r);
	write_held(l);
	ct_ls_row(&l->out, r, owner_of(l, r->inode));
	/* A reader that went away wants no more: stop the dump. */
	return ct_out_failed(stdout) ? -EPIPE : 0;
}

/*
 * The kernel's file walk sees every task at once but costs a fixed ~60 ms
 * to load; on a host with few processes and sockets /proc is cheaper (and
 * is also what we fall back to without the rights for BPF, though it then
 * shows only what we may see).
 */
static bool want_bpf_walk(const struct ls *l)
{
	char err[256];

	if (l->walk == CT_WALK_PROC || ct_check_privileges(err, sizeof(err)))
		return false;
	return l->walk == CT_WALK_BPF ||
	       !ct_proc_walk_cheaper(ct_count_procs(), ct_sockets_in_use());
}

static void load_owners(struct ls *l)
{
	int rc = -EPERM;

	if (want_bpf_walk(l))
		rc = ct_session_open_iter(&l->session);
	if (ct_owners_init(&l->owners, rc ? NULL : l->session.skel))
		return;
	l->since_ns = ct_monotonic_ns();
	/* One walk now; lookups after it never walk again. */
	l->have_owners = !ct_owners_walk(&l->owners);
}

static void *owner_thread(void *arg)
{
	struct ls *l = arg;

	load_owners(l);
	/* The walk is done: free the BPF object here, beside the dump. */
	l->owners.skel = NULL;
	ct_session_stop(&l->session);
	atomic_store(&l->owners_ready, true);
	return NULL;
}

static void start_owners(struct ls *l)
{
	if (pthread_create(&l->owner_thread, NULL, owner_thread, l) == 0)
		l->owner_thread_running = true;
	else
		load_owners(l);
}

static int pick_netns(struct ls *l, char *err, size_t len)
{
	if (l->opts.netns_all) {
		l->nnetns = ct_netns_all(l->netns, MAX_NETNS);
		return 0;
	}
	for (int i = 0; i < l->opts.nnetns; i++) {
		int rc = ct_netns_resolve(l->opts.netns[i], &l->netns[l->nnetns++]);

		if (rc) {
			snprintf(err, len, "network namespace '%s': %s",
				 l->opts.netns[i], ct_netns_strerror(rc));
			return rc;
		}
	}
	if (!l->nnetns)
		l->netns[l->nnetns++] = ct_netns_self();
	return 0;
}

static int dump_proto_plain(struct ls *l, struct mnl_socket *nl, uint32_t ns,
			    int proto, uint32_t states, unsigned ext)
{
	static const int families[] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		int rc;

		if (l->opts.family && l->opts.family != families[i])
			continue;
		rc = ct_sockdump(nl, ns, families[i], proto, states, ext,
				 on_socket, l);
		if (rc)
			return rc;
	}
	return 0;
}

static int dump_netns(struct ls *l, uint32_t ns)
{
	struct mnl_socket *nl = ct_diag_sock(&l->diag, ns);
	uint32_t tcp = ct_ls_tcp_states(&l->opts);
	uint32_t udp = ct_ls_udp_states(&l->opts);
	unsigned ext = l->opts.mem || l->opts.trouble ? CT_DUMP_MEM : 0;
	int rc = 0;

	if (!nl)
		return -ENOENT;
	/* A histogram needs no tcp_info: the cheaper plain dump will do. */
	if (l->opts.tcp && tcp && l->opts.summary && !l->opts.trouble)
		rc = dump_proto_plain(l, nl, ns, IPPROTO_TCP, tcp, ext);
	else if (l->opts.tcp && tcp)
		rc = ct_sockdump_tcp(nl, ns, l->opts.family, tcp, ext, on_socket, l);
	if (!rc && l->opts.udp && udp)
		rc = dump_proto_plain(l, nl, ns, IPPROTO_UDP, udp, ext);
	return rc;
}

static int list(struct ls *l)
{
	char err[256];
	int rc;

	if ((rc = pick_netns(l, err, sizeof(err)))) {
		fprintf(stderr, "conntrace: %s\n", err);
		return 2;	/* the user named it */
	}
	l->owners_first = owners_first(&l->opts);
	if (l->owners_first)
		load_owners(l);
	else if (l->opts.procs)
		start_owners(l);
	l->by.trouble = l->opts.trouble;
	ct_ls_out_init(&l->out, stdout, &l->opts, l->nnetns > 1);
	if (l->opts.resolve)
		l->out.resolver = &l->resolver;
	l->out.time = l->when;
	for (int i = 0; i < l->nnetns; i++) {
		rc = dump_netns(l, l->netns[i]);
		/* A write error is told once, at exit (output/ostream.h). */
		if (rc && ct_out_failed(stdout))
			return 1;
		/* With 'all', a namespace that vanished meanwhile is no error. */
		if (rc && !(l->opts.netns_all && rc == -ENOENT)) {
			fprintf(stderr, "conntrace: listing sockets in netns %u: %s\n",
				l->netns[i], strerror(-rc));
			return 1;
		}
	}
	write_held(l);
	if (l->opts.by)
		ct_by_print(stdout, &l->by, l->opts.by, l->opts.json);
	else if (l->opts.summary)
		ct_ls_print_summary(stdout, &l->summary, l->opts.json);
	/* As netstat says it: a '-' for want of rights is not "no owner". */
	if (l->unowned && l->have_owners && l->owners.denied) {
		ct_out_flush(stdout);
		fputs("conntrace: not all processes could be identified; sockets of other users' processes show '-' (root sees them all)\n",
		      stderr);
	}
	return 0;
}

static enum ct_parse_result parse(void *self, int argc, char **argv,
				  char *err, size_t errlen)
{
	struct ls *l = self;
	enum ct_parse_result rc = ct_ls_parse(argc, argv, &l->opts, err, errlen);
	int walk;

	if (rc != CT_PARSE_OK)
		return rc;
	walk = ct_walk_from_env(getenv("CONNTRACE_OWNER_WALK"));
	if (walk < 0) {
		snprintf(err, errlen, "CONNTRACE_OWNER_WALK must be auto, proc or bpf");
		ctf_free(l->opts.filter);
		l->opts.filter = NULL;
		return CT_PARSE_ERROR;
	}
	l->walk = walk;
	return CT_PARSE_OK;
}

/* What one listing leaves behind, so that the next starts afresh. */
static void reset_listing(struct ls *l)
{
	ct_ls_out_free(&l->out);
	l->written = false;
	if (l->have_owners)
		ct_owners_free(&l->owners);
	l->have_owners = false;
	atomic_store(&l->owners_ready, false);
	ct_session_stop(&l->session);
	memset(&l->session, 0, sizeof(l->session));
	memset(&l->summary, 0, sizeof(l->summary));
	ct_by_free(&l->by);
	l->unowned = 0;
	l->nnetns = 0;
}

/* ls --interval: like `watch ss`, each listing under its time. */
static int repeat(struct ls *l)
{
	char when[40];
	int rc = ct_stop_on_signals();

	/* Only a repeating listing waits: one listing dies at Ctrl-C as before. */
	if (rc) {
		fprintf(stderr, "conntrace: cannot handle signals: %s\n",
			strerror(-rc));
		return 1;
	}
	for (uint32_t i = 0; !ct_stop && (!l->opts.count || i < l->opts.count); i++) {
		if (i) {
			ct_wait_interval(l->opts.interval_s);
			if (ct_stop || ct_out_gone(stdout))
				break;
			reset_listing(l);
		}
		ct_iso_time_str(ct_clock_ns(CLOCK_REALTIME), when, sizeof(when));
		if (!l->opts.json)
			printf("%s%s\n", i ? "\n" : "", when);
		l->when = when;
		rc = list(l);
		join_owner_thread(l);
		ct_out_flush(stdout);
		if (rc || ct_out_failed(stdout))
			return rc ? rc : 1;
	}
	return 0;
}

static int run(void *self)
{
	struct ls *l = self;
	int rc;

	if (l->opts.by_container) {
		if (ct_ls_groups_init(&l->groups)) {
			fprintf(stderr, "conntrace: out of memory\n");
			return 1;
		}
		l->summary.groups = &l->groups;
	}

	if (ct_diag_init(&l->diag) ||
	    (l->opts.resolve && ct_resolver_init(&l->resolver, NULL))) {
		fprintf(stderr, "conntrace: out of memory\n");
		return 1;
	}
	rc = l->opts.interval_s ? repeat(l) : list(l);
	join_owner_thread(l);	/* on error paths too: the thread uses l */
	return rc;
}

static void finish(void *self)
{
	struct ls *l = self;

	ct_ls_out_free(&l->out);
	ct_by_free(&l->by);
	ct_resolver_free(&l->resolver);
	if (l->summary.groups)
		ct_ls_groups_free(l->summary.groups);
	ct_diag_free(&l->diag);
	if (l->have_owners)
		ct_owners_free(&l->owners);
	ct_session_stop(&l->session);
	ctf_free(l->opts.filter);
}

/* ls and states: one mode under two command lines. */
static int ls_main(int argc, char **argv, const struct ct_cmd *cmd)
{
	const struct ct_mode mode = {
		.cmd = cmd, .parse = parse,
		.out = CT_OUT_BLOCKS, .run = run, .finish = finish,
	};
	struct ls *l = calloc(1, sizeof(*l));
	int rc;

	if (!l) {
		fprintf(stderr, "conntrace: out of memory\n");
		return 1;
	}
	rc = ct_mode_run(&mode, l, argc, argv);
	free(l);
	return rc;
}

int ct_ls_main(int argc, char **argv)
{
	return ls_main(argc, argv, &ct_ls_cmd);
}

int ct_states_main(int argc, char **argv)
{
	return ls_main(argc, argv, &ct_states_cmd);
}
