// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "engine/stopsig.h"

#include <errno.h>
#include <stddef.h>

volatile sig_atomic_t ct_stop;
volatile sig_atomic_t ct_stop_signal;

static void on_signal(int sig)
{
	ct_stop_signal = sig;
	ct_stop = 1;
}

int ct_stop_on_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP };
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL))
			return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}
