/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The HTTP side of `conntrace export`, on libmicrohttpd: GET /metrics and
 * GET /, nothing else, with limits on connections, request size and
 * time. Its thread only copies the last published text: a scrape never
 * waits for the kernel, and costs the same whatever the traffic.
 */
#ifndef CT_EXPORT_HTTP_H
#define CT_EXPORT_HTTP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "output/expo.h"

struct MHD_Daemon;

/* Connections served at once; more wait in the kernel's accept queue. */
#define CT_HTTP_MAX_CONNS 256
/* A request's headers must fit in this (a scraper's take a few hundred). */
#define CT_HTTP_MAX_REQUEST 16384
/* A connection idle this long is closed. */
#define CT_HTTP_TIMEOUT_S 10

struct ct_http {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;	/* over the texts and the counts */
	struct ct_text text[2];	/* [0] classic, [1] OpenMetrics */
	uint64_t scrapes;
	uint64_t last_ns;	/* how long the last scrape took */
	uint16_t port;		/* the port bound, also when 0 was asked */
	bool verbose;
	bool locked;		/* lock was made */
};

/* Starts serving; one line in err and -errno on failure. */
int ct_http_start(struct ct_http *h, const struct sockaddr *sa, socklen_t len,
		  bool verbose, char *err, size_t errlen);

/* Hands over the texts of a refresh (classic, OpenMetrics): ours now. */
void ct_http_publish(struct ct_http *h, struct ct_text *classic,
		     struct ct_text *om);

/* Scrapes so far, and how long the last one took. */
void ct_http_counts(struct ct_http *h, uint64_t *scrapes, uint64_t *last_ns);

/* Stops serving (connections under way are closed); safe twice. */
void ct_http_stop(struct ct_http *h);

#endif
