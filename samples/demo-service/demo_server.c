/*
 * demo_server.c: procedures and main() of rpcscope's demo service. The
 * dispatch functions demo_prog_1/demo_prog_2 come from `rpcgen -N -m`.
 *
 *   demo-server -p PORT [-r]
 *
 * Listens on 127.0.0.1:PORT over TCP and UDP. With -r it also registers
 * with the local rpcbind (which must be running). Compile-time variants for
 * regression samples:
 *   -DVARIANT_ERROR  CHECK answers DEMO_IO_ERROR instead of DEMO_OK
 *   -DVARIANT_DELAY  STORE sleeps 30 ms before answering
 */
#include "demo.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

extern void demo_prog_1(struct svc_req *, SVCXPRT *);
extern void demo_prog_2(struct svc_req *, SVCXPRT *);

static uint64_t fnv1a64(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t i = 0; i < len; i++) {
    h ^= p[i];
    h *= 1099511628211ULL;
  }
  return h;
}
#define FNV64_OFFSET 14695981039346656037ULL

/* ---- version 1 ---------------------------------------------------------- */

void *demo_null_1_svc(struct svc_req *rqstp) {
  static char dummy;
  (void)rqstp;
  return &dummy;
}

int *echo_int_1_svc(int value, struct svc_req *rqstp) {
  static int result;
  (void)rqstp;
  result = value;
  return &result;
}

char **greet_1_svc(name_t name, struct svc_req *rqstp) {
  static char buffer[64];
  static char *result = buffer;
  (void)rqstp;
  snprintf(buffer, sizeof buffer, "hello, %s", name);
  return &result;
}

/* ---- version 2 ---------------------------------------------------------- */

void *demo2_null_2_svc(struct svc_req *rqstp) {
  static char dummy;
  (void)rqstp;
  return &dummy;
}

store_res *store_2_svc(record rec, struct svc_req *rqstp) {
  static store_res result;
  (void)rqstp;
#ifdef VARIANT_DELAY
  struct timespec pause = {0, 30 * 1000 * 1000};
  nanosleep(&pause, NULL);
#endif
  uint64_t h = FNV64_OFFSET;
  h = fnv1a64(h, rec.token, TOKEN_SIZE);
  h = fnv1a64(h, rec.note.note_val, rec.note.note_len);
  h = fnv1a64(h, rec.title, strlen(rec.title));
  unsigned count = 0;
  for (item *it = rec.items; it != NULL; it = it->next) count++;
  result.status = DEMO_OK;
  result.id = rec.id;
  result.item_count = count;
  result.checksum = h;
  return &result;
}

sum_res *add3_2_svc(quad_t a, u_quad_t b, double c, struct svc_req *rqstp) {
  static sum_res result;
  (void)rqstp;
  result.total = (quad_t)((u_quad_t)a + b);
  result.mean = ((double)a + (double)b + c) / 3.0;
  return &result;
}

/* Turns each shape into the next kind, so every union arm appears in a reply. */
shape *classify_2_svc(shape in, struct svc_req *rqstp) {
  static shape result;
  static point corners[2];
  (void)rqstp;
  memset(&result, 0, sizeof result);
  switch (in.kind) {
  case TINT_RED:
    result.kind = TINT_GREEN;
    break;
  case TINT_GREEN:
    result.kind = TINT_BLUE;
    corners[0].x = 0; corners[0].y = 0;
    corners[1].x = 3; corners[1].y = 4;
    result.shape_u.corners.corners_len = 2;
    result.shape_u.corners.corners_val = corners;
    break;
  case TINT_BLUE:
    result.kind = TINT_BLACK;
    result.shape_u.radius = 1.5 * in.shape_u.corners.corners_len;
    break;
  default:
    result.kind = TINT_RED;
    result.shape_u.center.x = (int)in.shape_u.radius;
    result.shape_u.center.y = -(int)in.shape_u.radius;
    break;
  }
  return &result;
}

/* Reverses the list in place; the reply is sent before the arguments are freed. */
item_list *reverse_2_svc(item_list list, struct svc_req *rqstp) {
  static item_list result;
  (void)rqstp;
  item *prev = NULL;
  while (list != NULL) {
    item *next = list->next;
    list->next = prev;
    prev = list;
    list = next;
  }
  result = prev;
  return &result;
}

upload_res *upload_2_svc(name_t name, blob_t blob, struct svc_req *rqstp) {
  static upload_res result;
  (void)name;
  (void)rqstp;
  uint32_t sum = 0;
  for (u_int i = 0; i < blob.blob_t_len; i++) sum += (unsigned char)blob.blob_t_val[i];
  result.length = blob.blob_t_len;
  result.checksum = sum;
  return &result;
}

check_res *check_2_svc(int key, struct svc_req *rqstp) {
  static check_res result;
  (void)rqstp;
  memset(&result, 0, sizeof result);
#ifdef VARIANT_ERROR
  (void)key;
  result.status = DEMO_IO_ERROR;
#else
  if (key < 0) {
    result.status = DEMO_NOT_FOUND;
  } else {
    result.status = DEMO_OK;
    result.check_res_u.checksum = (u_quad_t)key * 0x9E3779B97F4A7C15ULL;
  }
#endif
  return &result;
}

/* Returning NULL tells the rpcgen dispatcher that a reply was already sent. */
void *fail_2_svc(struct svc_req *rqstp) {
  svcerr_systemerr(rqstp->rq_xprt);
  return NULL;
}

stamp *whoami_2_svc(struct svc_req *rqstp) {
  static stamp result;
  static char machine[256];
  if (rqstp->rq_cred.oa_flavor != AUTH_SYS) {
    svcerr_weakauth(rqstp->rq_xprt); /* AUTH_ERROR, auth_stat AUTH_TOOWEAK */
    return NULL;
  }
  struct authunix_parms *cred = (struct authunix_parms *)rqstp->rq_clntcred;
  result.uid = cred->aup_uid;
  result.gid = cred->aup_gid;
  snprintf(machine, sizeof machine, "%s", cred->aup_machname);
  result.machine = machine;
  return &result;
}

bool_t *toggle_2_svc(bool_t flag, tint colour, struct svc_req *rqstp) {
  static bool_t result;
  (void)colour;
  (void)rqstp;
  result = !flag;
  return &result;
}

/* ---- main ---------------------------------------------------------------- */

static int registered;

static void on_term(int sig) {
  (void)sig;
  if (registered) {
    pmap_unset(DEMO_PROG, DEMO_V1);
    pmap_unset(DEMO_PROG, DEMO_V2);
  }
  _exit(0);
}

static int bound_socket(int type, unsigned short port) {
  int fd = socket(AF_INET, type, 0);
  int one = 1;
  struct sockaddr_in sa;
  if (fd < 0) { perror("socket"); exit(1); }
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("bind"); exit(1); }
  return fd;
}

int main(int argc, char **argv) {
  unsigned short port = 0;
  int use_rpcbind = 0, opt;
  while ((opt = getopt(argc, argv, "p:r")) != -1) {
    if (opt == 'p') port = (unsigned short)atoi(optarg);
    else if (opt == 'r') use_rpcbind = 1;
    else { fprintf(stderr, "usage: demo-server -p PORT [-r]\n"); return 2; }
  }
  if (port == 0) { fprintf(stderr, "demo-server: -p PORT is required\n"); return 2; }
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);

  int tcp_fd = bound_socket(SOCK_STREAM, port);
  if (listen(tcp_fd, 16) < 0) { perror("listen"); return 1; }
  int udp_fd = bound_socket(SOCK_DGRAM, port);
  SVCXPRT *tcp = svctcp_create(tcp_fd, 0, 0);
  SVCXPRT *udp = svcudp_create(udp_fd);
  if (tcp == NULL || udp == NULL) { fprintf(stderr, "demo-server: cannot create transports\n"); return 1; }

  /* Protocol 0: serve without registering; IPPROTO_*: also tell rpcbind. */
  int tcp_proto = use_rpcbind ? IPPROTO_TCP : 0, udp_proto = use_rpcbind ? IPPROTO_UDP : 0;
  if (use_rpcbind) {
    pmap_unset(DEMO_PROG, DEMO_V1);
    pmap_unset(DEMO_PROG, DEMO_V2);
  }
  if (!svc_register(tcp, DEMO_PROG, DEMO_V1, demo_prog_1, tcp_proto) ||
      !svc_register(tcp, DEMO_PROG, DEMO_V2, demo_prog_2, tcp_proto) ||
      !svc_register(udp, DEMO_PROG, DEMO_V1, demo_prog_1, udp_proto) ||
      !svc_register(udp, DEMO_PROG, DEMO_V2, demo_prog_2, udp_proto)) {
    fprintf(stderr, "demo-server: svc_register failed\n");
    return 1;
  }
  registered = use_rpcbind;
  fprintf(stderr, "demo-server: ready on 127.0.0.1:%u%s\n", port, use_rpcbind ? " (registered)" : "");
  svc_run();
  return 1;
}
