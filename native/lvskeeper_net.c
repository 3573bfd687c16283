/*
 * lvskeeper_net: the two sends Node.js cannot make on its own, as a minimal N-API addon (plain C, no
 * node-addon-api needed).
 *
 *   sendFrame(ifindex, frame)       one complete Ethernet frame on an AF_PACKET socket. Gratuitous ARP
 *                                   needs it: raw-socket only opens AF_INET/AF_INET6 sockets, and an IP
 *                                   socket cannot emit ARP (keepalived vrrp_arp.c uses AF_PACKET too).
 *   sendUnixDatagram(path, data)    one AF_UNIX datagram, for systemd's NOTIFY_SOCKET (sd_notify); node:dgram
 *                                   has no unix datagrams. A leading '@' means the abstract namespace.
 *
 *   openRaw6Receiver(protocol, cb) / openRaw4Receiver(protocol, cb) / rawSocketOption(h, level, name,
 *   value) / closeReceiver(h)
 *                                   a raw socket read with recvmsg(), reporting what raw-socket's
 *                                   recvfrom() drops: the kernel's receive timestamp (SO_TIMESTAMPNS), and
 *                                   for IPv6 the hop limit, destination and ifindex (IPV6_RECVHOPLIMIT /
 *                                   IPV6_RECVPKTINFO cmsgs). VRRP over IPv6 needs the hop limit to drop
 *                                   adverts with HL != 255 (RFC 5798 §7.1), as keepalived and FRR do. The
 *                                   timestamp starts the Master_Down_Timer when the advert arrived, not when
 *                                   Node's event loop got to it (0.3-1 ms later, measured in bench:failover;
 *                                   keepalived reads its socket in C at once). Only receive: sends stay on
 *                                   raw-socket.
 *
 *   openNetlinkReceiver(protocol, groups, receiveBufferBytes, ref, cb)
 *                                   a netlink socket joined to multicast groups (rtnetlink notifications).
 *                                   The netlink package aborts the process when its socket overflows: the
 *                                   kernel flags ENOBUFS, epoll reports EPOLLERR, libuv calls the poll
 *                                   callback with UV_EBADF, and the package's error path throws a C++
 *                                   exception nobody catches. Here the pending error is read with recvmsg()
 *                                   (which clears it), reported as "ENOBUFS: ...", and reading goes on, so the
 *                                   caller can re-read the state it follows. closeReceiver(h) closes it.
 *
 *   openMarkedSocket(ipv6, datagram, mark, bindAddress, bindPort)
 *                                   an unconnected TCP/UDP socket carrying SO_MARK (checker fwmark), for
 *                                   net.Socket({ fd }) / dgram bind({ fd }): Node has no setsockopt.
 *
 *   enterNetworkNamespace(path)     setns(CLONE_NEWNET) of the calling thread, for `-s/--namespace NAME`
 *                                   as keepalived (Node has no setns). Called on the main thread before any
 *                                   socket exists: sockets it opens, threads it creates and processes it
 *                                   forks then live in that namespace.
 *
 * Frames are built and tested in TypeScript (src/net/packet-codec.ts); this file only does syscalls.
 * Errors are thrown as Error objects whose `code` is the errno name (e.g. "ENODEV").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <net/ethernet.h>
#include <node_api.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <stdlib.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  const char *code = strerrorname_np(err);
  napi_throw_error(env, code ? code : "EIO", msg);
  return NULL;
}

static int get_buffer(napi_env env, napi_value v, void **data, size_t *len) {
  bool is_buffer = false;
  if (napi_is_buffer(env, v, &is_buffer) != napi_ok || !is_buffer) return -1;
  return napi_get_buffer_info(env, v, data, len) == napi_ok ? 0 : -1;
}

/* sendFrame(ifindex: number, frame: Buffer): void */
static napi_value send_frame(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  uint32_t ifindex = 0;
  void *data = NULL;
  size_t len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &ifindex) != napi_ok || ifindex == 0 ||
      get_buffer(env, argv[1], &data, &len) != 0) {
    napi_throw_type_error(env, NULL, "sendFrame(ifindex: number > 0, frame: Buffer)");
    return NULL;
  }
  if (len < ETH_HLEN || len > ETH_FRAME_LEN) {
    napi_throw_range_error(env, NULL, "frame must be 14..1514 bytes");
    return NULL;
  }
  /* Protocol 0: a send-only socket, the kernel never queues received frames on it. */
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_PACKET)", errno);
  const unsigned char *frame = data;
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = (int)ifindex;
  memcpy(&sll.sll_protocol, frame + 12, 2); /* ethertype, already network order */
  sll.sll_halen = ETH_ALEN;
  memcpy(sll.sll_addr, frame, ETH_ALEN);
  ssize_t n = sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof sll);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "sendto(AF_PACKET)", err);
  return NULL;
}

/* sendUnixDatagram(path: string, data: Buffer): void */
static napi_value send_unix_datagram(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  struct sockaddr_un sun;
  size_t path_len = 0;
  void *data = NULL;
  size_t len = 0;
  memset(&sun, 0, sizeof sun);
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 ||
      napi_get_value_string_utf8(env, argv[0], sun.sun_path, sizeof sun.sun_path, &path_len) != napi_ok ||
      get_buffer(env, argv[1], &data, &len) != 0) {
    napi_throw_type_error(env, NULL, "sendUnixDatagram(path: string, data: Buffer)");
    return NULL;
  }
  if (path_len == 0 || path_len >= sizeof sun.sun_path - 1) {
    napi_throw_range_error(env, NULL, "unix socket path is empty or too long");
    return NULL;
  }
  sun.sun_family = AF_UNIX;
  socklen_t addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + path_len);
  if (sun.sun_path[0] == '@') sun.sun_path[0] = '\0'; /* abstract: no trailing NUL counted */
  else addr_len += 1;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket(AF_UNIX)", errno);
  ssize_t n = sendto(fd, data, len, 0, (struct sockaddr *)&sun, addr_len);
  int err = errno;
  close(fd);
  if (n < 0) return throw_errno(env, "sendto(AF_UNIX)", err);
  return NULL;
}


/* ---- raw receive with ancillary data (IPv4 and IPv6) --------------------------------------------------- */

#define RECV_BUFFER 8192
#define READS_PER_WAKEUP 32

typedef struct {
  uv_poll_t poll;
  int fd;
  int family; /* AF_INET or AF_INET6 */
  napi_env env;
  napi_ref callback;
  napi_async_context context;
  int uv_closed; /* libuv finished closing the poll handle */
  int finalized; /* the JS handle was garbage-collected */
  unsigned char buffer[RECV_BUFFER];
} receiver_t;

static void call_js(receiver_t *r, size_t argc, napi_value *argv) {
  napi_env env = r->env;
  napi_value cb, recv, result;
  napi_get_reference_value(env, r->callback, &cb);
  napi_get_global(env, &recv); /* napi_make_callback converts recv to an object: undefined would throw */
  if (napi_make_callback(env, r->context, recv, cb, argc, argv, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception);
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  receiver_t *r = (receiver_t *)handle->data;
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  if (status < 0) {
    napi_value argv[1];
    napi_create_string_utf8(env, uv_strerror(status), NAPI_AUTO_LENGTH, &argv[0]);
    call_js(r, 1, argv);
    napi_close_handle_scope(env, scope);
    return;
  }
  /* fd < 0: the callback closed the receiver; stop reading at once. */
  for (int i = 0; i < READS_PER_WAKEUP && r->fd >= 0; i++) {
    struct sockaddr_storage from;
    union {
      char buf[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct in6_pktinfo)) + CMSG_SPACE(sizeof(struct timespec))];
      struct cmsghdr align;
    } control;
    struct iovec iov = {r->buffer, sizeof r->buffer};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_name = &from;
    msg.msg_namelen = sizeof from;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n = recvmsg(r->fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        napi_value argv[1];
        napi_create_string_utf8(env, strerror(errno), NAPI_AUTO_LENGTH, &argv[0]);
        call_js(r, 1, argv);
      }
      break;
    }
    int hoplimit = -1;
    unsigned ifindex = 0;
    const unsigned char *dst = NULL;
    double age_ms = -1; /* unknown */
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS && c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
        struct timespec at, now;
        memcpy(&at, CMSG_DATA(c), sizeof at);
        clock_gettime(CLOCK_REALTIME, &now); /* the timestamp's clock; only the difference leaves this file */
        age_ms = (double)(now.tv_sec - at.tv_sec) * 1e3 + (double)(now.tv_nsec - at.tv_nsec) / 1e6;
      }
      if (c->cmsg_level != IPPROTO_IPV6) continue;
      if (c->cmsg_type == IPV6_HOPLIMIT && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
        memcpy(&hoplimit, CMSG_DATA(c), sizeof hoplimit);
      } else if (c->cmsg_type == IPV6_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
        struct in6_pktinfo *pi = (struct in6_pktinfo *)CMSG_DATA(c);
        dst = pi->ipi6_addr.s6_addr;
        ifindex = pi->ipi6_ifindex;
      }
    }
    napi_value argv[7];
    void *data;
    napi_get_null(env, &argv[0]);
    napi_create_buffer_copy(env, (size_t)n, r->buffer, &data, &argv[1]);
    if (r->family == AF_INET6)
      napi_create_buffer_copy(env, 16, ((struct sockaddr_in6 *)&from)->sin6_addr.s6_addr, &data, &argv[2]);
    else
      napi_create_buffer_copy(env, 4, &((struct sockaddr_in *)&from)->sin_addr.s_addr, &data, &argv[2]);
    if (dst) napi_create_buffer_copy(env, 16, dst, &data, &argv[3]);
    else napi_get_undefined(env, &argv[3]);
    napi_create_int32(env, hoplimit, &argv[4]);
    napi_create_uint32(env, ifindex, &argv[5]);
    napi_create_double(env, age_ms, &argv[6]);
    call_js(r, 7, argv);
  }
  napi_close_handle_scope(env, scope);
}

static void finalize_receiver(napi_env env, void *data, void *hint);

static receiver_t *get_receiver(napi_env env, napi_value v) {
  void *p = NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external) return NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok) return NULL;
  receiver_t *r = p;
  return (r != NULL && r->fd >= 0) ? r : NULL;
}

/* openRaw6Receiver / openRaw4Receiver(protocol: number, cb: (err, payload, src, dst16?, hoplimit, ifindex,
 * ageMs) => void): handle. IPv4 payloads start with the IP header (a raw IPv4 socket's), src is 4 bytes, and
 * dst, hop limit and ifindex are unknown (undefined, -1, 0). ageMs: how long ago the kernel received the
 * packet, -1 if it gave no timestamp. */
/* Wraps an open, bound socket in a receiver whose `poll_cb` calls `callback`: the handle JS holds. Takes
 * the fd (closed on failure). `ref` false: the socket does not keep the event loop alive. */
static napi_value start_receiver(napi_env env, int fd, int family, napi_value callback, const char *name, uv_poll_cb poll_cb, bool ref) {
  uv_loop_t *loop = NULL;
  napi_get_uv_event_loop(env, &loop);
  receiver_t *r = calloc(1, sizeof *r);
  if (r == NULL) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  r->fd = fd;
  r->family = family;
  r->env = env;
  napi_create_reference(env, callback, 1, &r->callback);
  napi_value resource;
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource);
  napi_async_init(env, NULL, resource, &r->context);
  int rc = uv_poll_init_socket(loop, &r->poll, fd);
  r->poll.data = r;
  if (rc == 0) rc = uv_poll_start(&r->poll, UV_READABLE, poll_cb);
  if (rc != 0) {
    napi_delete_reference(env, r->callback);
    napi_async_destroy(env, r->context);
    close(fd);
    free(r);
    napi_throw_error(env, NULL, uv_strerror(rc));
    return NULL;
  }
  if (!ref) uv_unref((uv_handle_t *)&r->poll);
  napi_value handle;
  napi_create_external(env, r, finalize_receiver, NULL, &handle);
  return handle;
}

static napi_value open_raw_receiver(napi_env env, napi_callback_info info, int family) {
  const char *usage = family == AF_INET6 ? "openRaw6Receiver(protocol: number, callback: function)"
                                         : "openRaw4Receiver(protocol: number, callback: function)";
  size_t argc = 2;
  napi_value argv[2];
  uint32_t protocol = 0;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 2 || napi_get_value_uint32(env, argv[0], &protocol) != napi_ok || protocol > 255 ||
      napi_typeof(env, argv[1], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, (int)protocol);
  if (fd < 0) return throw_errno(env, family == AF_INET6 ? "socket(AF_INET6, SOCK_RAW)" : "socket(AF_INET, SOCK_RAW)", errno);
  int on = 1;
  if (family == AF_INET6 && (setsockopt(fd, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, &on, sizeof on) < 0 ||
                             setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &on, sizeof on) < 0)) {
    int err = errno;
    close(fd);
    return throw_errno(env, "setsockopt(IPV6_RECVHOPLIMIT/IPV6_RECVPKTINFO)", err);
  }
  /* Without it ageMs is -1 and the caller uses its own clock, as before. */
  (void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on);
  return start_receiver(env, fd, family, argv[1], family == AF_INET6 ? "lvskeeper:raw6" : "lvskeeper:raw4", on_readable, true);
}

static napi_value open_raw6_receiver(napi_env env, napi_callback_info info) {
  return open_raw_receiver(env, info, AF_INET6);
}

static napi_value open_raw4_receiver(napi_env env, napi_callback_info info) {
  return open_raw_receiver(env, info, AF_INET);
}

/* rawSocketOption(handle, level: number, name: number, value: number | Buffer): void */
static napi_value raw_socket_option(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  int32_t level = 0, name = 0, ival = 0;
  void *data = NULL;
  size_t len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  receiver_t *r = argc == 4 ? get_receiver(env, argv[0]) : NULL;
  if (r == NULL || napi_get_value_int32(env, argv[1], &level) != napi_ok ||
      napi_get_value_int32(env, argv[2], &name) != napi_ok) {
    napi_throw_type_error(env, NULL, "rawSocketOption(open handle, level: number, name: number, value)");
    return NULL;
  }
  if (get_buffer(env, argv[3], &data, &len) != 0) {
    if (napi_get_value_int32(env, argv[3], &ival) != napi_ok) {
      napi_throw_type_error(env, NULL, "rawSocketOption: value must be a number or a Buffer");
      return NULL;
    }
    data = &ival;
    len = sizeof ival;
  }
  if (setsockopt(r->fd, level, name, data, (socklen_t)len) < 0) return throw_errno(env, "setsockopt", errno);
  return NULL;
}

/* Memory is freed once both libuv is done with the poll handle and the JS handle is gone, so a late or
 * repeated closeReceiver() on the handle never touches freed memory. */
static void on_closed(uv_handle_t *handle) {
  receiver_t *r = handle->data;
  r->uv_closed = 1;
  if (r->finalized) free(r);
}

static void stop_receiver(napi_env env, receiver_t *r) {
  if (r->fd < 0) return;
  uv_poll_stop(&r->poll);
  close(r->fd);
  r->fd = -1;
  napi_delete_reference(env, r->callback);
  napi_async_destroy(env, r->context);
  uv_close((uv_handle_t *)&r->poll, on_closed);
}

static void finalize_receiver(napi_env env, void *data, void *hint) {
  (void)hint;
  receiver_t *r = data;
  r->finalized = 1;
  if (r->fd >= 0) stop_receiver(env, r); /* on_closed frees */
  else if (r->uv_closed) free(r);
}

/* closeReceiver(handle): void — idempotent */
static napi_value close_receiver(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  receiver_t *r = argc == 1 ? get_receiver(env, argv[0]) : NULL;
  if (r != NULL) stop_receiver(env, r);
  return NULL;
}

/* ---- netlink notifications ------------------------------------------------------------------------- */

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

/* Reports errno as "CODE: message" (the JS side keys on the code). */
static void report_errno(receiver_t *r, int err) {
  char msg[160];
  const char *code = strerrorname_np(err);
  snprintf(msg, sizeof msg, "%s: %s", code ? code : "EIO", strerror(err));
  napi_value argv[1];
  napi_create_string_utf8(r->env, msg, NAPI_AUTO_LENGTH, &argv[0]);
  call_js(r, 1, argv);
}

static void on_netlink_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  receiver_t *r = (receiver_t *)handle->data;
  napi_env env = r->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  /* A pending socket error (ENOBUFS) makes epoll report EPOLLERR, and libuv then stops the handle and
   * passes UV_EBADF. The recvmsg() below returns that error (and clears it): restart the poll and read on. */
  if (status < 0 && r->fd >= 0) {
    int rc = uv_poll_start(&r->poll, UV_READABLE, on_netlink_readable);
    if (rc != 0) {
      napi_value argv[1];
      napi_create_string_utf8(env, uv_strerror(rc), NAPI_AUTO_LENGTH, &argv[0]);
      call_js(r, 1, argv);
      napi_close_handle_scope(env, scope);
      return;
    }
  }
  for (int i = 0; i < READS_PER_WAKEUP && r->fd >= 0; i++) {
    /* The datagram's size first (notifications can exceed any fixed buffer: links with many VFs). */
    ssize_t size = recv(r->fd, NULL, 0, MSG_PEEK | MSG_TRUNC | MSG_DONTWAIT);
    if (size < 0) {
      int err = errno;
      if (err == EINTR) continue;
      if ((err == EAGAIN || err == EWOULDBLOCK) && status < 0 && i == 0) {
        /* EPOLLERR with no error to read: never spin on it; the caller replaces the socket. */
        napi_value argv[1];
        napi_create_string_utf8(env, uv_strerror(status), NAPI_AUTO_LENGTH, &argv[0]);
        call_js(r, 1, argv);
        break;
      }
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      report_errno(r, err);
      if (err == ENOBUFS) continue; /* the socket is still good: read what it holds */
      break;
    }
    void *data = NULL;
    napi_value argv[2];
    napi_get_null(env, &argv[0]);
    if (napi_create_buffer(env, size > 0 ? (size_t)size : 1, &data, &argv[1]) != napi_ok) break;
    ssize_t n;
    do n = recv(r->fd, data, size > 0 ? (size_t)size : 1, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) break;
      report_errno(r, err);
      if (err == ENOBUFS) continue;
      break;
    }
    if (n < size) napi_create_buffer_copy(env, (size_t)n, data, &data, &argv[1]);
    call_js(r, 2, argv);
  }
  napi_close_handle_scope(env, scope);
}

/* openNetlinkReceiver(protocol: number, groups: number[], receiveBufferBytes: number (0: the kernel's
 * default), ref: boolean, cb: (err: string | null, datagram?: Buffer) => void): handle */
static napi_value open_netlink_receiver(napi_env env, napi_callback_info info) {
  const char *usage = "openNetlinkReceiver(protocol: number, groups: number[], receiveBufferBytes: number, ref: boolean, callback: function)";
  size_t argc = 5;
  napi_value argv[5];
  uint32_t protocol = 0, rcvbuf = 0, ngroups = 0;
  bool is_array = false, ref = true;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || napi_get_value_uint32(env, argv[0], &protocol) != napi_ok || protocol > 31 ||
      napi_is_array(env, argv[1], &is_array) != napi_ok || !is_array || napi_get_array_length(env, argv[1], &ngroups) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &rcvbuf) != napi_ok || napi_get_value_bool(env, argv[3], &ref) != napi_ok ||
      napi_typeof(env, argv[4], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, (int)protocol);
  if (fd < 0) return throw_errno(env, "socket(AF_NETLINK)", errno);
  struct sockaddr_nl local;
  memset(&local, 0, sizeof local);
  local.nl_family = AF_NETLINK; /* nl_pid 0: the kernel picks a free port id */
  if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind(AF_NETLINK)", err);
  }
  if (rcvbuf > 0 && rcvbuf <= INT_MAX) {
    int size = (int)rcvbuf;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size); /* capped by net.core.rmem_max */
  }
  for (uint32_t i = 0; i < ngroups; i++) {
    napi_value v;
    uint32_t group = 0;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok || napi_get_value_uint32(env, v, &group) != napi_ok) {
      close(fd);
      napi_throw_type_error(env, NULL, usage);
      return NULL;
    }
    if (setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
      int err = errno;
      close(fd);
      return throw_errno(env, "setsockopt(NETLINK_ADD_MEMBERSHIP)", err);
    }
  }
  return start_receiver(env, fd, AF_NETLINK, argv[4], "lvskeeper:netlink", on_netlink_readable, ref);
}

/* ---- checker sockets carrying SO_MARK (keepalived's checker "fwmark") -------------------------------- */

/* Like throw_errno, plus a `syscall` property (as Node's own errors have) so callers can tell a failed
 * SO_MARK from a failed bind without parsing the message. */
static napi_value throw_syscall_errno(napi_env env, const char *syscall, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  const char *name = strerrorname_np(err);
  napi_value code, message, error, syscall_value;
  napi_create_string_utf8(env, name ? name : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_create_error(env, code, message, &error);
  napi_set_named_property(env, error, "syscall", syscall_value);
  napi_throw(env, error);
  return NULL;
}

/*
 * openMarkedSocket(ipv6: boolean, datagram: boolean, mark: number, bindAddress: string | null,
 *                  bindPort: number): fd
 *
 * node:net and node:dgram have no setsockopt, and a net.Socket only gets its file descriptor inside the same
 * call that connects it. The route of a connected socket is looked up at connect() with the socket's mark,
 * so SO_MARK must be set before connect() (keepalived layer4.c socket_bind_connect does the same): this
 * creates the socket, marks it, binds it when bindto/bind_port ask for it, and returns the unconnected fd
 * for net.Socket({ fd }) / dgram bind({ fd }) to adopt (they own and close it from then on). Only
 * non-blocking syscalls: the event loop never waits. A bindAddress may carry "%ifname" (IPv6 scope).
 * Errors carry `code` (errno name) and `syscall` ("setsockopt(SO_MARK)", "bind", ...).
 */
static napi_value open_marked_socket(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  bool ipv6 = false, datagram = false;
  uint32_t mark = 0, port = 0;
  char address[INET6_ADDRSTRLEN + IF_NAMESIZE + 2] = "";
  size_t address_len = 0;
  napi_valuetype address_type = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 5 || napi_get_value_bool(env, argv[0], &ipv6) != napi_ok ||
      napi_get_value_bool(env, argv[1], &datagram) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &mark) != napi_ok || napi_typeof(env, argv[3], &address_type) != napi_ok ||
      (address_type != napi_null &&
       napi_get_value_string_utf8(env, argv[3], address, sizeof address, &address_len) != napi_ok) ||
      napi_get_value_uint32(env, argv[4], &port) != napi_ok || port > 65535) {
    napi_throw_type_error(env, NULL,
                          "openMarkedSocket(ipv6: boolean, datagram: boolean, mark: number, bindAddress: string | null, "
                          "bindPort: 0..65535)");
    return NULL;
  }
  union {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
  } local;
  memset(&local, 0, sizeof local);
  socklen_t local_len = ipv6 ? sizeof local.v6 : sizeof local.v4;
  if (ipv6) {
    local.v6.sin6_family = AF_INET6;
    local.v6.sin6_port = htons((uint16_t)port);
    char *scope = strchr(address, '%');
    if (scope != NULL) {
      *scope++ = '\0';
      local.v6.sin6_scope_id = if_nametoindex(scope);
      if (local.v6.sin6_scope_id == 0) return throw_syscall_errno(env, "if_nametoindex", ENODEV);
    }
    if (address[0] != '\0' && inet_pton(AF_INET6, address, &local.v6.sin6_addr) != 1) {
      napi_throw_range_error(env, NULL, "bind address is not an IPv6 address");
      return NULL;
    }
  } else {
    local.v4.sin_family = AF_INET;
    local.v4.sin_port = htons((uint16_t)port);
    if (address[0] != '\0' && inet_pton(AF_INET, address, &local.v4.sin_addr) != 1) {
      napi_throw_range_error(env, NULL, "bind address is not an IPv4 address");
      return NULL;
    }
  }
  int fd = socket(ipv6 ? AF_INET6 : AF_INET, (datagram ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_syscall_errno(env, "socket", errno);
  int on = 1;
  int wants_bind = address[0] != '\0' || port != 0;
  const char *failed = NULL;
  if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof mark) < 0) failed = "setsockopt(SO_MARK)";
  /* libuv sets SO_REUSEADDR on every TCP bind; keep that so a fixed bind_port survives TIME_WAIT. */
  else if (wants_bind && !datagram && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0)
    failed = "setsockopt(SO_REUSEADDR)";
  else if (wants_bind && bind(fd, &local.sa, local_len) < 0) failed = "bind";
  if (failed != NULL) {
    int err = errno;
    close(fd);
    return throw_syscall_errno(env, failed, err);
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

/* enterNetworkNamespace(path: string): void */
static napi_value enter_network_namespace(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  char path[PATH_MAX];
  size_t len = 0;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 1 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &len) != napi_ok || len == 0 || len >= sizeof path - 1) {
    napi_throw_type_error(env, NULL, "enterNetworkNamespace(path: string)");
    return NULL;
  }
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, "open", errno);
  if (setns(fd, CLONE_NEWNET) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "setns", err);
  }
  close(fd);
  return NULL;
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
      {"sendFrame", NULL, send_frame, NULL, NULL, NULL, napi_default, NULL},
      {"sendUnixDatagram", NULL, send_unix_datagram, NULL, NULL, NULL, napi_default, NULL},
      {"openRaw6Receiver", NULL, open_raw6_receiver, NULL, NULL, NULL, napi_default, NULL},
      {"openRaw4Receiver", NULL, open_raw4_receiver, NULL, NULL, NULL, napi_default, NULL},
      {"rawSocketOption", NULL, raw_socket_option, NULL, NULL, NULL, napi_default, NULL},
      {"closeReceiver", NULL, close_receiver, NULL, NULL, NULL, napi_default, NULL},
      {"openNetlinkReceiver", NULL, open_netlink_receiver, NULL, NULL, NULL, napi_default, NULL},
      {"openMarkedSocket", NULL, open_marked_socket, NULL, NULL, NULL, napi_default, NULL},
      {"enterNetworkNamespace", NULL, enter_network_namespace, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
