/**
 * Well-known ONC-RPC program numbers, named even when no specification is loaded.
 * `name` is the short lowercase name rpcinfo prints (from the traditional /etc/rpc
 * table); `display` is the label tshark's Info column uses for the protocol.
 */
export interface WellKnownProgram {
  readonly name: string;
  readonly display: string;
}

export const WELL_KNOWN_PROGRAMS: ReadonlyMap<number, WellKnownProgram> = new Map<number, WellKnownProgram>([
  [100000, { name: "portmapper", display: "Portmap" }],
  [100001, { name: "rstatd", display: "RSTAT" }],
  [100002, { name: "rusersd", display: "RUSERS" }],
  [100003, { name: "nfs", display: "NFS" }],
  [100004, { name: "ypserv", display: "YPSERV" }],
  [100005, { name: "mountd", display: "MOUNT" }],
  [100007, { name: "ypbind", display: "YPBIND" }],
  [100008, { name: "walld", display: "RWALL" }],
  [100009, { name: "yppasswdd", display: "YPPASSWD" }],
  [100011, { name: "rquotad", display: "RQUOTA" }],
  [100012, { name: "sprayd", display: "SPRAY" }],
  [100017, { name: "rexd", display: "REX" }],
  [100020, { name: "llockmgr", display: "KLM" }],
  [100021, { name: "nlockmgr", display: "NLM" }],
  [100024, { name: "status", display: "STAT" }],
  [100026, { name: "bootparam", display: "BOOTPARAMS" }],
  [100028, { name: "ypupdated", display: "YPUPDATE" }],
  [100029, { name: "keyserv", display: "KEYSERV" }],
  [100069, { name: "ypxfrd", display: "YPXFR" }],
  [100099, { name: "autofs", display: "AUTOFS" }],
  [100227, { name: "nfs_acl", display: "NFSACL" }],
  [100300, { name: "nisd", display: "NIS+" }],
  [100302, { name: "nis_cb", display: "NIS+ CB" }],
  [150001, { name: "pcnfsd", display: "PCNFSD" }],
  [300019, { name: "amd", display: "AMQ" }],
  [390113, { name: "nsrexecd", display: "NSREXECD" }],
  [391002, { name: "sgi_fam", display: "FAM" }],
  [0x00068000, { name: "libvirt-lxc", display: "LXC" }],
  [0x06900690, { name: "libvirt-admin", display: "ADMIN" }],
  [0x20008086, { name: "libvirt", display: "REMOTE" }],
  [0x20008087, { name: "libvirt-qemu", display: "QEMU" }],
  [0x6b656570, { name: "libvirt-keepalive", display: "KEEPALIVE" }],
]);
