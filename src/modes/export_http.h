/* SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only) */
/*
 * The HTTP side of `conntrace export`, on libmicrohttpd: GET /metrics and
 * GET /, nothing else, with limits on connections, request size and
 * time. Its thread copies the last published text. A scrape that finds
 * it older than the refresh interval asks the main thread for a refresh
 * and waits for it a short while (CT_HTTP_WAIT_MS), never longer: with many
 * sockets it gets the text it found, and the main thread, which knows the
 * scraper's rhythm, refreshes ahead of the next scrape.
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
/* The longest a scrape waits for the refresh it asked for. */
#define CT_HTTP_WAIT_MS 50

struct ct_http {
	struct MHD_Daemon *d;
	pthread_mutex_t lock;	/* over the texts and the counts */
	struct ct_text text[2];	/* [0] classic, [1] OpenMetrics */
	uint64_t scrapes;
	uint64_t last_ns;	/* how long the last scrape took */
	uint16_t port;		/* the port bound, also when 0 was asked */
	bool verbose;
	bool locked;		/* lock and cond were made */
	pthread_cond_t done;	/* a refresh was published */
	uint64_t max_age_ns;	/* a text this old is refreshed when scraped */
	uint64_t text_ns;	/* when the published text's refresh began */
	bool refreshing;	/* a refresh is under way */
	bool wanted;		/* a scrape asked for one since */
	uint64_t scrape_ns[2];	/* when the last two scrapes came, newest first */
};

/*
 * Starts serving; one line in err and -errno on failure. A scrape asks
 * for a refresh when the text is at least max_age_ns old.
 */
int ct_http_start(struct ct_http *h, const struct sockaddr *sa, socklen_t len,
		  bool verbose, uint64_t max_age_ns, char *err, size_t errlen);

/* The main thread begins a refresh; wanted says whether a scrape asked. */
void ct_http_begin(struct ct_http *h, uint64_t now_ns);

/*
 * Hands over the texts of the refresh begun (classic, OpenMetrics): ours
 * now. NULL texts: it failed, the old ones stay.
 */
void ct_http_publish(struct ct_http *h, struct ct_text *classic,
		     struct ct_text *om);

/*
 * How old a text may be before a scrape asks for a refresh: a refresh made
 * ahead of the scrape, as long before it as a refresh takes, is not old.
 */
void ct_http_max_age(struct ct_http *h, uint64_t max_age_ns);

/* What the main thread needs to know to refresh: a snapshot. */
struct ct_http_state {
	bool wanted;		/* a scrape waits or waited for a refresh */
	uint64_t scrape_ns[2];	/* the last two scrapes, newest first; 0: none */
};
void ct_http_state(struct ct_http *h, struct ct_http_state *out);

/* Scrapes so far, and how long the last one took. */
void ct_http_counts(struct ct_http *h, uint64_t *scrapes, uint64_t *last_ns);

/* Stops serving (connections under way are closed); safe twice. */
void ct_http_stop(struct ct_http *h);

#endif
