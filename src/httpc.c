/* SPDX-License-Identifier: ISC */
/*
 * httpc.c - outgoing HTTP through libcurl (httpc.h).
 */
#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

#include <curl/curl.h>

#include "mr.h"
#include "httpc.h"

int
mr_httpc_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

static size_t
sink(char *p, size_t size, size_t nmemb, void *arg)
{
	struct mr_buf	*b = arg;

	/* Returning less than given makes curl fail with WRITE_ERROR. */
	if (mr_buf_add(b, p, size * nmemb) == -1)
		return 0;
	return size * nmemb;
}

/*
 * Did curl fail before any byte of the request could reach the server?
 * Each call has an easy handle of its own, so no connection is reused:
 * a name that does not resolve, a connection refused, or a TLS handshake
 * that fails means the request was never sent.  Anything later (a reset,
 * an empty or cut reply) may come after the server got the request.
 */
static int
not_sent(CURLcode cc)
{
	switch (cc) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
		return 1;
	default:
		return 0;
	}
}

/*
 * Is sa an address of this host, of a private, shared, link-local,
 * reserved or multicast network, or unspecified?  IPv4 in IPv6 is
 * judged as IPv4.
 */
static int
private_addr(const struct sockaddr *sa)
{
	const unsigned char	*b;
	uint32_t		 v4;

	if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)(const void *)sa)->
		    sin6_addr.s6_addr;
		if (memcmp(b, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) != 0) {
			/* ::, ::1, fc00::/7, fe80::/10, ff00::/8 */
			static const unsigned char z[15];
			if (memcmp(b, z, 15) == 0 && (b[15] == 0 || b[15] == 1))
				return 1;
			return (b[0] & 0xfe) == 0xfc || b[0] == 0xff ||
			    (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
		}
		v4 = (uint32_t)b[12] << 24 | (uint32_t)b[13] << 16 |
		    (uint32_t)b[14] << 8 | b[15];
	} else if (sa->sa_family == AF_INET)
		v4 = ntohl(((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr);
	else
		return 1;
	return (v4 >> 24) == 0 || (v4 >> 24) == 10 || (v4 >> 24) == 127 ||
	    (v4 & 0xffc00000) == 0x64400000 ||	/* 100.64/10 */
	    (v4 & 0xffff0000) == 0xa9fe0000 ||	/* 169.254/16 */
	    (v4 & 0xfff00000) == 0xac100000 ||	/* 172.16/12 */
	    (v4 & 0xffff0000) == 0xc0a80000 ||	/* 192.168/16 */
	    (v4 & 0xfffffe00) == 0xc6120000 ||	/* 198.18/15 */
	    (v4 >> 28) >= 0xe;			/* multicast, reserved */
}

/* The socket for a connection, unless public_only forbids where to. */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *ca)
{
	int	*refused = arg;

	(void)purpose;
	if (private_addr(&ca->addr)) {
		*refused = 1;
		return CURL_SOCKET_BAD;
	}
	return socket(ca->family, ca->socktype, ca->protocol);
}

int
mr_httpc_do(struct mr_arena *a, const struct mr_httpc_req *rq,
    struct mr_httpc_resp *rs, struct mr_err *err)
{
	CURL			*c = NULL;
	struct curl_slist	*hl = NULL, *tmp;
	struct mr_buf		 body;
	CURLcode		 cc;
	char			 ebuf[CURL_ERROR_SIZE] = "";
	char			*ct = NULL;
	int			 rc = -1, refused = 0;

	mr_buf_init(&body, MR_HTTPC_BODY_MAX);
	memset(rs, 0, sizeof(*rs));
	if ((c = curl_easy_init()) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto done;
	}
	for (const char *const *h = rq->headers; h && *h; h++) {
		if ((tmp = curl_slist_append(hl, *h)) == NULL) {
			mr_err_set(err, 500, "internal", "Out of memory.");
			goto done;
		}
		hl = tmp;
	}
	/* No "Expect: 100-continue" round trip for small bodies. */
	if ((tmp = curl_slist_append(hl, "Expect:")) == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto done;
	}
	hl = tmp;
	curl_easy_setopt(c, CURLOPT_URL, rq->url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
	    rq->timeout_ms < 10000 ? rq->timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (rq->public_only) {
		curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_socket);
		curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &refused);
	}
	if (rq->body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)rq->bodylen);
	}
	if (rq->method != NULL && strcmp(rq->method, "POST") != 0 &&
	    strcmp(rq->method, "GET") != 0)
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
	cc = curl_easy_perform(c);
	if (cc != CURLE_OK) {
		mr_err_cause(err, "%s %s: %s", rq->method, rq->url,
		    refused ? "the address is a private one" : ebuf[0] ? ebuf :
		    curl_easy_strerror(cc));
		if (cc == CURLE_OPERATION_TIMEDOUT)
			mr_err_set(err, 504, "upstream_timeout",
			    "The upstream service did not answer in time.");
		else if (not_sent(cc))
			mr_err_set(err, 502, "upstream_unreachable",
			    "The upstream service could not be reached.");
		else
			mr_err_set(err, 502, "upstream_no_reply",
			    "The connection to the upstream service broke "
			    "before it answered.");
		goto done;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->status);
	curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
	if (ct != NULL)
		rs->content_type = mr_strdup(a, ct);
	rs->body = mr_strndup(a, body.data ? body.data : "", body.len);
	rs->len = body.len;
	if (rs->body == NULL) {
		mr_err_set(err, 500, "internal", "Out of memory.");
		goto done;
	}
	rc = 0;
done:
	mr_buf_free(&body);
	curl_slist_free_all(hl);
	if (c != NULL)
		curl_easy_cleanup(c);
	return rc;
}

void
mr_httpc_global_cleanup(void)
{
	curl_global_cleanup();
}
