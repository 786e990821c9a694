// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE	/* strerrorname_np() */
#include "modes/export_model.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "modes/cgroup_out.h"
#include "output/format.h"

#define NS 1e-9
/* A request socket's state; netinet/tcp.h stops before it. */
#define NEW_SYN_RECV 12

/* Connect latency, seconds: loopback's tens of microseconds to timeouts. */
static const double latency_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
	0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

/* nstat counters that are levels, not counts (RFC 4022's tcpCurrEstab...). */
static const char *const nstat_gauges[] = {
	"TcpRtoAlgorithm", "TcpRtoMin", "TcpRtoMax", "TcpMaxConn", "TcpCurrEstab",
};

struct labels {
	const char *v[CT_M_MAX_LABELS];
	size_t n;
};

static void push(struct labels *l, const char *v)
{
	if (l->n < CT_M_MAX_LABELS)
		l->v[l->n++] = v;
}

/* A family's definition with the --by labels after its own. */
static struct ct_mdef with_by(struct ct_mdef d, const struct ct_export_by *by,
			      bool net, bool port)
{
	size_t n = 0;

	while (n < CT_M_MAX_LABELS && d.labels[n])
		n++;
	if (net && by->remote_net && n < CT_M_MAX_LABELS)
		d.labels[n++] = "remote_net";
	if (port && by->local_port && n < CT_M_MAX_LABELS)
		d.labels[n++] = "local_port";
	return d;
}

static int add(struct ct_export_model *x, int *id, struct ct_mdef d)
{
	*id = ct_metrics_family(&x->m, &d);
	return *id < 0 ? *id : 0;
}

static int add_event_families(struct ct_export_model *x)
{
	const struct ct_export_by *by = &x->by;

	return add(x, &x->trans, (struct ct_mdef){
			   .name = "conntrace_tcp_transitions",
			   .help = "TCP state transitions seen, by old and new state",
			   .labels = { "from", "to" } }) ?:
	       add(x, &x->conns, (struct ct_mdef){
			   .name = "conntrace_tcp_connections",
			   .help = "TCP sockets open at the last refresh, by state "
				   "(time-wait and request sockets are not full sockets "
				   "and not counted)",
			   .type = CT_M_GAUGE, .labels = { "state" } }) ?:
	       add(x, &x->bytes, with_by((struct ct_mdef){
			   .name = "conntrace_payload_bytes",
			   .help = "Payload bytes sent and received, by process name "
				   "and container (\"?\" when the owner is not known)",
			   .labels = { "comm", "container", "direction", "protocol" } }, by,
			   true, true)) ?:
	       add(x, &x->opened, with_by((struct ct_mdef){
			   .name = "conntrace_tcp_connections_opened",
			   .help = "TCP connections established, by side: active "
				   "(connect) or passive (accepted)",
			   .labels = { "side" } }, by, true, true)) ?:
	       add(x, &x->closed, (struct ct_mdef){
			   .name = "conntrace_tcp_connections_closed",
			   .help = "Established TCP connections closed, by side",
			   .labels = { "side" } }) ?:
	       add(x, &x->failed, with_by((struct ct_mdef){
			   .name = "conntrace_tcp_connect_failures",
			   .help = "Connects that ended before the connection was "
				   "established, by the socket's error (none: closed "
				   "by its owner), process name and container",
			   .labels = { "errno", "comm", "container" } }, by, true, false)) ?:
	       /* No --by labels: each series of a histogram is 19 lines. */
	       add(x, &x->latency, (struct ct_mdef){
			   .name = "conntrace_tcp_connect_duration_seconds",
			   .help = "Time from SYN sent to connection established",
			   .type = CT_M_HISTOGRAM, .scale = NS,
			   .bounds = latency_bounds,
			   .nbounds = sizeof(latency_bounds) / sizeof(latency_bounds[0]) });
}

/* The events of the events issue: the owner's name, and a bounded kind. */
static int add_trouble_families(struct ct_export_model *x)
{
	return add(x, &x->retrans, (struct ct_mdef){
			   .name = "conntrace_tcp_retransmits",
			   .help = "Segments sent again, by process name, container "
				   "and packet (data, syn, synack), as "
				   "tcpi_total_retrans counts them",
			   .labels = { "comm", "container", "packet" } }) ?:
	       add(x, &x->resets, (struct ct_mdef){
			   .name = "conntrace_tcp_resets",
			   .help = "TCP resets sent and received on sockets, by "
				   "process name, container and direction",
			   .labels = { "comm", "container", "direction" } }) ?:
	       add(x, &x->drops, (struct ct_mdef){
			   .name = "conntrace_tcp_drops",
			   .help = "Packets of TCP sockets and listeners the kernel "
				   "dropped, by process name, container and the "
				   "kernel's reason (LISTEN_DROP: a listener's own drop "
				   "counter)",
			   .labels = { "comm", "container", "reason" } });
}

static int add_kernel_families(struct ct_export_model *x)
{
	return add(x, &x->nstat, (struct ct_mdef){
			   .name = "conntrace_nstat",
			   .help = "The kernel's TCP and UDP counters, under their "
				   "nstat names (this network namespace)",
			   .labels = { "name" } }) ?:
	       add(x, &x->nstat_gauge, (struct ct_mdef){
			   .name = "conntrace_nstat_level",
			   .help = "The kernel's TCP values that are levels or "
				   "settings, not counts",
			   .type = CT_M_GAUGE, .labels = { "name" } });
}

static int add_self_families(struct ct_export_model *x)
{
	return add(x, &x->lost, (struct ct_mdef){
			   .name = "conntrace_events_lost",
			   .help = "Records the kernel side dropped: its ring buffer "
				   "was full" }) ?:
	       add(x, &x->maps_full, (struct ct_mdef){
			   .name = "conntrace_maps_full",
			   .help = "Updates refused because a kernel map was full",
			   .labels = { "map" } }) ?:
	       add(x, &x->evictions, (struct ct_mdef){
			   .name = "conntrace_evictions",
			   .help = "Byte entries the kernel's LRU map dropped" }) ?:
	       add(x, &x->unclosed, (struct ct_mdef){
			   .name = "conntrace_unclosed",
			   .help = "Sockets gone without their last counts (close "
				   "record lost)" }) ?:
	       add(x, &x->missed, (struct ct_mdef){
			   .name = "conntrace_bpf_recursion_misses",
			   .help = "Runs of a program the kernel skipped (another "
				   "BPF program was running on the CPU)",
			   .labels = { "program" } }) ?:
	       add(x, &x->run_time, (struct ct_mdef){
			   .name = "conntrace_bpf_run_time_seconds",
			   .help = "Time spent in each program, while "
				   "kernel.bpf_stats_enabled is 1",
			   .scale = NS, .labels = { "program" } }) ?:
	       add(x, &x->runs, (struct ct_mdef){
			   .name = "conntrace_bpf_runs",
			   .help = "Runs of each program, while "
				   "kernel.bpf_stats_enabled is 1",
			   .labels = { "program" } }) ?:
	       add(x, &x->scrape_dur, (struct ct_mdef){
			   .name = "conntrace_scrape_duration_seconds",
			   .help = "How long the previous scrape took to answer",
			   .type = CT_M_GAUGE, .scale = NS }) ?:
	       add(x, &x->scrapes, (struct ct_mdef){
			   .name = "conntrace_scrapes",
			   .help = "Scrapes of /metrics answered" }) ?:
	       add(x, &x->series, (struct ct_mdef){
			   .name = "conntrace_series",
			   .help = "Series exported (see --max-series)",
			   .type = CT_M_GAUGE }) ?:
	       add(x, &x->folded, (struct ct_mdef){
			   .name = "conntrace_series_folded",
			   .help = "Updates counted under label value \"other\" "
				   "because --max-series was reached" });
}

int ct_export_model_init(struct ct_export_model *x, const struct ct_export_by *by,
			 uint32_t max_series, const struct ct_kfilter *filter)
{
	memset(x, 0, sizeof(*x));
	x->by = *by;
	x->filter = filter;
	ct_metrics_init(&x->m, max_series);
	if (u64map_init(&x->listeners, 0) || u64map_init(&x->walk_listeners, 0))
		return -ENOMEM;
	return add_event_families(x) ?: add_kernel_families(x) ?:
	       add_self_families(x) ?: add_trouble_families(x);
}

void ct_export_model_free(struct ct_export_model *x)
{
	ct_metrics_free(&x->m);
	u64map_free(&x->listeners);
	u64map_free(&x->walk_listeners);
}

const char *ct_export_net_str(int family, const uint8_t *addr, unsigned prefix,
			      char *buf, size_t len)
{
	uint8_t net[CT_ADDR_LEN] = { 0 };
	unsigned bytes = family == AF_INET ? 4 : 16;
	char a[INET6_ADDRSTRLEN];

	if (prefix > bytes * 8)
		prefix = bytes * 8;
	memcpy(net, addr, prefix / 8);
	if (prefix % 8)
		net[prefix / 8] = addr[prefix / 8] & (uint8_t)(0xff00 >> (prefix % 8));
	if (!inet_ntop(family == AF_INET ? AF_INET : AF_INET6, net, a, sizeof(a)))
		snprintf(a, sizeof(a), "?");
	snprintf(buf, len, "%s/%u", a, prefix);
	return buf;
}

static uint64_t listen_key(uint32_t netns, uint16_t port)
{
	return ((uint64_t)netns << 16 | port) + 1;
}

/* The --by labels of one connection, into l and the buffers given. */
static void by_labels(const struct ct_export_model *x, struct labels *l,
		      bool net, bool port, int family, const uint8_t *daddr,
		      const char *local_port, char *netbuf, size_t netlen)
{
	if (net && x->by.remote_net)
		push(l, ct_export_net_str(family, daddr,
					  family == AF_INET ? x->by.prefix4
							    : x->by.prefix6,
					  netbuf, netlen));
	if (port && x->by.local_port)
		push(l, local_port);
}

static const char *errno_label(unsigned err, char *buf, size_t len)
{
	const char *name = err ? strerrorname_np((int)err) : "none";

	if (name)
		return name;
	snprintf(buf, len, "%u", err);
	return buf;
}

static void count_open(struct ct_export_model *x, const struct ct_event *ev)
{
	bool passive = ev->oldstate == TCP_SYN_RECV;
	struct labels l = { .v = { passive ? "passive" : "active" }, .n = 1 };
	char net[64], port[8] = "";

	if (passive)
		snprintf(port, sizeof(port), "%u", ev->sport);
	by_labels(x, &l, true, true, ev->family, ev->daddr, port, net, sizeof(net));
	ct_metrics_add(&x->m, x->opened, l.v, 1);
	if (!passive && (ev->flags & CT_EV_DELTA_KNOWN))
		ct_metrics_observe(&x->m, x->latency, NULL, ev->delta_ns);
}

/* A process name label: "?" for an owner not known for sure. */
static const char *comm_label(uint32_t pid, const char *comm, char *buf)
{
	snprintf(buf, CT_COMM_LEN + 1, "%.*s", CT_COMM_LEN, comm);
	return pid && buf[0] ? buf : "?";
}

/*
 * The owner's container as watch names it (its name, else its cgroup's
 * path), "?" for an owner or a cgroup not known for sure. Bounded as comm
 * is: names, never an id of a process, and --max-series over all. Valid
 * until the next lookup of a cgroup.
 */
static const char *container_label(uint32_t pid, uint64_t cgroup)
{
	return pid ? ct_container_cell(cgroup) : "?";
}

static void count_failure(struct ct_export_model *x, const struct ct_event *ev)
{
	struct labels l = { .n = 0 };
	char net[64], num[16], comm[CT_COMM_LEN + 1];

	push(&l, errno_label(ev->sk_err, num, sizeof(num)));
	push(&l, comm_label(ev->pid, ev->comm, comm));
	push(&l, container_label(ev->pid, ev->cgroup));
	by_labels(x, &l, true, false, ev->family, ev->daddr, "", net, sizeof(net));
	ct_metrics_add(&x->m, x->failed, l.v, 1);
}

/* The states a connection that was established can close from. */
static bool was_established(int state)
{
	switch (state) {
	case TCP_ESTABLISHED: case TCP_FIN_WAIT1: case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT: case TCP_LAST_ACK: case TCP_CLOSING:
	case TCP_TIME_WAIT:
		return true;
	default:
		return false;
	}
}

void ct_export_event(struct ct_export_model *x, const struct ct_event *ev)
{
	if (ev->type != CT_MSG_STATE || !ev->oldstate ||
	    ev->oldstate >= CT_EXPORT_STATES || !ev->newstate ||
	    ev->newstate >= CT_EXPORT_STATES)
		return;
	if (x->filter && !ct_kfilter_match(x->filter, ev->family, ev->newstate,
					   ev->saddr, ev->sport, ev->daddr,
					   ev->dport, ev->pid, ev->comm,
					   ev->cgroup))
		return;
	ct_metrics_add(&x->m, x->trans,
		       (const char *[]){ ct_state_name(ev->oldstate),
					 ct_state_name(ev->newstate) }, 1);
	if (ev->newstate == TCP_ESTABLISHED &&
	    (ev->oldstate == TCP_SYN_SENT || ev->oldstate == TCP_SYN_RECV))
		count_open(x, ev);
	else if (ev->newstate == TCP_CLOSE && ev->oldstate == TCP_SYN_SENT)
		count_failure(x, ev);
	else if (ev->newstate == TCP_CLOSE && was_established(ev->oldstate))
		ct_metrics_add(&x->m, x->closed,
			       (const char *[]){ ev->flags & CT_EV_PASSIVE
							 ? "passive" : "active" }, 1);
}

void ct_export_tev(struct ct_export_model *x, const struct ct_tev_line *l,
		   const char *reason)
{
	static const char *const packet[] = { "data", "syn", "synack" };
	const struct ct_tcp_ev *ev = &l->ev;
	/* As top counts it: a queued connection's is its listener's. */
	struct ct_tev_party p = ct_tev_party(l);
	char comm[CT_COMM_LEN + 1];
	const char *who = comm_label(p.pid, p.comm, comm);
	const char *ctr = container_label(p.pid, p.cgroup);

	switch (ev->kind) {
	case CT_TEV_RETRANS:
	case CT_TEV_SYNACK_RETRANS:
		ct_metrics_add(&x->m, x->retrans, (const char *[]){
			who, ctr, packet[ev->kind == CT_TEV_SYNACK_RETRANS ? 2 :
					 (ev->flags & CT_TEV_SYN) ? 1 : 0] }, ev->value);
		break;
	case CT_TEV_RESET_SENT:
	case CT_TEV_RESET_RECV:
		ct_metrics_add(&x->m, x->resets, (const char *[]){
			who, ctr, ev->kind == CT_TEV_RESET_SENT ? "sent" : "received" }, 1);
		break;
	case CT_TEV_DROP:
		ct_metrics_add(&x->m, x->drops, (const char *[]){
			who, ctr, reason ? reason : "unknown" }, ev->value);
		break;
	default:
		break;
	}
}

void ct_export_walk_states(struct ct_export_model *x, const uint32_t *counts,
			   size_t n)
{
	x->kernel_states = true;
	for (size_t s = 0; s < n && s < CT_EXPORT_STATES; s++)
		x->states[s] = counts[s];
}

void ct_export_sock(struct ct_export_model *x, const struct ct_tcp_rec *r)
{
	if (r->state == TCP_LISTEN)
		u64map_put(&x->walk_listeners, listen_key(r->netns, r->sport), NULL);
	/* Counted in the kernel, idle sockets too. */
	if (x->kernel_states || !r->state || r->state >= CT_EXPORT_STATES)
		return;
	if (x->filter && !ct_kfilter_match(x->filter, r->family, r->state,
					   r->saddr, r->sport, r->daddr,
					   r->dport, r->owner.pid, r->owner.comm,
					   r->owner.cgroup))
		return;
	x->states[r->state]++;
}

static void refresh_states(struct ct_export_model *x)
{
	struct u64map t = x->listeners;

	for (int s = 1; s < CT_EXPORT_STATES; s++)
		/* The walk never sees these two: a 0 would claim it looked. */
		if (s != TCP_TIME_WAIT && s != NEW_SYN_RECV)
			ct_metrics_set(&x->m, x->conns,
				       (const char *[]){ ct_state_name(s) },
				       x->states[s]);
	memset(x->states, 0, sizeof(x->states));
	x->listeners = x->walk_listeners;
	x->walk_listeners = t;
	u64map_clear(&x->walk_listeners);
}

static void add_bytes(struct ct_export_model *x, const struct ct_share *s)
{
	static const char *const dir[2] = { [CT_TX] = "sent", [CT_RX] = "received" };
	char comm[CT_COMM_LEN + 1], net[64], port[8] = "";
	struct labels l = { .n = 0 };

	push(&l, comm_label(s->pid, s->k.comm, comm));
	push(&l, container_label(s->pid, s->k.cgroup));
	push(&l, "");
	push(&l, s->k.proto == IPPROTO_UDP ? "udp" : "tcp");
	if (s->k.proto == IPPROTO_TCP &&
	    u64map_get(&x->listeners, listen_key(s->k.netns, s->k.sport)))
		snprintf(port, sizeof(port), "%u", s->k.sport);
	by_labels(x, &l, true, true, s->k.family, s->k.daddr, port, net,
		  sizeof(net));
	for (int d = 0; d < 2; d++) {
		if (!s->delta[d])
			continue;
		l.v[2] = dir[d];
		ct_metrics_add(&x->m, x->bytes, l.v, s->delta[d]);
	}
}

static bool is_nstat_gauge(const char *name)
{
	for (size_t i = 0; i < sizeof(nstat_gauges) / sizeof(nstat_gauges[0]); i++)
		if (!strcmp(name, nstat_gauges[i]))
			return true;
	return false;
}

static void refresh_nstat(struct ct_export_model *x, const struct ct_counters *c)
{
	for (size_t i = 0; c && i < c->n; i++) {
		const char *name = c->v[i].name;

		if (strncmp(name, "Tcp", 3) && strncmp(name, "Udp", 3))
			continue;
		ct_metrics_set(&x->m, is_nstat_gauge(name) ? x->nstat_gauge : x->nstat,
			       (const char *[]){ name }, c->v[i].val);
	}
}

static void refresh_self(struct ct_export_model *x, const struct ct_export_self *s)
{
	ct_metrics_set(&x->m, x->lost, NULL, s->ring_drops);
	ct_metrics_set(&x->m, x->maps_full, (const char *[]){ "sockets" },
		       s->sock_map_full);
	ct_metrics_set(&x->m, x->maps_full, (const char *[]){ "listeners" },
		       s->listen_map_full);
	ct_metrics_set(&x->m, x->maps_full, (const char *[]){ "bytes" },
		       s->conn_map_full);
	ct_metrics_set(&x->m, x->evictions, NULL, s->evicted);
	ct_metrics_set(&x->m, x->unclosed, NULL, s->unclosed);
	ct_metrics_set(&x->m, x->scrape_dur, NULL, s->last_scrape_ns);
	ct_metrics_set(&x->m, x->scrapes, NULL, s->scrapes);
	/* Last, so that they count every series made above. */
	ct_metrics_set(&x->m, x->series, NULL, x->m.nseries);
	ct_metrics_set(&x->m, x->folded, NULL, x->m.folded);
}

void ct_export_refresh(struct ct_export_model *x, const struct ct_acct *a,
		       const struct ct_counters *counters,
		       const struct ct_export_self *self)
{
	refresh_states(x);
	for (size_t i = 0; a && i < a->nshares; i++)
		if (a->shares[i].delta[CT_TX] || a->shares[i].delta[CT_RX])
			add_bytes(x, &a->shares[i]);
	refresh_nstat(x, counters);
	refresh_self(x, self);
}

void ct_export_run_time(void *model, const char *name, uint64_t run_ns,
			uint64_t runs)
{
	struct ct_export_model *x = model;

	ct_metrics_set(&x->m, x->run_time, (const char *[]){ name }, run_ns);
	ct_metrics_set(&x->m, x->runs, (const char *[]){ name }, runs);
}

void ct_export_missed(struct ct_export_model *x, const char *name,
		      uint64_t misses)
{
	ct_metrics_set(&x->m, x->missed, (const char *[]){ name }, misses);
}
