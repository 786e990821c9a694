// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#define _GNU_SOURCE	/* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/recfile.h"
#include "engine/recmodel.h"
#include "engine/recwrite.h"
#include "modes/replay.h"
#include "modes/replay_opts.h"
#include "output/format.h"

static void test_when_forms(void **state)
{
	struct ct_when w;

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(ct_when_parse("+90", &w), 0);
	assert_true(w.relative);
	assert_int_equal(ct_when_wall(&w, 1000000000ULL), 91000000000ULL);
	assert_int_equal(ct_when_parse("@1700000000.5", &w), 0);
	assert_int_equal(ct_when_wall(&w, 0), 1700000000500000000ULL);
	assert_int_equal(ct_when_parse("2023-11-14 22:13:20", &w), 0);
	assert_int_equal(ct_when_wall(&w, 0), 1700000000000000000ULL);
	assert_int_equal(ct_when_parse("2023-11-14T22:13", &w), 0);
	assert_int_equal(ct_when_wall(&w, 0), 1699999980000000000ULL);
	/* A time of day lands on the recording's first day. */
	assert_int_equal(ct_when_parse("01:00:05", &w), 0);
	assert_true(w.time_of_day);
	assert_int_equal(ct_when_wall(&w, 1700000000000000000ULL),
			 (1700000000ULL / 86400 * 86400 + 3605) * 1000000000ULL);
}

/* Given times are in the zone shown times are in: local, or UTC (--utc). */
static void test_when_zone(void **state)
{
	struct ct_when d, tod;
	const uint64_t start = 1700000000000000000ULL;	/* 22:13:20Z */

	(void)state;
	setenv("TZ", "IST-5:30", 1);
	tzset();
	assert_int_equal(ct_when_parse("2023-11-14 22:13:20", &d), 0);
	assert_int_equal(ct_when_parse("01:00:05", &tod), 0);
	assert_int_equal(ct_when_wall(&d, 0), start - 19800000000000ULL);
	/* The start is 03:43:20 on the 15th there. */
	assert_int_equal(ct_when_wall(&tod, start), 1699990205000000000ULL);
	/* --utc after the time on the command line still counts. */
	ct_time_set_utc(true);
	assert_int_equal(ct_when_wall(&d, 0), start);
	assert_int_equal(ct_when_wall(&tod, start),
			 (1700000000ULL / 86400 * 86400 + 3605) * 1000000000ULL);
	ct_time_set_utc(false);
	setenv("TZ", "UTC", 1);
	tzset();
}

static void test_utc_option(void **state)
{
	char a0[] = "replay", a1[] = "rec", a2[] = "--utc", a3[] = "--json";
	char *argv[] = { a0, a1, a2, a3, NULL };
	struct ct_replay_opts o;
	char err[128];

	(void)state;
	ct_time_set_utc(false);
	assert_int_equal(ct_replay_parse(4, argv, &o, err, sizeof(err)),
			 CT_PARSE_OK);
	assert_true(ct_time_utc());
	assert_true(o.json);
	ct_time_set_utc(false);
}

static void test_when_junk(void **state)
{
	struct ct_when w;

	(void)state;
	assert_int_equal(ct_when_parse("+x", &w), -EINVAL);
	assert_int_equal(ct_when_parse("25:61", &w), -EINVAL);
	assert_int_equal(ct_when_parse("2023-11-14", &w), -EINVAL);
	assert_int_equal(ct_when_parse("yesterday", &w), -EINVAL);
	assert_int_equal(ct_when_parse("@", &w), -EINVAL);
	/* Past 2^64 ns (found by fuzz_options): no undefined conversion. */
	assert_int_equal(ct_when_parse("@34000000000", &w), -EINVAL);
}

static void apply(struct ct_recmodel *m, uint16_t type, const void *p,
		  uint16_t len)
{
	struct ct_rec rec = { .type = type, .len = len, .data = p };

	assert_int_equal(ct_recmodel_apply(m, &rec), 0);
}

static void snap(struct ct_recmodel *m, uint32_t kind, uint32_t count)
{
	struct ct_rec_snap h = { .ts_ns = 1, .kind = kind, .count = count };

	apply(m, CT_REC_SNAP, &h, sizeof(h));
}

static void sock(struct ct_recmodel *m, uint64_t skaddr, uint8_t st,
		 uint16_t sport, uint64_t acked)
{
	struct ct_tcp_rec t = {
		.skaddr = skaddr, .state = st, .sport = sport, .netns = 7,
		.tcp.bytes_acked = acked,
	};

	apply(m, CT_REC_SOCK, &t, sizeof(t));
}

static void line(struct ct_recmodel *m, uint64_t skaddr, uint8_t old,
		 uint8_t new, uint16_t sport)
{
	struct ct_rec_line l = { .ts_ns = 5 };

	l.ev.skaddr = skaddr;
	l.ev.oldstate = old;
	l.ev.newstate = new;
	l.ev.sport = sport;
	l.ev.netns = 7;
	l.ev.pid = 42;
	l.ev.owner_src = CT_OWNER_CONNECT;
	apply(m, CT_REC_LINE, &l, sizeof(l));
}

struct seen {
	size_t n;
	uint64_t acked[4];
	uint8_t state[4];
	uint32_t pid[4];
};

static int collect(const struct ct_tcp_rec *t, void *ctx)
{
	struct seen *s = ctx;

	assert_true(t->skaddr >= 1 && t->skaddr <= 4);
	s->acked[t->skaddr - 1] = t->tcp.bytes_acked;
	s->state[t->skaddr - 1] = t->state;
	s->pid[t->skaddr - 1] = t->owner.pid;
	s->n++;
	return 0;
}

static void test_model(void **state)
{
	struct ct_recmodel m;
	struct seen s = { 0 };
	struct ct_tcp_rec probe = { .netns = 7, .sport = 80 };

	(void)state;
	assert_int_equal(ct_recmodel_init(&m), 0);
	snap(&m, CT_SNAP_OPEN, 2);
	sock(&m, 1, TCP_LISTEN, 80, 0);
	sock(&m, 2, TCP_ESTABLISHED, 80, 100);
	assert_true(ct_recmodel_passive(&m, &probe));
	/* Counters change, a connection opens, one closes. */
	snap(&m, CT_SNAP_COUNTERS, 1);
	sock(&m, 2, TCP_ESTABLISHED, 80, 250);
	line(&m, 3, TCP_CLOSE, TCP_SYN_SENT, 5000);
	line(&m, 3, TCP_SYN_SENT, TCP_ESTABLISHED, 5000);
	line(&m, 2, TCP_ESTABLISHED, TCP_CLOSE, 80);
	assert_int_equal(ct_recmodel_each(&m, collect, &s), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.state[0], TCP_LISTEN);
	assert_int_equal(s.state[1], 0);
	assert_int_equal(s.state[2], TCP_ESTABLISHED);
	assert_int_equal(s.pid[2], 42);
	/* The listener closes: its port no longer makes sockets passive. */
	line(&m, 1, TCP_LISTEN, TCP_CLOSE, 80);
	assert_false(ct_recmodel_passive(&m, &probe));
	/* A file's first snapshot starts over. */
	snap(&m, CT_SNAP_OPEN, 1);
	sock(&m, 4, TCP_ESTABLISHED, 9, 1);
	memset(&s, 0, sizeof(s));
	ct_recmodel_each(&m, collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.acked[3], 1);
	ct_recmodel_free(&m);
}

/*
 * A snapshot walks the kernel while transitions wait in the ring: a line
 * applied after it may be older. The counters keep the state they were
 * read in; time-wait sockets and sockets never read have none.
 */
static void test_model_counted_state(void **state)
{
	struct ct_recmodel m;
	struct seen s = { 0 };

	(void)state;
	assert_int_equal(ct_recmodel_init(&m), 0);
	snap(&m, CT_SNAP_OPEN, 0);
	snap(&m, CT_SNAP_COUNTERS, 1);
	sock(&m, 1, TCP_FIN_WAIT2, 5000, 300002);
	line(&m, 1, TCP_SYN_SENT, TCP_ESTABLISHED, 5000);
	line(&m, 2, TCP_CLOSE, TCP_SYN_SENT, 5001);
	sock(&m, 3, TCP_ESTABLISHED, 5002, 10);
	line(&m, 3, TCP_FIN_WAIT2, TCP_TIME_WAIT, 5002);
	assert_int_equal(ct_recmodel_each(&m, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.state[0], TCP_ESTABLISHED);
	memset(&s, 0, sizeof(s));
	assert_int_equal(ct_recmodel_each_counted(&m, collect, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.state[0], TCP_FIN_WAIT2);
	assert_int_equal(s.acked[0], 300002);
	ct_recmodel_free(&m);
}

/* A shorter record than version 1's is skipped, a longer one taken. */
static void test_model_lengths(void **state)
{
	struct ct_recmodel m;
	struct seen s = { 0 };
	unsigned char big[sizeof(struct ct_tcp_rec) + 40] = { 0 };
	struct ct_tcp_rec t = { .skaddr = 1, .state = TCP_ESTABLISHED };

	(void)state;
	assert_int_equal(ct_recmodel_init(&m), 0);
	apply(&m, CT_REC_SOCK, &t, CT_REC_SOCK_MIN - 1);
	ct_recmodel_each(&m, collect, &s);
	assert_int_equal(s.n, 0);
	memcpy(big, &t, sizeof(t));
	apply(&m, CT_REC_SOCK, big, sizeof(big));
	ct_recmodel_each(&m, collect, &s);
	assert_int_equal(s.n, 1);
	ct_recmodel_free(&m);
}

static bool final(uint8_t old, uint8_t new, bool derived)
{
	struct ct_rec_line l = { .derived = derived };

	l.ev.oldstate = old;
	l.ev.newstate = new;
	return ct_rec_line_final(&l);
}

/*
 * Each connection has one line with its last counters: the active
 * closer's is the derived hand-off to TIME_WAIT, never the derived
 * TIME_WAIT -> CLOSE after it (its bytes would count twice).
 */
static void test_final_line(void **state)
{
	(void)state;
	assert_true(final(TCP_LAST_ACK, TCP_CLOSE, false));
	assert_true(final(TCP_ESTABLISHED, TCP_CLOSE, false));
	assert_true(final(TCP_SYN_SENT, TCP_CLOSE, false));
	assert_true(final(TCP_FIN_WAIT2, TCP_CLOSE, false));
	assert_false(final(TCP_LISTEN, TCP_CLOSE, false));
	assert_false(final(TCP_ESTABLISHED, TCP_FIN_WAIT1, false));
	assert_true(final(TCP_FIN_WAIT2, TCP_TIME_WAIT, true));
	assert_true(final(TCP_FIN_WAIT1, TCP_TIME_WAIT, true));
	assert_true(final(TCP_CLOSING, TCP_TIME_WAIT, true));
	assert_true(final(TCP_FIN_WAIT2, TCP_CLOSE, true));
	assert_false(final(TCP_TIME_WAIT, TCP_CLOSE, true));
}

/* --- the replay as a user runs it: output, one error line, exit code --- */

struct run {
	int rc;
	char out[8192], err[1024];	/* the first of each */
	size_t out_lines;		/* all of stdout's */
};

/* The first len - 1 bytes of f into buf; returns how many lines f has. */
static size_t read_all(FILE *f, char *buf, size_t len)
{
	size_t n, lines = 0;
	int c;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = '\0';
	rewind(f);
	while ((c = getc(f)) != EOF)
		lines += c == '\n';
	fclose(f);
	return lines;
}

/* `conntrace replay ARGS...` (NULL-terminated) in a child: its stdout, stderr and exit code. */
static void run_replay_v(struct run *r, const char *const *args)
{
	char m[] = "replay", words[6][256];
	char *argv[8] = { m };
	FILE *out = tmpfile(), *err = tmpfile();
	int status, argc = 1;
	pid_t pid;

	assert_non_null(out);
	assert_non_null(err);
	for (; args[argc - 1]; argc++) {
		assert_true(argc <= 6);
		snprintf(words[argc - 1], sizeof(words[0]), "%s", args[argc - 1]);
		argv[argc] = words[argc - 1];
	}
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(fileno(out), 1);
		dup2(fileno(err), 2);
		_exit(ct_replay_main(argc, argv));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	r->rc = WEXITSTATUS(status);
	r->out_lines = read_all(out, r->out, sizeof(r->out));
	read_all(err, r->err, sizeof(r->err));
}

static void run_replay(struct run *r, const char *a1, const char *a2)
{
	const char *args[] = { a1, a2, NULL };

	run_replay_v(r, args);
}

static size_t lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* A fresh temporary file at path, a mkstemp() template. */
static void tmp_file(char *path)
{
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
}

/* A recording of lines transitions (a few blocks' worth), a loss record of len bytes. */
static void write_rec(const char *path, unsigned nlines, uint16_t loss_len)
{
	struct ct_rec_writer w;
	struct ct_rec_writer_opts o = {
		.path = path,
		.header = "hostname=unit\nboot_wall_ns=0\nstarted_mono_ns=1\n",
	};
	struct ct_rec_snap h = { .ts_ns = 1, .kind = CT_SNAP_OPEN };
	struct ct_rec_loss l = {
		.ts_ns = 9, .ring_drops = 1, .sock_map_full = 2,
		.listen_map_full = 3, .walk_errors = 4,
		.accept_ring_drops = 5, .missed_transitions = 6,
		.missed_accepts = 7, .missed_events = 8,
		.untracked_time_wait = 9,
	};
	struct ct_rec_end e = { .ts_ns = 10 };
	char err[128];

	assert_int_equal(ct_rec_writer_open(&w, &o, err, sizeof(err)), 0);
	assert_int_equal(ct_rec_put(&w, CT_REC_SNAP, &h, sizeof(h), 1), 0);
	for (unsigned i = 0; i < nlines; i++) {
		struct ct_rec_line rl = { .ts_ns = 2 + i };

		rl.ev.skaddr = 0x1000 + i;
		rl.ev.oldstate = TCP_CLOSE;
		rl.ev.newstate = TCP_SYN_SENT;
		rl.ev.family = 2;
		/* Little to compress: blocks fill after a few hundred lines. */
		for (size_t k = 0; k < sizeof(rl.ev.saddr); k++)
			rl.ev.saddr[k] = (uint8_t)(rand() >> 3);
		assert_int_equal(ct_rec_put(&w, CT_REC_LINE, &rl, sizeof(rl),
					    rl.ts_ns), 0);
	}
	if (loss_len)
		assert_int_equal(ct_rec_put(&w, CT_REC_LOSS, &l, loss_len, 9), 0);
	assert_int_equal(ct_rec_put(&w, CT_REC_END, &e, sizeof(e), 10), 0);
	assert_int_equal(ct_rec_writer_close(&w), 0);
}

/* --info tells each kind of loss, and which an older recorder did not count. */
static void test_info_losses(void **state)
{
	char path[] = "/tmp/ct-replay-test.XXXXXX";
	struct run r;

	(void)state;
	tmp_file(path);
	write_rec(path, 3, sizeof(struct ct_rec_loss));
	run_replay(&r, "--info", path);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "lost while recording:\n"));
	assert_non_null(strstr(r.out, "  kernel records, ring buffer full: 1\n"));
	assert_non_null(strstr(r.out, "  accept records, ring buffer full: 5\n"));
	assert_non_null(strstr(r.out, "  transitions the kernel skipped (recursion): 6\n"));
	assert_non_null(strstr(r.out, "  accepts the kernel skipped (recursion): 7\n"));
	assert_non_null(strstr(r.out, "  other events the kernel skipped (recursion): 8\n"));
	assert_non_null(strstr(r.out, "  sockets untracked, map full: 2\n"));
	assert_non_null(strstr(r.out, "  listeners untracked, map full: 3\n"));
	assert_non_null(strstr(r.out, "  TIME_WAIT hand-offs not followed: 9\n"));
	assert_non_null(strstr(r.out, "  snapshots failed: 4\n"));
	/* Version 1's first writer: 40 bytes, the later kinds unknown. */
	write_rec(path, 3, CT_REC_LOSS_MIN);
	run_replay(&r, "--info", path);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "  snapshots failed: 4\n"));
	assert_non_null(strstr(r.out, "  accept records, ring buffer full: not recorded\n"));
	/* Nothing lost says so. */
	write_rec(path, 3, 0);
	run_replay(&r, "--info", path);
	assert_non_null(strstr(r.out, "lost while recording: not recorded"));
	unlink(path);
}

static void write_bytes(const char *path, const unsigned char *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* Damage: one line on stderr, exit 2; a file cut in its last block replays. */
static void test_damaged_files(void **state)
{
	char path[] = "/tmp/ct-replay-test.XXXXXX", cut[64];
	unsigned char *buf, *blk;
	struct run r;
	long size;
	FILE *f;

	(void)state;
	tmp_file(path);
	write_rec(path, 3000, sizeof(struct ct_rec_loss));
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	buf = malloc((size_t)size);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
	fclose(f);
	snprintf(cut, sizeof(cut), "%s.cut", path);

	run_replay(&r, path, "--json");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.out_lines, 3000);
	assert_string_equal(r.err, "");
	/* Cut inside its last block: the lines before it, and a note. */
	write_bytes(cut, buf, (size_t)size - 5);
	run_replay(&r, cut, "--json");
	assert_int_equal(r.rc, 0);
	assert_true(r.out_lines > 0 && r.out_lines < 3000);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "was cut short: replayed up to byte"));
	/* Empty, cut in the magic, in the header, before the first block. */
	for (size_t n = 0; n < 100; n += n < 20 ? 5 : 40) {
		write_bytes(cut, buf, n);
		run_replay(&r, cut, NULL);
		assert_int_equal(r.rc, 2);
		assert_int_equal(lines(r.err), 1);
	}
	/* The header whole, the first block not: nothing to replay. */
	blk = memmem(buf, (size_t)size, "CBLK", 4);
	assert_non_null(blk);
	write_bytes(cut, buf, (size_t)(blk - buf) + 10);
	run_replay(&r, cut, NULL);
	assert_int_equal(r.rc, 2);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "nothing to replay"));
	/* Damage inside, before the last block: exit 2, never a crash. */
	buf[size / 2] ^= 0x5a;
	write_bytes(cut, buf, (size_t)size);
	run_replay(&r, cut, "--json");
	assert_int_equal(r.rc, 2);
	assert_int_equal(lines(r.err), 1);
	assert_non_null(strstr(r.err, "checksum mismatch"));
	run_replay(&r, "--info", cut);
	assert_int_equal(r.rc, 2);
	assert_int_equal(lines(r.err), 1);
	/* Not a file at all. */
	run_replay(&r, "/", NULL);
	assert_int_equal(r.rc, 2);
	assert_string_equal(r.err, "conntrace: cannot read /: not a regular file\n");
	free(buf);
	unlink(cut);
	unlink(path);
}


/* --- events (struct ct_rec_tev) ------------------------------------------ */

#define TEV_HEADER "hostname=unit\nboot_wall_ns=0\nstarted_mono_ns=1\n" \
	"events=127\ndrop_reasons=NOT_SPECIFIED,NO_SOCKET\n" \
	"reset_reasons=NOT_SPECIFIED,TCP_INVALID_ACK\n"

static void put_rec(struct ct_rec_writer *w, uint16_t type, const void *p,
		    size_t len, uint64_t ts)
{
	assert_int_equal(ct_rec_put(w, type, p, (uint16_t)len, ts), 0);
}

static void put_tev(struct ct_rec_writer *w, uint64_t skaddr, uint8_t kind,
		    uint64_t ts, uint64_t value, int32_t code, uint16_t dport)
{
	struct ct_rec_tev t = { .ts_ns = ts };

	t.ev.type = CT_MSG_TCP_EV;
	t.ev.kind = kind;
	t.ev.state = TCP_ESTABLISHED;
	t.ev.ts_ns = ts;
	t.ev.skaddr = skaddr;
	t.ev.value = value;
	t.ev.code = code;
	t.ev.family = 2;
	t.ev.sport = 40000;
	t.ev.dport = dport;
	t.ev.saddr[0] = t.ev.daddr[0] = 127;
	t.ev.saddr[3] = t.ev.daddr[3] = 1;
	t.ev.pid = 42;
	t.ev.owner_src = CT_OWNER_CONNECT;
	memcpy(t.ev.comm, "client", 7);
	put_rec(w, CT_REC_TEV, &t, sizeof(t), ts);
}

/*
 * A snapshot of connection 0x10; with retrans >= 0, its record carries the
 * kernel's count of its retransmits, read just before ts, in its first
 * len bytes.
 */
static void put_counters_n(struct ct_rec_writer *w, uint32_t kind, uint64_t ts,
			   uint8_t state, uint64_t acked, int retrans,
			   size_t len)
{
	struct ct_rec_snap h = { .ts_ns = ts, .kind = kind, .count = 1 };
	struct ct_tcp_rec t = {
		.skaddr = 0x10, .born_ns = 1, .family = 2, .sport = 40000,
		.dport = 80, .netns = 7, .state = state,
		.origin = CT_ORIGIN_CONNECT,
		.owner = { .pid = 42, .src = CT_OWNER_CONNECT, .comm = "client" },
		.tcp = { .bytes_acked = acked, .bytes_received = 11 },
	};

	t.saddr[0] = t.daddr[0] = 127;
	t.saddr[3] = t.daddr[3] = 1;
	if (retrans >= 0) {
		t.flags |= CT_EV_TOTAL_RETRANS;
		t.total_retrans = (uint32_t)retrans;
		t.read_ns = ts - 1000;
	}
	put_rec(w, CT_REC_SNAP, &h, sizeof(h), ts);
	put_rec(w, CT_REC_SOCK, &t, len, ts);
}

static void put_counters(struct ct_rec_writer *w, uint32_t kind, uint64_t ts,
			 uint8_t state, uint64_t acked)
{
	put_counters_n(w, kind, ts, state, acked, -1, sizeof(struct ct_tcp_rec));
}

/*
 * One connection (0x10) that retransmits 3 segments and sends a reset;
 * a refused connect, a drop elsewhere, a connect latency, and a kernel
 * record carried verbatim (a reset received) as another writer may.
 */
static void write_tev_rec_n(const char *path, int retrans, size_t len)
{
	struct ct_rec_writer w;
	struct ct_rec_writer_opts o = { .path = path, .header = TEV_HEADER };
	struct ct_tcp_ev raw = {
		.type = CT_MSG_TCP_EV, .kind = CT_TEV_RESET_RECV,
		.ts_ns = 2500000000ULL, .skaddr = 0x30, .family = 2,
		.sport = 40001, .dport = 81, .code = -1,
	};
	struct ct_rec_end e = { .ts_ns = 6000000000ULL };
	char err[128];

	assert_int_equal(ct_rec_writer_open(&w, &o, err, sizeof(err)), 0);
	put_counters_n(&w, CT_SNAP_OPEN, 1000000000ULL, TCP_ESTABLISHED, 1000,
		       retrans, len);
	put_tev(&w, 0x10, CT_TEV_RETRANS, 2000000000ULL, 3, 0, 80);
	put_tev(&w, 0x10, CT_TEV_RESET_SENT, 2100000000ULL, 0, 1, 80);
	put_tev(&w, 0x20, CT_TEV_CONNECT_FAIL, 2200000000ULL, 1000000, 111, 9);
	put_tev(&w, 0x10, CT_TEV_CONNECT_LAT, 2300000000ULL, 500000, 0, 80);
	put_tev(&w, 0x40, CT_TEV_DROP, 2400000000ULL, 1, 1, 80);
	put_rec(&w, CT_MSG_TCP_EV, &raw, sizeof(raw), raw.ts_ns);
	put_counters_n(&w, CT_SNAP_COUNTERS, 3000000000ULL, TCP_ESTABLISHED, 2000,
		       retrans < 0 ? retrans : retrans + 3, len);
	put_counters_n(&w, CT_SNAP_COUNTERS, 5000000000ULL, TCP_ESTABLISHED, 3000,
		       retrans < 0 ? retrans : retrans + 3, len);
	put_rec(&w, CT_REC_END, &e, sizeof(e), e.ts_ns);
	assert_int_equal(ct_rec_writer_close(&w), 0);
}

static void write_tev_rec(const char *path)
{
	write_tev_rec_n(path, -1, sizeof(struct ct_tcp_rec));
}

static size_t count_str(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* The events replay as watch prints them: its kinds, filters and reasons. */
static void test_tev_watch(void **state)
{
	char path[] = "/tmp/ct-replay-test.XXXXXX";
	struct run r;

	(void)state;
	tmp_file(path);
	write_tev_rec(path);
	/* As watch: every kind but latency, the verbatim record too. */
	run_replay_v(&r, (const char *const[]){ path, "--json", NULL });
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.err, "");
	assert_int_equal(r.out_lines, 5);
	assert_int_equal(count_str(r.out, "\"event\":\"retrans\""), 1);
	assert_int_equal(count_str(r.out, "\"event\":\"reset\""), 2);
	assert_int_equal(count_str(r.out, "\"event\":\"fail\""), 1);
	assert_int_equal(count_str(r.out, "\"event\":\"drop\""), 1);
	/* The recording host's names, not this kernel's. */
	assert_non_null(strstr(r.out, "\"reason\":\"TCP_INVALID_ACK\""));
	assert_non_null(strstr(r.out, "\"reason\":\"NO_SOCKET\""));
	assert_non_null(strstr(r.out, "\"comm\":\"client\""));
	run_replay_v(&r, (const char *const[]){ path, "--events", "latency", NULL });
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "CONN_LAT"));
	assert_int_equal(count_str(r.out, "CONN_LAT"), 1);
	assert_null(strstr(r.out, "RETRANS"));
	run_replay_v(&r, (const char *const[]){ path, "--json", "dport = :9", NULL });
	assert_int_equal(r.out_lines, 1);
	assert_non_null(strstr(r.out, "\"event\":\"fail\""));
	run_replay_v(&r, (const char *const[]){ path, "--json", "--from", "+2.15", NULL });
	assert_int_equal(r.out_lines, 3);
	run_replay_v(&r, (const char *const[]){ path, "--events", "state", NULL });
	assert_int_equal(r.rc, 0);
	assert_null(strstr(r.out, "RETRANS"));
	assert_null(strstr(r.out, "CONN_FAIL"));
	run_replay_v(&r, (const char *const[]){ path, "--events", "bogus", NULL });
	assert_int_equal(r.rc, 2);
	unlink(path);
}

/* The last table of a replayed top --json, with the views' JSON. */
static const char *last_table(const struct run *r)
{
	const char *last = r->out;

	for (const char *p = r->out; (p = strstr(p, "\n{")); p++)
		last = p + 1;
	return last;
}

/* Replayed top counts them in its trouble columns, as live top does. */
static void test_tev_top(void **state)
{
	char path[] = "/tmp/ct-replay-test.XXXXXX";
	const char *last;
	struct run r;

	(void)state;
	tmp_file(path);
	write_tev_rec(path);
	run_replay_v(&r, (const char *const[]){ path, "top", "--json", NULL });
	assert_int_equal(r.rc, 0);
	assert_true(r.out_lines >= 2);
	last = last_table(&r);
	/*
	 * The connection: 3 segments, 1 reset, no drop; its process also
	 * the drop of its other socket.
	 */
	assert_int_equal(count_str(last, "\"retrans\":3,\"resets\":1,\"drops\":0"), 1);
	assert_int_equal(count_str(last, "\"retrans\":3,\"resets\":1,\"drops\":1"), 1);
	assert_non_null(strstr(last, "\"connects\":1,\"p50_ms\":0.500"));
	/* The table has the columns. */
	run_replay_v(&r, (const char *const[]){ path, "top", NULL });
	assert_non_null(strstr(r.out, "RETRANS"));
	unlink(path);
}

/*
 * Socket records that carry the kernel's count: the 5 retransmits from
 * before the recording began count too, on the row and for the process,
 * and the 3 the events tell only once. A record too short for the count
 * (an older writer's) counts the events alone, as before.
 */
static void test_tev_top_kernel_count(void **state)
{
	char path[] = "/tmp/ct-replay-test.XXXXXX";
	struct run r;

	(void)state;
	tmp_file(path);
	write_tev_rec_n(path, 5, sizeof(struct ct_tcp_rec));
	run_replay_v(&r, (const char *const[]){ path, "top", "--json", NULL });
	assert_int_equal(r.rc, 0);
	assert_int_equal(count_str(last_table(&r), "\"retrans\":8,\"resets\":1,\"drops\":0"), 1);
	assert_int_equal(count_str(last_table(&r), "\"retrans\":8,\"resets\":1,\"drops\":1"), 1);
	write_tev_rec_n(path, 5, offsetof(struct ct_tcp_rec, read_ns));
	run_replay_v(&r, (const char *const[]){ path, "top", "--json", NULL });
	assert_int_equal(r.rc, 0);
	assert_int_equal(count_str(last_table(&r), "\"retrans\":3,\"resets\":1,\"drops\":0"), 1);
	unlink(path);
}

/* --info counts events by kind, and says which kinds had no hook. */
static void test_tev_info(void **state)
{
	char path[] = "/tmp/ct-replay-test.XXXXXX";
	struct run r;

	(void)state;
	tmp_file(path);
	write_tev_rec(path);
	run_replay(&r, "--info", path);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "events: 5 (retransmit 1, SYN-ACK retransmit 0, "
				      "reset sent 1, reset received 0, failed connect 1, "
				      "drop 1, connect latency 1, accept latency 0)\n"));
	assert_non_null(strstr(r.out, "kernel events (owners unresolved): 1\n"));
	assert_non_null(strstr(r.out, "events not recorded (no hook on the recording host): accept latency\n"));
	unlink(path);
}

/*
 * A recording made before events were recorded (no "events" header key,
 * no event record) replays as before: its lines, no trouble columns.
 */
static void test_tev_old_file(void **state)
{
	char path[] = "/tmp/ct-replay-test.XXXXXX";
	struct run r;

	(void)state;
	tmp_file(path);
	write_rec(path, 3, CT_REC_LOSS_MIN);
	run_replay(&r, path, "--json");
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.out_lines, 3);
	run_replay(&r, "--info", path);
	assert_non_null(strstr(r.out, "events: 0 (a recording made before events were recorded)\n"));
	assert_non_null(strstr(r.out, "events, ring buffer full: not recorded"));
	run_replay_v(&r, (const char *const[]){ path, "top", "-d", "0.001", NULL });
	assert_int_equal(r.rc, 0);
	assert_null(strstr(r.out, "RETRANS"));
	unlink(path);
}

/*
 * A connection handed to a time-wait socket that waits for its peer's
 * FIN comes as a socket record in FIN_WAIT2 with its last counters (its
 * line comes only at TIME_WAIT): replayed top counts those bytes, and
 * its final line later does not count them again.
 */
static void test_fin_wait2_counters(void **state)
{
	char path[] = "/tmp/ct-replay-test.XXXXXX";
	struct ct_rec_writer w;
	struct ct_rec_writer_opts o = { .path = path, .header = TEV_HEADER };
	struct ct_rec_snap open_snap = { .ts_ns = 1000000000ULL };
	struct ct_rec_line l = { .ts_ns = 1200000000ULL, .delta_known = 1 };
	struct ct_rec_end e = { .ts_ns = 4000000000ULL };
	char err[128];
	struct run r;

	(void)state;
	tmp_file(path);
	assert_int_equal(ct_rec_writer_open(&w, &o, err, sizeof(err)), 0);
	put_rec(&w, CT_REC_SNAP, &open_snap, sizeof(open_snap), open_snap.ts_ns);
	l.ev.skaddr = 0x10;
	l.ev.oldstate = TCP_FIN_WAIT1;
	l.ev.newstate = TCP_FIN_WAIT2;
	l.ev.family = 2;
	l.ev.pid = 42;
	l.ev.owner_src = CT_OWNER_CONNECT;
	put_rec(&w, CT_REC_LINE, &l, sizeof(l), l.ts_ns);
	/* Shorter than an interval: only the held line's counters know it. */
	put_counters(&w, CT_SNAP_COUNTERS, 1500000000ULL, TCP_FIN_WAIT2, 5001);
	/* The peer's FIN at last: the derived line with the same counters. */
	l.ts_ns = l.ev.ts_ns = 3500000000ULL;
	l.derived = 1;
	l.ev.oldstate = TCP_FIN_WAIT2;
	l.ev.newstate = TCP_TIME_WAIT;
	l.ev.born_ns = 1;
	l.ev.tcp.bytes_acked = 5001;
	l.ev.tcp.bytes_received = 11;
	put_rec(&w, CT_REC_LINE, &l, sizeof(l), l.ts_ns);
	put_rec(&w, CT_REC_END, &e, sizeof(e), e.ts_ns);
	assert_int_equal(ct_rec_writer_close(&w), 0);
	run_replay_v(&r, (const char *const[]){ path, "top", "--json", NULL });
	assert_int_equal(r.rc, 0);
	/* At 3 s, in FIN_WAIT2; at 4 s, closed: the same bytes, once. */
	assert_int_equal(r.out_lines, 2);
	assert_int_equal(count_str(r.out, "\"sock\":\"0x10\",\"tx_bytes\":4999,\"rx_bytes\":11"), 2);
	/* Its process, host and container, in each table: never twice as many. */
	assert_int_equal(count_str(r.out, "\"conns\":1,\"tx_bytes\":4999,\"rx_bytes\":11,"), 6);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_when_forms),
		cmocka_unit_test(test_when_junk),
		cmocka_unit_test(test_when_zone),
		cmocka_unit_test(test_utc_option),
		cmocka_unit_test(test_info_losses),
		cmocka_unit_test(test_damaged_files),
		cmocka_unit_test(test_model),
		cmocka_unit_test(test_model_lengths),
		cmocka_unit_test(test_model_counted_state),
		cmocka_unit_test(test_final_line),
		cmocka_unit_test(test_tev_watch),
		cmocka_unit_test(test_tev_top),
		cmocka_unit_test(test_tev_top_kernel_count),
		cmocka_unit_test(test_tev_info),
		cmocka_unit_test(test_tev_old_file),
		cmocka_unit_test(test_fin_wait2_counters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
