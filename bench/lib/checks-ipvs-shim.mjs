// keepalived 2.2.7's checker child exits FATAL when IPVS cannot be initialised (no ip_vs module on the host), so
// bench/checks.mjs runs it with this LD_PRELOAD shim: the IPVS sockopt interface (the fallback keepalived uses when
// the IPVS generic-netlink family is missing) answers as an empty IPVS 1.2.1 that accepts every change and stores
// nothing. Every other getsockopt/setsockopt goes to libc. Compiled with cc into the run's temporary directory.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE = `#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#define IP_VS_BASE_CTL (64 + 1024 + 64)
#define IP_VS_SO_GET_INFO (IP_VS_BASE_CTL + 1)
#define IP_VS_SO_GET_MAX (IP_VS_BASE_CTL + 7)
#define IP_VS_SO_SET_MAX (IP_VS_BASE_CTL + 15)
int getsockopt(int fd, int level, int opt, void *val, socklen_t *len) {
  static int (*real)(int, int, int, void *, socklen_t *);
  if (level == IPPROTO_IP && opt >= IP_VS_BASE_CTL && opt <= IP_VS_SO_GET_MAX && val && len) {
    memset(val, 0, *len);
    if (opt == IP_VS_SO_GET_INFO && *len >= 12) {
      unsigned *info = val;
      info[0] = 0x010201; /* version 1.2.1 */
      info[1] = 4096;     /* connection table size */
      info[2] = 0;        /* services */
    }
    return 0;
  }
  if (!real) real = dlsym(RTLD_NEXT, "getsockopt");
  return real(fd, level, opt, val, len);
}
int setsockopt(int fd, int level, int opt, const void *val, socklen_t len) {
  static int (*real)(int, int, int, const void *, socklen_t);
  if (level == IPPROTO_IP && opt >= IP_VS_BASE_CTL && opt <= IP_VS_SO_SET_MAX) return 0;
  if (!real) real = dlsym(RTLD_NEXT, "setsockopt");
  return real(fd, level, opt, val, len);
}
`;

/** Builds the shim in `dir`; returns the .so path. */
export function buildIpvsShim(dir) {
  const src = join(dir, 'ipvs-shim.c');
  const so = join(dir, 'ipvs-shim.so');
  writeFileSync(src, SOURCE);
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-o', so, src, '-ldl'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`cc ipvs-shim.c: ${r.stderr}`);
  return so;
}
