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
 * Frames are built and tested in TypeScript (src/net/packet-codec.ts); this file only does syscalls.
 * Errors are thrown as Error objects whose `code` is the errno name (e.g. "ENODEV").
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <node_api.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

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

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_property_descriptor props[] = {
      {"sendFrame", NULL, send_frame, NULL, NULL, NULL, napi_default, NULL},
      {"sendUnixDatagram", NULL, send_unix_datagram, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}
