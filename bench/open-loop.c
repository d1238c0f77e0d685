/*
 * Open-loop HTTP/1.1 load generator for bench/lb.ts: request i is due at t0 + i/rate, whether or
 * not earlier ones have been answered, over a fixed set of keep-alive connections (epoll, one
 * thread). A latency runs from the request's due time to the last byte of its reply, so a request
 * that waited for a free connection, or for this process to be scheduled, counts that wait too.
 * Written in C so the generator takes little of the two vCPUs the proxies under test share and
 * adds no event-loop queueing of its own to the figures.
 *
 *   open-loop PORT RATE WARMUP_S SECONDS CONNECTIONS
 *
 * Loopback only (127.0.0.1). Prints "measuring" when the measured phase starts, then one line:
 *   result n=N errors=E p50=MS p99=MS max=MS late_p99=MS cpu_us=US
 * late_p99 is the 99th percentile of how late a request was written after its due time; cpu_us
 * is this process's own CPU time (user + system) per measured request.
 * Exits 1 on a connection error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536

struct conn {
  int fd;
  int busy;
  int64_t due;   /* ns: when its request was due */
  int64_t slot;  /* the request's index, or -1 in warm-up */
  size_t have;
  char buf[BUF];
};

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct_ms(int64_t *sorted, size_t n, int p) {
  if (n == 0) return -1;
  size_t i = (n * p) / 100;
  if (i >= n) i = n - 1;
  return sorted[i] / 1e6;
}

static int64_t cpu_ns(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 + ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* Length of a complete reply at the start of c->buf, 0 while incomplete, -1 when malformed. */
static long reply_length(struct conn *c, int *ok) {
  char *end = memmem(c->buf, c->have, "\r\n\r\n", 4);
  if (!end) return c->have >= BUF ? -1 : 0;
  size_t head = (size_t)(end - c->buf) + 4;
  long length = -1;
  for (char *p = c->buf; p < end; p++) {
    if (*p == '\n' && strncasecmp(p + 1, "content-length:", 15) == 0) {
      length = strtol(p + 16, NULL, 10);
      break;
    }
  }
  if (length < 0) return -1;
  if (c->have < head + (size_t)length) return 0;
  *ok = c->have >= 12 && memcmp(c->buf, "HTTP/1.1 200", 12) == 0;
  return (long)(head + (size_t)length);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: open-loop PORT RATE WARMUP_S SECONDS CONNECTIONS\n");
    return 2;
  }
  int port = atoi(argv[1]);
  double rate = atof(argv[2]);
  double warmup = atof(argv[3]), seconds = atof(argv[4]);
  int nconn = atoi(argv[5]);
  char request[256];
  int reqlen = snprintf(request, sizeof request, "GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUser-Agent: berth-bench\r\n\r\n", port);

  int ep = epoll_create1(0);
  struct conn *conns = calloc((size_t)nconn, sizeof *conns);
  struct conn **free_list = calloc((size_t)nconn, sizeof *free_list);
  int nfree = 0;
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  for (int i = 0; i < nconn; i++) {
    struct conn *c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0) die("socket");
    if (connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    free_list[nfree++] = c;
  }

  size_t warm_n = (size_t)(rate * warmup), total_n = (size_t)(rate * seconds);
  size_t all_n = warm_n + total_n;
  int64_t *lat = malloc(sizeof(int64_t) * (total_n + 1));
  int64_t *late = malloc(sizeof(int64_t) * (total_n + 1));
  size_t nlat = 0, nlate = 0, errors = 0, answered = 0;
  /* Requests due while every connection was busy, oldest first (a ring of due indexes). */
  size_t *queue = malloc(sizeof(size_t) * (all_n + 1));
  size_t qhead = 0, qtail = 0;
  double interval = 1e9 / rate;
  int64_t t0 = now_ns();
  size_t next = 0;
  int announced = 0;
  int64_t cpu_start = 0;

  for (;;) {
    int64_t now = now_ns();
    if (!announced && next >= warm_n && now >= t0 + (int64_t)(warm_n * interval)) {
      printf("measuring\n");
      fflush(stdout);
      announced = 1;
      cpu_start = cpu_ns();
    }
    while (next < all_n && t0 + (int64_t)(next * interval) <= now) queue[qtail++] = next++;
    while (qhead < qtail && nfree > 0) {
      size_t i = queue[qhead++];
      struct conn *c = free_list[--nfree];
      c->busy = 1;
      c->due = t0 + (int64_t)(i * interval);
      c->slot = i >= warm_n ? (int64_t)i : -1;
      c->have = 0;
      if (write(c->fd, request, (size_t)reqlen) != reqlen) die("write");
      if (c->slot >= 0) late[nlate++] = now_ns() - c->due;
    }
    if (next >= all_n && qhead == qtail && answered == all_n) break;
    /* Sleep until the next request is due, or a reply arrives. */
    int64_t wait_ns = next < all_n ? t0 + (int64_t)(next * interval) - now_ns() : 100000000;
    if (wait_ns < 0) wait_ns = 0;
    struct timespec timeout = {.tv_sec = wait_ns / 1000000000, .tv_nsec = wait_ns % 1000000000};
    struct epoll_event events[64];
    int n = epoll_pwait2(ep, events, 64, &timeout, NULL);
    if (n < 0 && errno != EINTR) die("epoll_pwait2");
    for (int e = 0; e < n; e++) {
      struct conn *c = events[e].data.ptr;
      ssize_t got = read(c->fd, c->buf + c->have, BUF - c->have);
      if (got <= 0) {
        fprintf(stderr, "open-loop: connection %s\n", got == 0 ? "closed by the proxy" : strerror(errno));
        return 1;
      }
      c->have += (size_t)got;
      int ok = 0;
      long length = reply_length(c, &ok);
      if (length < 0) {
        fprintf(stderr, "open-loop: malformed reply\n");
        return 1;
      }
      if (length == 0 || !c->busy) continue;
      if (c->have != (size_t)length) {
        fprintf(stderr, "open-loop: bytes after a reply\n");
        return 1;
      }
      int64_t done = now_ns();
      if (c->slot >= 0) {
        if (ok) lat[nlat++] = done - c->due;
        else errors++;
      }
      answered++;
      c->busy = 0;
      c->have = 0;
      free_list[nfree++] = c;
    }
  }
  double cpu_us = nlat + errors > 0 ? (cpu_ns() - cpu_start) / 1e3 / (double)(nlat + errors) : -1;
  qsort(lat, nlat, sizeof *lat, cmp);
  qsort(late, nlate, sizeof *late, cmp);
  printf("result n=%zu errors=%zu p50=%.3f p99=%.3f max=%.3f late_p99=%.3f cpu_us=%.2f\n", nlat, errors, pct_ms(lat, nlat, 50), pct_ms(lat, nlat, 99), nlat ? lat[nlat - 1] / 1e6 : -1.0, pct_ms(late, nlate, 99), cpu_us);
  return 0;
}
