/* libFuzzer target: the daemon's HTTP endpoint (metrics_server_start: libmicrohttpd on its own
 * thread, as arbiterd runs it) on 127.0.0.1 with a port the system picks, once per process;
 * each input is sent as raw bytes on a fresh TCP connection (with "\r\n\r\n" after it when it
 * holds none, so that most inputs are whole requests), the write side is shut, and the reply is
 * read to its end. libmicrohttpd does not close on a half-closed connection whose request is
 * unfinished (it waits out its idle timeout), so a connection with no reply after
 * FUZZ_HTTP_FIRST_MS is reset instead: the server then sees a client go away mid-request.
 * Coverage comes from metrics.c (libmicrohttpd is Debian's build, not instrumented), and
 * ASan/UBSan watch the whole process, server thread included. A finding: a crash, a reply that
 * is not HTTP, or a reply that does not end within the server's own idle timeout. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "metrics.h"

/* Past metrics.c's 5 s idle timeout, with room for a loaded machine. */
#define FUZZ_HTTP_WAIT_S 8
/* A whole request is answered within a millisecond or two. */
#define FUZZ_HTTP_FIRST_MS 50

static struct metrics_server *srv;
static int port;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_setup();
	if (metrics_server_start("127.0.0.1:0", &srv) != 0 ||
	    (port = metrics_server_port(srv)) <= 0) {
		fprintf(stderr, "fuzz_http: cannot start the metrics server\n");
		abort();
	}
	metrics_group_assigned(true); /* ready unless draining: both answers of /readyz */
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Both answers of /healthz, by the parity of the length. */
	atomic_store(&metrics.draining, size & 1);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		abort();
	struct timeval tv = {.tv_sec = FUZZ_HTTP_WAIT_S};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		perror("fuzz_http: connect");
		abort();
	}
	/* The server may answer and close before reading everything: EPIPE/ECONNRESET are fine. */
	bool whole = size >= 4 && memmem(data, size, "\r\n\r\n", 4);
	for (size_t off = 0; off < size;) {
		ssize_t n = send(fd, data + off, size - off, MSG_NOSIGNAL);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (!whole)
		(void)send(fd, "\r\n\r\n", 4, MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	char head[8];
	size_t got = 0;
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int ready = poll(&pfd, 1, FUZZ_HTTP_FIRST_MS);
	for (; ready > 0;) {
		char buf[4096];
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			fprintf(stderr, "fuzz_http: no end of reply after %d s\n",
				FUZZ_HTTP_WAIT_S);
			abort();
		}
		if (n <= 0)
			break; /* the end, or a reset */
		for (ssize_t i = 0; i < n && got < sizeof(head); i++)
			head[got++] = buf[i];
	}
	if (got && (got < 7 || memcmp(head, "HTTP/1.", 7))) {
		fprintf(stderr, "fuzz_http: a reply that is not HTTP: %.*s\n", (int)got, head);
		abort();
	}
	/* An abortive close: no TIME_WAIT piles up over millions of connections. */
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	return 0;
}
