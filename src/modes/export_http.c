// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0-only)
#include "modes/export_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "output/format.h"

static const char index_page[] =
	"<html><head><title>conntrace</title></head><body>\n"
	"<h1>conntrace export</h1>\n"
	"<p>TCP connections with their owners: <a href=\"/metrics\">/metrics</a>.</p>\n"
	"</body></html>\n";

static enum MHD_Result answer(struct MHD_Connection *c, unsigned status,
			      const char *body, size_t len, const char *type,
			      enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body,
								 mode);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;	/* out of memory: MHD closes the connection */
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result plain(struct MHD_Connection *c, unsigned status,
			     const char *msg)
{
	return answer(c, status, msg, strlen(msg), "text/plain; charset=utf-8",
		      MHD_RESPMEM_PERSISTENT);
}

/* The deadline for a wait on h->done, whose clock is CLOCK_MONOTONIC. */
static struct timespec deadline(uint64_t from_ns, unsigned ms)
{
	uint64_t ns = from_ns + (uint64_t)ms * 1000000;

	return (struct timespec){ .tv_sec = (time_t)(ns / 1000000000),
				  .tv_nsec = (long)(ns % 1000000000) };
}

/*
 * Under the lock: a text too old asks for a refresh, and one under way
 * is waited for, briefly: the answer is never held up for long.
 */
static void wait_fresh(struct ct_http *h, uint64_t now)
{
	struct timespec until = deadline(now, CT_HTTP_WAIT_MS);

	if (!h->refreshing && now - h->text_ns >= h->max_age_ns)
		h->wanted = true;
	while ((h->wanted || h->refreshing) &&
	       !pthread_cond_timedwait(&h->done, &h->lock, &until))
		;
}

static enum MHD_Result metrics(struct ct_http *h, struct MHD_Connection *c)
{
	const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							 MHD_HTTP_HEADER_ACCEPT);
	int om = ct_expo_wants_openmetrics(accept);
	uint64_t t0 = ct_monotonic_ns();
	const struct ct_text *t;
	enum MHD_Result rc;

	pthread_mutex_lock(&h->lock);
	h->scrape_ns[1] = h->scrape_ns[0];
	h->scrape_ns[0] = t0;
	wait_fresh(h, t0);
	t = &h->text[om];
	/* The copy is the whole cost of a scrape: the text is made per refresh. */
	rc = t->p ? answer(c, MHD_HTTP_OK, t->p, t->len,
			   om ? CT_EXPO_OPENMETRICS_TYPE : CT_EXPO_CLASSIC_TYPE,
			   MHD_RESPMEM_MUST_COPY)
		  : plain(c, MHD_HTTP_SERVICE_UNAVAILABLE, "no refresh yet\n");
	h->scrapes++;
	h->last_ns = ct_monotonic_ns() - t0;
	pthread_mutex_unlock(&h->lock);
	return rc;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload,
				  size_t *upload_size, void **state)
{
	static int seen;
	struct ct_http *h = cls;

	(void)version;
	(void)upload;
	/* The first call has the headers only: answer once the body is in. */
	if (!*state) {
		*state = &seen;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;	/* a body on GET means nothing: dropped */
		return MHD_YES;
	}
	if (h->verbose)
		fprintf(stderr, "conntrace: %s %s\n", method, url);
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return plain(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n");
	if (!strcmp(url, "/metrics"))
		return metrics(h, c);
	if (!strcmp(url, "/"))
		return answer(c, MHD_HTTP_OK, index_page, sizeof(index_page) - 1,
			      "text/html; charset=utf-8", MHD_RESPMEM_PERSISTENT);
	return plain(c, MHD_HTTP_NOT_FOUND, "not found: try /metrics\n");
}

/* The port the kernel gave, when 0 was asked for. */
static uint16_t bound_port(struct MHD_Daemon *d)
{
	const union MHD_DaemonInfo *i =
		MHD_get_daemon_info(d, MHD_DAEMON_INFO_LISTEN_FD);
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (!i || getsockname(i->listen_fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* libmicrohttpd's own messages, such as a malformed request's, under -v. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	fputs("conntrace: http: ", stderr);
	vfprintf(stderr, fmt, ap);
}

static struct MHD_Daemon *start(struct ct_http *h, const struct sockaddr *sa)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
			 (sa->sa_family == AF_INET6 ? MHD_USE_IPv6 : 0) |
			 (h->verbose ? MHD_USE_ERROR_LOG : 0);

	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
				MHD_OPTION_SOCK_ADDR, sa,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)CT_HTTP_MAX_CONNS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CT_HTTP_TIMEOUT_S,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT,
				(size_t)CT_HTTP_MAX_REQUEST,
				MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_END);
}

static int make_sync(struct ct_http *h)
{
	pthread_condattr_t ca;
	int rc;

	if ((rc = pthread_mutex_init(&h->lock, NULL)))
		return rc;
	if ((rc = pthread_condattr_init(&ca)))
		goto no_cond;
	rc = pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) ?:
	     pthread_cond_init(&h->done, &ca);
	pthread_condattr_destroy(&ca);
	if (!rc) {
		h->locked = true;
		return 0;
	}
no_cond:
	pthread_mutex_destroy(&h->lock);
	return rc;
}

int ct_http_start(struct ct_http *h, const struct sockaddr *sa, socklen_t len,
		  bool verbose, uint64_t max_age_ns, char *err, size_t errlen)
{
	sigset_t stop, old;
	int rc;

	(void)len;
	memset(h, 0, sizeof(*h));
	h->verbose = verbose;
	h->max_age_ns = max_age_ns;
	if ((rc = make_sync(h))) {
		snprintf(err, errlen, "cannot make a lock: %s", strerror(rc));
		return -rc;
	}
	/* The stop signals go to the main thread, which stops the refreshes. */
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, &old);
	errno = 0;
	h->d = start(h, sa);
	rc = errno ? errno : EADDRINUSE;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!h->d) {
		snprintf(err, errlen, "cannot serve HTTP on the --listen address: %s",
			 strerror(rc));
		return -rc;
	}
	h->port = bound_port(h->d);
	return 0;
}

void ct_http_begin(struct ct_http *h, uint64_t now_ns)
{
	pthread_mutex_lock(&h->lock);
	h->refreshing = true;
	h->wanted = false;	/* this refresh answers the asks so far */
	h->text_ns = now_ns;
	pthread_mutex_unlock(&h->lock);
}

void ct_http_publish(struct ct_http *h, struct ct_text *classic,
		     struct ct_text *om)
{
	struct ct_text old[2] = { 0 };

	pthread_mutex_lock(&h->lock);
	if (classic && om) {
		old[0] = h->text[0];
		old[1] = h->text[1];
		h->text[0] = *classic;
		h->text[1] = *om;
		memset(classic, 0, sizeof(*classic));
		memset(om, 0, sizeof(*om));
	}
	h->refreshing = false;
	pthread_cond_broadcast(&h->done);
	pthread_mutex_unlock(&h->lock);
	ct_text_free(&old[0]);
	ct_text_free(&old[1]);
}

void ct_http_max_age(struct ct_http *h, uint64_t max_age_ns)
{
	pthread_mutex_lock(&h->lock);
	h->max_age_ns = max_age_ns;
	pthread_mutex_unlock(&h->lock);
}

void ct_http_state(struct ct_http *h, struct ct_http_state *out)
{
	pthread_mutex_lock(&h->lock);
	out->wanted = h->wanted;
	out->scrape_ns[0] = h->scrape_ns[0];
	out->scrape_ns[1] = h->scrape_ns[1];
	pthread_mutex_unlock(&h->lock);
}

void ct_http_counts(struct ct_http *h, uint64_t *scrapes, uint64_t *last_ns)
{
	pthread_mutex_lock(&h->lock);
	*scrapes = h->scrapes;
	*last_ns = h->last_ns;
	pthread_mutex_unlock(&h->lock);
}

void ct_http_stop(struct ct_http *h)
{
	if (h->d)
		MHD_stop_daemon(h->d);
	h->d = NULL;
	ct_text_free(&h->text[0]);
	ct_text_free(&h->text[1]);
	if (h->locked) {
		pthread_cond_destroy(&h->done);
		pthread_mutex_destroy(&h->lock);
	}
	h->locked = false;
}
