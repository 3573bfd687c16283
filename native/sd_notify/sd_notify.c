/*
 * sd_notify.node: send one AF_UNIX datagram, for systemd's sd_notify protocol ($NOTIFY_SOCKET).
 *
 * Why native code: Node.js has no AF_UNIX SOCK_DGRAM socket (dgram is UDP only, net is stream only).
 * The npm packages were checked: `sd-notify` links libsystemd and needs libsystemd-dev at build
 * time (not installed on our machines), `unix-dgram` copies the path with strncpy and so cannot
 * address abstract sockets ("@name"), which systemd uses in containers and user managers. This file
 * is the smallest thing that works: Node-API only (no node-addon-api, no nan), one function.
 *
 * send(address: Buffer, payload: Buffer): number
 *   address: the socket path bytes; a leading '@' means an abstract socket (replaced by NUL).
 *   returns the number of bytes sent, or -errno.
 * The datagram comes from the calling process, which systemd's NotifyAccess=main requires.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static napi_value make_int(napi_env env, int v) {
  napi_value r;
  napi_create_int32(env, v, &r);
  return r;
}

static napi_value send_datagram(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "send(address: Buffer, payload: Buffer)");
    return NULL;
  }
  bool is_buf = false;
  char *addr = NULL, *data = NULL;
  size_t addr_len = 0, data_len = 0;
  napi_is_buffer(env, argv[0], &is_buf);
  if (!is_buf) { napi_throw_type_error(env, NULL, "address must be a Buffer"); return NULL; }
  napi_is_buffer(env, argv[1], &is_buf);
  if (!is_buf) { napi_throw_type_error(env, NULL, "payload must be a Buffer"); return NULL; }
  napi_get_buffer_info(env, argv[0], (void **)&addr, &addr_len);
  napi_get_buffer_info(env, argv[1], (void **)&data, &data_len);

  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if (addr_len < 2 || addr_len > sizeof sa.sun_path) return make_int(env, -EINVAL);
  memcpy(sa.sun_path, addr, addr_len);
  if (sa.sun_path[0] == '@') sa.sun_path[0] = '\0';
  socklen_t sa_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + addr_len);

  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return make_int(env, -errno);
  ssize_t n = sendto(fd, data, data_len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sa_len);
  int err = n < 0 ? errno : 0;
  close(fd);
  return make_int(env, n < 0 ? -err : (int)n);
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "send", NAPI_AUTO_LENGTH, send_datagram, NULL, &fn);
  napi_set_named_property(env, exports, "send", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
