/*
 * demo_client.c: makes a fixed, deterministic sequence of calls to the demo
 * service and writes one JSON line per call (what it sent, the XID libtirpc
 * used, the RPC outcome and the decoded result) so a test can compare every
 * body rpcscope decodes from the capture with what was really sent.
 *
 *   demo-client -l LOG [-m full|baseline] [-d PORT] [-x]
 *
 *   -m full       TCP then UDP, all procedures, a ~200 KB UPLOAD, and the
 *                 provoked errors PROC_UNAVAIL, PROG_MISMATCH, PROG_UNAVAIL,
 *                 GARBAGE_ARGS, SYSTEM_ERR and AUTH_ERROR (default).
 *   -m baseline   a short TCP-only workload with no RPC errors, for the
 *                 regression samples; -x adds one extra CLASSIFY call.
 *   -d PORT       talk to 127.0.0.1:PORT directly instead of asking rpcbind.
 *
 * The JSON value encoding is described in samples/README.md. The client
 * checks each call's outcome against the expected one and exits 1 on any
 * surprise, so a recording never silently captures the wrong thing.
 */
#include "demo.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static FILE *logf;
static int seq;
static int surprises;
static const char *transport = "tcp";
static struct timeval call_timeout = {10, 0};

/* ---- JSON output ---------------------------------------------------------- */

static void jstr(const char *s) {
  fputc('"', logf);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(logf, "\\%c", *p);
    else if (*p < 0x20) fprintf(logf, "\\u%04x", *p);
    else fputc(*p, logf);
  }
  fputc('"', logf);
}

static uint32_t fnv1a32(const unsigned char *p, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 16777619u; }
  return h;
}

/* Opaque data: hex, or for more than 64 bytes a summary of it. */
static void jopaque(const void *data, size_t n) {
  const unsigned char *p = data;
  if (n > 64) {
    fprintf(logf, "{\"length\":%zu,\"fnv1a32\":\"%08x\",\"head\":\"", n, fnv1a32(p, n));
    for (size_t i = 0; i < 16; i++) fprintf(logf, "%02x", p[i]);
    fputs("\"}", logf);
    return;
  }
  fputc('"', logf);
  for (size_t i = 0; i < n; i++) fprintf(logf, "%02x", p[i]);
  fputc('"', logf);
}

static void jhyper(quad_t v) { fprintf(logf, "\"%lld\"", (long long)v); }
static void juhyper(u_quad_t v) { fprintf(logf, "\"%llu\"", (unsigned long long)v); }
static void jdouble(double v) { fprintf(logf, "%.17g", v); }
static void jbool(bool_t v) { fputs(v ? "true" : "false", logf); }

static const char *tint_name(tint t) {
  switch (t) {
  case TINT_RED: return "TINT_RED";
  case TINT_GREEN: return "TINT_GREEN";
  case TINT_BLUE: return "TINT_BLUE";
  case TINT_BLACK: return "TINT_BLACK";
  }
  return "?";
}

static const char *status_name(demo_status s) {
  switch (s) {
  case DEMO_OK: return "DEMO_OK";
  case DEMO_NOT_FOUND: return "DEMO_NOT_FOUND";
  case DEMO_IO_ERROR: return "DEMO_IO_ERROR";
  case DEMO_BAD_INPUT: return "DEMO_BAD_INPUT";
  }
  return "?";
}

static void jpoint(const point *p) { fprintf(logf, "{\"x\":%d,\"y\":%d}", p->x, p->y); }

static void jpoints(const point *p, u_int n) {
  fputc('[', logf);
  for (u_int i = 0; i < n; i++) { if (i) fputc(',', logf); jpoint(&p[i]); }
  fputc(']', logf);
}

static void jshape(const shape *s) {
  fputs("{\"kind\":", logf);
  jstr(tint_name(s->kind));
  switch (s->kind) {
  case TINT_RED: fputs(",\"center\":", logf); jpoint(&s->shape_u.center); break;
  case TINT_GREEN: break;
  case TINT_BLUE:
    fputs(",\"corners\":", logf);
    jpoints(s->shape_u.corners.corners_val, s->shape_u.corners.corners_len);
    break;
  default: fputs(",\"radius\":", logf); jdouble(s->shape_u.radius); break;
  }
  fputc('}', logf);
}

/* A linked list as nested objects, written with a loop. */
static void jitems(const item *it) {
  int depth = 0;
  for (; it != NULL; it = it->next, depth++) {
    fputs("{\"label\":", logf);
    jstr(it->label);
    fprintf(logf, ",\"quantity\":%u,\"next\":", it->quantity);
  }
  fputs("null", logf);
  while (depth-- > 0) fputc('}', logf);
}

static void jrecord(const record *r) {
  fprintf(logf, "{\"id\":%u,\"offset\":", r->id);
  jhyper(r->offset);
  fputs(",\"size\":", logf); juhyper(r->size);
  fprintf(logf, ",\"ratio\":%.9g,\"weight\":", (double)r->ratio); jdouble(r->weight);
  fputs(",\"active\":", logf); jbool(r->active);
  fputs(",\"colour\":", logf); jstr(tint_name(r->colour));
  fputs(",\"token\":", logf); jopaque(r->token, TOKEN_SIZE);
  fputs(",\"note\":", logf); jopaque(r->note.note_val, r->note.note_len);
  fputs(",\"title\":", logf); jstr(r->title);
  fprintf(logf, ",\"samples\":[%d,%d,%d,%d]", r->samples[0], r->samples[1], r->samples[2], r->samples[3]);
  fputs(",\"path\":", logf); jpoints(r->path.path_val, r->path.path_len);
  fputs(",\"flags\":[", logf);
  for (int i = 0; i < 3; i++) { if (i) fputc(',', logf); jbool(r->flags[i]); }
  fputs("],\"outline\":", logf); jshape(&r->outline);
  fputs(",\"items\":", logf); jitems(r->items);
  fputc('}', logf);
}

/* ---- one logged call ---------------------------------------------------- */

static const char *rfc_status(enum clnt_stat st) {
  switch (st) {
  case RPC_SUCCESS: return "SUCCESS";
  case RPC_PROGUNAVAIL: return "PROG_UNAVAIL";
  case RPC_PROGVERSMISMATCH: return "PROG_MISMATCH";
  case RPC_PROCUNAVAIL: return "PROC_UNAVAIL";
  case RPC_CANTDECODEARGS: return "GARBAGE_ARGS";
  case RPC_SYSTEMERROR: return "SYSTEM_ERR";
  case RPC_AUTHERROR: return "AUTH_ERROR";
  case RPC_VERSMISMATCH: return "RPC_MISMATCH";
  default: return NULL;
  }
}

/*
 * Writes the head of a line for the call just made on `cl`: the XID is read
 * back from the handle (CLGET_XID gives the XID of the previous call), then
 * leaves the "args" array open for the caller.
 */
static void log_head(CLIENT *cl, unsigned proc, const char *name, const char *auth) {
  u_int32_t xid = 0, prog = 0, vers = 0;
  clnt_control(cl, CLGET_XID, (char *)&xid);
  clnt_control(cl, CLGET_PROG, (char *)&prog);
  clnt_control(cl, CLGET_VERS, (char *)&vers);
  fprintf(logf, "{\"seq\":%d,\"transport\":\"%s\",\"xid\":%u,\"prog\":%u,\"vers\":%u,\"proc\":%u,\"procName\":",
          ++seq, transport, xid, prog, vers, proc);
  jstr(name);
  fputs(",\"auth\":", logf);
  jstr(auth);
  fputs(",\"args\":[", logf);
}

/* Closes "args", writes the outcome, and opens "result" when there is one. */
static int log_outcome(CLIENT *cl, int ok, const char *expected) {
  struct rpc_err err;
  memset(&err, 0, sizeof err);
  clnt_geterr(cl, &err);
  enum clnt_stat st = ok ? RPC_SUCCESS : err.re_status;
  const char *name = rfc_status(st);
  fputs("],\"status\":", logf);
  jstr(name ? name : clnt_sperrno(st));
  if (st == RPC_PROGVERSMISMATCH)
    fprintf(logf, ",\"mismatch\":{\"low\":%lu,\"high\":%lu}", (unsigned long)err.re_vers.low,
            (unsigned long)err.re_vers.high);
  if (st == RPC_AUTHERROR) fprintf(logf, ",\"authStat\":%d", (int)err.re_why);
  if (name == NULL || strcmp(name, expected) != 0) {
    fprintf(stderr, "demo-client: call %d: expected %s, got %s\n", seq, expected, clnt_sperrno(st));
    surprises++;
  }
  fputs(",\"result\":", logf);
  return st == RPC_SUCCESS;
}

static void log_end(void) { fputs("}\n", logf); fflush(logf); }

/* ---- fixed inputs --------------------------------------------------------- */

static item fig = {"fig", 12, NULL};
static item pear = {"pear", 0, &fig};
static item apple = {"apple", 3, &pear};

static point path3[3] = {{0, 0}, {10, -10}, {-2147483647 - 1, 2147483647}};
static point square2[2] = {{1, 1}, {4, 5}};

static record full_record(void) {
  record r;
  memset(&r, 0, sizeof r);
  r.id = 1001;
  r.offset = -1234567890123LL;
  r.size = 18446744073709551615ULL;
  r.ratio = 0.25f;
  r.weight = 3.141592653589793;
  r.active = TRUE;
  r.colour = TINT_BLUE;
  memcpy(r.token, "\xde\xad\xbe\xef\x00\x01\x02\x03", TOKEN_SIZE);
  r.note.note_len = 5; /* five bytes: three bytes of XDR padding follow */
  r.note.note_val = "hello";
  r.title = "record-one";
  r.samples[0] = 1; r.samples[1] = -2; r.samples[2] = 3; r.samples[3] = -4;
  r.path.path_len = 3;
  r.path.path_val = path3;
  r.flags[0] = TRUE; r.flags[1] = FALSE; r.flags[2] = TRUE;
  r.outline.kind = TINT_BLUE;
  r.outline.shape_u.corners.corners_len = 2;
  r.outline.shape_u.corners.corners_val = square2;
  r.items = &apple;
  return r;
}

/* Every optional part absent or empty, and the union's void arm. */
static record empty_record(void) {
  record r;
  memset(&r, 0, sizeof r);
  r.title = "";
  r.note.note_val = "";
  r.colour = TINT_RED;
  r.outline.kind = TINT_GREEN;
  return r;
}

static char *make_blob(u_int n) {
  char *b = malloc(n ? n : 1);
  for (u_int i = 0; i < n; i++) b[i] = (char)((i * 31u + 7u) & 0xffu);
  return b;
}

/* ---- the calls ------------------------------------------------------------ */

static void call_null(CLIENT *cl, int vers, const char *expected) {
  int ok = (vers == 1 ? demo_null_1(cl) : demo2_null_2(cl)) != NULL;
  log_head(cl, 0, vers == 1 ? "DEMO_NULL" : "DEMO2_NULL", "AUTH_NONE");
  log_outcome(cl, ok, expected);
  fputs("null", logf);
  log_end();
}

static void call_echo(CLIENT *cl, int v) {
  int *res = echo_int_1(v, cl);
  log_head(cl, ECHO_INT, "ECHO_INT", "AUTH_NONE");
  fprintf(logf, "%d", v);
  if (log_outcome(cl, res != NULL, "SUCCESS")) fprintf(logf, "%d", *res); else fputs("null", logf);
  log_end();
}

static void call_greet(CLIENT *cl, char *name) {
  char **res = greet_1(name, cl);
  log_head(cl, GREET, "GREET", "AUTH_NONE");
  jstr(name);
  if (log_outcome(cl, res != NULL, "SUCCESS")) jstr(*res); else fputs("null", logf);
  log_end();
}

/* GARBAGE_ARGS: a name longer than name_t's bound of NAME_MAX_LEN. */
static bool_t xdr_oversized_name(XDR *xdrs, char **name) { return xdr_string(xdrs, name, ~0u); }

static void call_greet_garbage(CLIENT *cl) {
  char *name = "this-name-is-much-longer-than-sixteen";
  char *res = NULL;
  enum clnt_stat st = clnt_call(cl, GREET, (xdrproc_t)xdr_oversized_name, (char *)&name,
                                (xdrproc_t)xdr_wrapstring, (char *)&res, call_timeout);
  log_head(cl, GREET, "GREET", "AUTH_NONE");
  jstr(name);
  log_outcome(cl, st == RPC_SUCCESS, "GARBAGE_ARGS");
  fputs("null", logf);
  log_end();
}

static void call_store(CLIENT *cl, record r) {
  store_res *res = store_2(r, cl);
  log_head(cl, STORE, "STORE", "AUTH_NONE");
  jrecord(&r);
  if (log_outcome(cl, res != NULL, "SUCCESS")) {
    fprintf(logf, "{\"status\":\"%s\",\"id\":%u,\"item_count\":%u,\"checksum\":", status_name(res->status), res->id,
            res->item_count);
    juhyper(res->checksum);
    fputc('}', logf);
  } else {
    fputs("null", logf);
  }
  log_end();
}

static void call_add3(CLIENT *cl, quad_t a, u_quad_t b, double c) {
  sum_res *res = add3_2(a, b, c, cl);
  log_head(cl, ADD3, "ADD3", "AUTH_NONE");
  jhyper(a); fputc(',', logf); juhyper(b); fputc(',', logf); jdouble(c);
  if (log_outcome(cl, res != NULL, "SUCCESS")) {
    fputs("{\"total\":", logf); jhyper(res->total);
    fputs(",\"mean\":", logf); jdouble(res->mean);
    fputc('}', logf);
  } else {
    fputs("null", logf);
  }
  log_end();
}

static void call_classify(CLIENT *cl, shape s) {
  shape *res = classify_2(s, cl);
  log_head(cl, CLASSIFY, "CLASSIFY", "AUTH_NONE");
  jshape(&s);
  if (log_outcome(cl, res != NULL, "SUCCESS")) jshape(res); else fputs("null", logf);
  log_end();
}

static void call_reverse(CLIENT *cl, item_list list) {
  /* Logged before the call: the reply is decoded into fresh memory. */
  item_list *res = reverse_2(list, cl);
  log_head(cl, REVERSE, "REVERSE", "AUTH_NONE");
  jitems(list);
  if (log_outcome(cl, res != NULL, "SUCCESS")) jitems(*res); else fputs("null", logf);
  log_end();
}

static void call_upload(CLIENT *cl, char *name, u_int size) {
  blob_t blob = {size, make_blob(size)};
  upload_res *res = upload_2(name, blob, cl);
  log_head(cl, UPLOAD, "UPLOAD", "AUTH_NONE");
  jstr(name); fputc(',', logf); jopaque(blob.blob_t_val, size);
  if (log_outcome(cl, res != NULL, "SUCCESS")) fprintf(logf, "{\"length\":%u,\"checksum\":%u}", res->length, res->checksum);
  else fputs("null", logf);
  log_end();
  free(blob.blob_t_val);
}

static void call_check(CLIENT *cl, int key) {
  check_res *res = check_2(key, cl);
  log_head(cl, CHECK, "CHECK", "AUTH_NONE");
  fprintf(logf, "%d", key);
  if (log_outcome(cl, res != NULL, "SUCCESS")) {
    fputs("{\"status\":", logf); jstr(status_name(res->status));
    if (res->status == DEMO_OK) { fputs(",\"checksum\":", logf); juhyper(res->check_res_u.checksum); }
    fputc('}', logf);
  } else {
    fputs("null", logf);
  }
  log_end();
}

static void call_toggle(CLIENT *cl, bool_t flag, tint colour) {
  bool_t *res = toggle_2(flag, colour, cl);
  log_head(cl, TOGGLE, "TOGGLE", "AUTH_NONE");
  jbool(flag); fputc(',', logf); jstr(tint_name(colour));
  if (log_outcome(cl, res != NULL, "SUCCESS")) jbool(*res); else fputs("null", logf);
  log_end();
}

static void call_fail(CLIENT *cl) {
  void *res = fail_2(cl);
  log_head(cl, FAIL, "FAIL", "AUTH_NONE");
  log_outcome(cl, res != NULL, "SYSTEM_ERR");
  fputs("null", logf);
  log_end();
}

/* WHOAMI with AUTH_NONE (rejected: AUTH_TOOWEAK), then with fixed AUTH_SYS credentials. */
static void call_whoami(CLIENT *cl, int with_creds) {
  AUTH *saved = cl->cl_auth;
  gid_t gids[2] = {1000, 27};
  if (with_creds) cl->cl_auth = authunix_create("rpcscope-demo", 1000, 1000, 2, gids);
  stamp *res = whoami_2(cl);
  log_head(cl, WHOAMI, "WHOAMI", with_creds ? "AUTH_SYS" : "AUTH_NONE");
  if (log_outcome(cl, res != NULL, with_creds ? "SUCCESS" : "AUTH_ERROR")) {
    fprintf(logf, "{\"uid\":%u,\"gid\":%u,\"machine\":", res->uid, res->gid);
    jstr(res->machine);
    fputc('}', logf);
  } else {
    fputs("null", logf);
  }
  log_end();
  if (with_creds) {
    auth_destroy(cl->cl_auth);
    cl->cl_auth = saved;
  }
}

/* A void call of a procedure, version or program the server lacks. */
static void call_raw(CLIENT *cl, u_int32_t prog, u_int32_t vers, unsigned proc, const char *expected) {
  u_int32_t old_prog = 0, old_vers = 0;
  clnt_control(cl, CLGET_PROG, (char *)&old_prog);
  clnt_control(cl, CLGET_VERS, (char *)&old_vers);
  clnt_control(cl, CLSET_PROG, (char *)&prog);
  clnt_control(cl, CLSET_VERS, (char *)&vers);
  enum clnt_stat st = clnt_call(cl, proc, (xdrproc_t)xdr_void, NULL, (xdrproc_t)xdr_void, NULL, call_timeout);
  char name[32];
  snprintf(name, sizeof name, "proc-%u", proc);
  log_head(cl, proc, proc == 0 ? "NULL" : name, "AUTH_NONE");
  log_outcome(cl, st == RPC_SUCCESS, expected);
  fputs("null", logf);
  log_end();
  clnt_control(cl, CLSET_PROG, (char *)&old_prog);
  clnt_control(cl, CLSET_VERS, (char *)&old_vers);
}

/* ---- connections ---------------------------------------------------------- */

static CLIENT *open_client(const char *proto, unsigned vers, int direct_port) {
  CLIENT *cl;
  if (direct_port) {
    struct sockaddr_in sa;
    int sock = RPC_ANYSOCK;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)direct_port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (strcmp(proto, "udp") == 0) {
      struct timeval wait = {1, 0};
      cl = clntudp_create(&sa, DEMO_PROG, vers, wait, &sock);
    } else {
      cl = clnttcp_create(&sa, DEMO_PROG, vers, &sock, 0, 0);
    }
  } else {
    cl = clnt_create("127.0.0.1", DEMO_PROG, vers, proto); /* asks rpcbind */
  }
  if (cl == NULL) {
    clnt_pcreateerror("demo-client");
    exit(1);
  }
  return cl;
}

static shape shape_red(int x, int y) { shape s; memset(&s, 0, sizeof s); s.kind = TINT_RED; s.shape_u.center.x = x; s.shape_u.center.y = y; return s; }
static shape shape_green(void) { shape s; memset(&s, 0, sizeof s); s.kind = TINT_GREEN; return s; }
static shape shape_blue(void) { shape s; memset(&s, 0, sizeof s); s.kind = TINT_BLUE; s.shape_u.corners.corners_len = 2; s.shape_u.corners.corners_val = square2; return s; }
static shape shape_black(double r) { shape s; memset(&s, 0, sizeof s); s.kind = TINT_BLACK; s.shape_u.radius = r; return s; }

static void full_tcp(int port) {
  transport = "tcp";
  CLIENT *v1 = open_client("tcp", DEMO_V1, port);
  CLIENT *v2 = open_client("tcp", DEMO_V2, port);
  call_null(v1, 1, "SUCCESS");
  call_echo(v1, 42);
  call_echo(v1, -7);
  call_greet(v1, "rpcscope");
  call_greet_garbage(v1);
  call_null(v2, 2, "SUCCESS");
  call_store(v2, full_record());
  call_store(v2, empty_record());
  call_add3(v2, -5000000000LL, 18446744073709551615ULL, 0.5);
  call_classify(v2, shape_red(3, -4));
  call_classify(v2, shape_green());
  call_classify(v2, shape_blue());
  call_classify(v2, shape_black(2.75));
  call_reverse(v2, &apple);
  call_reverse(v2, NULL);
  call_upload(v2, "big.bin", 200 * 1024);
  call_check(v2, 7);
  call_check(v2, -1);
  call_toggle(v2, TRUE, TINT_BLUE);
  call_fail(v2);
  call_whoami(v2, 0);
  call_whoami(v2, 1);
  call_raw(v2, DEMO_PROG, DEMO_V2, 42, "PROC_UNAVAIL");
  call_raw(v2, DEMO_PROG, 9, 0, "PROG_MISMATCH");
  call_raw(v2, DEMO_PROG + 1, 1, 0, "PROG_UNAVAIL");
  call_null(v2, 2, "SUCCESS");
  clnt_destroy(v1);
  clnt_destroy(v2);
}

static void full_udp(int port) {
  transport = "udp";
  CLIENT *v1 = open_client("udp", DEMO_V1, port);
  CLIENT *v2 = open_client("udp", DEMO_V2, port);
  call_null(v1, 1, "SUCCESS");
  call_echo(v1, 2147483647);
  call_greet(v1, "over udp");
  call_greet_garbage(v1);
  call_store(v2, full_record());
  call_add3(v2, 1, 2, 0.1);
  call_classify(v2, shape_green());
  call_check(v2, -1);
  call_toggle(v2, FALSE, TINT_BLACK);
  call_upload(v2, "small.bin", 1000);
  call_raw(v2, DEMO_PROG, DEMO_V2, 42, "PROC_UNAVAIL");
  call_raw(v2, DEMO_PROG, 9, 0, "PROG_MISMATCH");
  clnt_destroy(v1);
  clnt_destroy(v2);
}

static void baseline(int port, int extra) {
  transport = "tcp";
  CLIENT *v1 = open_client("tcp", DEMO_V1, port);
  CLIENT *v2 = open_client("tcp", DEMO_V2, port);
  call_null(v1, 1, "SUCCESS");
  call_echo(v1, 42);
  call_greet(v1, "baseline");
  call_store(v2, full_record());
  call_add3(v2, 40, 2, 0.25);
  if (extra) call_classify(v2, shape_red(1, 2));
  call_classify(v2, shape_blue());
  call_reverse(v2, &apple);
  call_check(v2, 7);
  call_upload(v2, "page.bin", 4096);
  call_toggle(v2, TRUE, TINT_RED);
  clnt_destroy(v1);
  clnt_destroy(v2);
}

int main(int argc, char **argv) {
  const char *log_path = NULL, *mode = "full";
  int port = 0, extra = 0, opt;
  while ((opt = getopt(argc, argv, "l:m:d:x")) != -1) {
    switch (opt) {
    case 'l': log_path = optarg; break;
    case 'm': mode = optarg; break;
    case 'd': port = atoi(optarg); break;
    case 'x': extra = 1; break;
    default: fprintf(stderr, "usage: demo-client -l LOG [-m full|baseline] [-d PORT] [-x]\n"); return 2;
    }
  }
  if (log_path == NULL) { fprintf(stderr, "demo-client: -l LOG is required\n"); return 2; }
  logf = fopen(log_path, "w");
  if (logf == NULL) { perror(log_path); return 1; }
  if (strcmp(mode, "full") == 0) {
    full_tcp(port);
    full_udp(port);
  } else if (strcmp(mode, "baseline") == 0) {
    baseline(port, extra);
  } else {
    fprintf(stderr, "demo-client: unknown mode %s\n", mode);
    return 2;
  }
  fclose(logf);
  if (surprises) fprintf(stderr, "demo-client: %d call(s) did not end as expected\n", surprises);
  return surprises ? 1 : 0;
}
