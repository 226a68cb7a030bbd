/*
 * rpc-probe: a tiny ONC-RPC client for the things rpcinfo cannot be told to
 * put on the wire: a call of a program or procedure the server does not
 * serve (PROG_UNAVAIL, PROC_UNAVAIL, RFC 5531 section 9), and portmapper
 * version 2 SET / GETPORT / UNSET sent over UDP to 127.0.0.1:111
 * (RFC 1833 section 3; libtirpc's pmap_set() uses a local socket instead).
 *
 *   rpc-probe call tcp|udp PORT PROG VERS PROC     void arguments, void result
 *   rpc-probe pmap-set PROG VERS PROT PORT
 *   rpc-probe pmap-getport PROG VERS PROT
 *   rpc-probe pmap-unset PROG VERS
 *
 * Only 127.0.0.1 is ever contacted. Exit status 0 when the call got any
 * reply (an RPC-level error is the point of most calls), 1 on a timeout or
 * a transport failure.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <rpc/rpc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct sockaddr_in loopback(unsigned port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((unsigned short)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return sa;
}

static unsigned long num(const char *s) { return strtoul(s, NULL, 0); }

/* A client on a fixed port: no rpcbind lookup, so the call itself is sent. */
static CLIENT *connect_to(const char *proto, unsigned port, unsigned long prog,
                          unsigned long vers) {
  struct sockaddr_in sa = loopback(port);
  int sock = RPC_ANYSOCK;
  CLIENT *clnt;
  if (strcmp(proto, "udp") == 0) {
    struct timeval wait = {1, 0};
    clnt = clntudp_create(&sa, prog, vers, wait, &sock);
  } else {
    clnt = clnttcp_create(&sa, prog, vers, &sock, 0, 0);
  }
  if (clnt == NULL) {
    clnt_pcreateerror("rpc-probe");
    exit(1);
  }
  return clnt;
}

static int report(CLIENT *clnt, enum clnt_stat st, const char *what) {
  printf("%s: %s\n", what, clnt_sperrno(st));
  clnt_destroy(clnt);
  return st == RPC_TIMEDOUT || st == RPC_CANTSEND || st == RPC_CANTRECV;
}

int main(int argc, char **argv) {
  struct timeval timeout = {3, 0};
  if (argc >= 7 && strcmp(argv[1], "call") == 0) {
    CLIENT *clnt = connect_to(argv[2], num(argv[3]), num(argv[4]), num(argv[5]));
    enum clnt_stat st = clnt_call(clnt, num(argv[6]), (xdrproc_t)xdr_void, NULL,
                                  (xdrproc_t)xdr_void, NULL, timeout);
    return report(clnt, st, "call");
  }
  if (argc >= 6 && strcmp(argv[1], "pmap-set") == 0) {
    struct pmap map = {num(argv[2]), num(argv[3]), num(argv[4]), num(argv[5])};
    bool_t ok = FALSE;
    CLIENT *clnt = connect_to("udp", PMAPPORT, PMAPPROG, PMAPVERS);
    enum clnt_stat st = clnt_call(clnt, PMAPPROC_SET, (xdrproc_t)xdr_pmap,
                                  (char *)&map, (xdrproc_t)xdr_bool, (char *)&ok, timeout);
    printf("pmap-set -> %s\n", ok ? "TRUE" : "FALSE");
    return report(clnt, st, "pmap-set");
  }
  if (argc >= 5 && strcmp(argv[1], "pmap-getport") == 0) {
    struct pmap map = {num(argv[2]), num(argv[3]), num(argv[4]), 0};
    u_long port = 0;
    CLIENT *clnt = connect_to("udp", PMAPPORT, PMAPPROG, PMAPVERS);
    enum clnt_stat st = clnt_call(clnt, PMAPPROC_GETPORT, (xdrproc_t)xdr_pmap,
                                  (char *)&map, (xdrproc_t)xdr_u_long, (char *)&port, timeout);
    printf("pmap-getport -> %lu\n", port);
    return report(clnt, st, "pmap-getport");
  }
  if (argc >= 4 && strcmp(argv[1], "pmap-unset") == 0) {
    struct pmap map = {num(argv[2]), num(argv[3]), 0, 0};
    bool_t ok = FALSE;
    CLIENT *clnt = connect_to("udp", PMAPPORT, PMAPPROG, PMAPVERS);
    enum clnt_stat st = clnt_call(clnt, PMAPPROC_UNSET, (xdrproc_t)xdr_pmap,
                                  (char *)&map, (xdrproc_t)xdr_bool, (char *)&ok, timeout);
    printf("pmap-unset -> %s\n", ok ? "TRUE" : "FALSE");
    return report(clnt, st, "pmap-unset");
  }
  fprintf(stderr, "usage: see the comment at the top of rpc-probe.c\n");
  return 2;
}
