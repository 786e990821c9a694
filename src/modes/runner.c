// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/runner.h"

#include <string.h>
#include <unistd.h>

#include "conntrace.h"
#include "engine/privs.h"
#include "engine/session.h"
#include "engine/stopsig.h"
#include "output/format.h"
#include "output/ostream.h"

static void set_stdout(enum ct_mode_out out)
{
	static char obuf[1 << 16];

	if (out == CT_OUT_LINES)
		setvbuf(stdout, NULL, _IOLBF, 0);
	else if (out == CT_OUT_BLOCKS)
		setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
}

void ct_wait_interval(double secs)
{
	uint64_t end = ct_monotonic_ns() + (uint64_t)(secs * 1e9);

	while (!ct_stop && ct_monotonic_ns() < end && !ct_out_gone(stdout))
		usleep(20000);
}

int ct_mode_run(const struct ct_mode *m, void *self, int argc, char **argv)
{
	char err[256] = "";
	int rc;

	rc = ct_cli_parsed(m->parse(self, argc, argv, err, sizeof(err)), err,
			   m->cmd);
	if (rc >= 0)
		return rc;
	set_stdout(m->out);
	if (m->stop_on_signals && (rc = ct_stop_on_signals())) {
		fprintf(stderr, "conntrace: cannot handle signals: %s\n",
			strerror(-rc));
		return 1;
	}
	if (m->start && (rc = m->start(self))) {
		if (m->finish)
			m->finish(self);
		return rc > 0 ? rc : 1;
	}
	rc = m->run(self);
	ct_out_flush(stdout);
	if (m->report)
		m->report(self);
	if (m->finish)
		m->finish(self);
	return rc;
}

void ct_ring_hint(uint64_t lost, uint32_t ring_bytes)
{
	if (!lost)
		return;
	fprintf(stderr, "conntrace: the ring buffer is %u MiB; a larger "
		"--ring-size rides out longer bursts\n",
		(ring_bytes ? ring_bytes : CT_RINGBUF_BYTES) >> 20);
}

void ct_boost(unsigned int levels)
{
	int err = ct_raise_priority(levels);

	if (err)
		fprintf(stderr, "conntrace: warning: cannot raise the priority (--boost): %s\n",
			strerror(-err));
}

void ct_ring_said(const struct ct_session *s)
{
	fprintf(stderr, "conntrace: the ring buffer is %u MiB (for %llu TCP opens a second while starting, both ends counted)\n",
		(s->ring_bytes ? s->ring_bytes : CT_RINGBUF_BYTES) >> 20,
		(unsigned long long)s->opens_rate);
}
