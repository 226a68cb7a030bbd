/**
 * NFS context: which path a file handle stands for, learned from the traffic
 * itself, and the short "info" text of NFS and MOUNT messages built from it
 * (`READ /export/hello.txt 4096@0`, `PUTFH(/export/sub) OPEN("a.txt") GETFH`).
 *
 * Fed every message in frame order with its decoded arguments or results. A
 * call's facts (handle entries, names as strings, never the tree: its bytes
 * belong to the record) wait for the reply; a successful reply teaches:
 * - MOUNT MNT (RFC 1813 §5.2.1, RFC 1094 §A.5.1): dirpath → root handle;
 * - NFSv3 LOOKUP, CREATE, MKDIR, SYMLINK, MKNOD (RFC 1813 §3.3.3, §3.3.8-11):
 *   directory handle + name → object handle; READDIRPLUS (§3.3.17): each entry's
 *   name_handle; RENAME (§3.3.14) moves a known handle; REMOVE/RMDIR forget the name;
 * - NFSv4 COMPOUND (RFC 7530 §16.2): the current and saved filehandle are followed
 *   through PUTROOTFH, PUTFH, LOOKUP, LOOKUPP, OPEN, CREATE, SAVEFH, RESTOREFH,
 *   and each GETFH result is bound to the current path; RENAME and REMOVE as in v3.
 *
 * Handles are stored as (parent handle, name), so renaming a directory renames
 * what is under it; a path is rebuilt on demand, capped in length. Memory is
 * bounded: at most `maxHandles` handles (evicted by second chance, an
 * approximation of least recently used: a handle whose path was shown since the
 * last sweep stays) and `maxPendingCalls` calls waiting for their reply. Names
 * keep their bytes as text, control characters included: escaping is the views'
 * job.
 *
 * Pure: no I/O, no `node:` modules.
 */
import type { Nfs3CallFacts, Nfs3LookupCallFacts, Nfs3LookupReplyFacts } from "./nfs3-call-facts.js";
import type { DecodedField } from "./xdr-types.js";
import { utf8Text } from "./xdr/decoder.js";

// ── File-handle hash, as Wireshark's nfs.fh.hash ─────────────────────────────

/**
 * CRC-32 of IEEE 802.3 (reflected polynomial 0xEDB88320, initial value and final
 * XOR 0xFFFFFFFF). Wireshark's `nfs.fh.hash` is this CRC over the handle's bytes
 * (its crc32_ccitt), so hashes can be compared with a Wireshark session.
 * The table and the running value are kept as int32 (Int32Array, -1 for
 * 0xFFFFFFFF): values above 2^31 made V8 leave its integer fast path, which
 * measured 30 times slower.
 */
const CRC32_TABLE: Int32Array = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c | 0;
  }
  return t;
})();

/** Wireshark's nfs.fh.hash of a file handle: CRC-32 (IEEE) of its bytes, unsigned. */
export function fhHash(bytes: Uint8Array): number {
  let crc = -1;
  for (let i = 0; i < bytes.length; i++) crc = CRC32_TABLE[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** `0x1a2b3c4d`: a handle hash as Wireshark shows it. */
export function formatFhHash(hash: number): string {
  return `0x${(hash >>> 0).toString(16).padStart(8, "0")}`;
}

/** The hash of a handle as text: `0x1a2b3c4d`. */
export function formatFh(bytes: Uint8Array): string {
  return formatFhHash(fhHash(bytes));
}

// ── Program numbers ─────────────────────────────────────────────────────────

export const NFS_PROGRAM = 100003;
export const MOUNT_PROGRAM = 100005;
export const NFS_ACL_PROGRAM = 100227;

/** True when the context has something to say about this (prog, vers). */
export function isNfsContextProgram(prog: number, vers: number): boolean {
  if (prog === NFS_PROGRAM) return vers === 3 || vers === 4;
  if (prog === MOUNT_PROGRAM) return vers >= 1 && vers <= 3;
  if (prog === NFS_ACL_PROGRAM) return vers === 3;
  return false;
}

/**
 * Whether the context needs a reply's decoded results (for its info text or what it
 * learns), or its body status alone will do (see NfsMessageInput.bodyStatus):
 * NFSv4 COMPOUND results, MNT's root handle, and the NFSv3 procedures whose
 * success places or forgets a name. A READ or GETATTR reply teaches nothing.
 */
export function nfsReplyBodyNeeded(prog: number, vers: number, proc: number): boolean {
  if (prog === NFS_PROGRAM) return vers === 4 || (vers === 3 && NFS3_LEARNING_REPLIES.has(proc));
  if (prog === MOUNT_PROGRAM) return proc === 1;
  return false;
}

// ── Options and input ───────────────────────────────────────────────────────

export interface NfsContextOptions {
  /** Handles remembered at once (directories seen but not placed included); beyond this one is forgotten. */
  readonly maxHandles?: number;
  /** Longest path text (UTF-16 units); longer paths keep their end, behind "…". */
  readonly maxPathLength?: number;
  /** Calls waiting for their reply; the oldest is dropped beyond this. */
  readonly maxPendingCalls?: number;
}

export const DEFAULT_NFS_CONTEXT_OPTIONS: Required<NfsContextOptions> = Object.freeze({
  maxHandles: 100_000,
  maxPathLength: 1024,
  maxPendingCalls: 65_536,
});

/** One message as the context needs it. */
export interface NfsMessageInput {
  readonly kind: "call" | "reply";
  /** The call's numbers (for a reply: its matched call's). */
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  /** Decoded call arguments (calls), else null. */
  readonly args: DecodedField | null;
  /** Decoded results (replies with RPC status SUCCESS), else null. */
  readonly res: DecodedField | null;
  /**
   * Any object a call shares with its reply (the Exchange); it carries the call's
   * facts to the reply. null when there is no pairing.
   */
  readonly pairing: object | null;
  /**
   * A reply whose results were not decoded (nfsReplyBodyNeeded said so): its
   * body status when an error (NFS3ERR_NOENT…), else null.
   */
  readonly bodyStatus?: string | null;
}

// ── Internal shapes ─────────────────────────────────────────────────────────

/**
 * One remembered handle: its place is `name` in directory `parent`, or the
 * absolute path `name` (parent null); `name` null: a handle seen (a directory of
 * a LOOKUP, a PUTFH) whose place is not known yet. Entries point at their parent
 * entry, so building a path needs no lookups; they are found by their CRC-32
 * (chained on collisions, compared byte by byte), so no key string is built per
 * message; and they sit in a list from oldest to newest that evicts by second
 * chance (CLOCK): a use only sets `used`, and eviction gives a used entry one more
 * round at the newest end. Cheaper than moving entries on every use, which touched
 * neighbours' memory (measured), and close to least-recently-used.
 */
interface HandleEntry {
  /** A copy: the record the handle came from is reused. */
  readonly bytes: Uint8Array;
  readonly hash: number;
  parent: HandleEntry | null;
  name: string | null;
  /** Known children by name (for LOOKUP shortcuts, RENAME and REMOVE). */
  children: Map<string, HandleEntry> | null;
  /** Forgotten (evicted); a child may still point here until it is re-resolved. */
  evicted: boolean;
  /** Next entry whose hash falls in the same bucket. */
  sameBucket: HandleEntry | null;
  /** Used since eviction last passed it. */
  used: boolean;
  /** `fh 0x1a2b3c4d`, made the first time it is shown (a directory's shows in every path below it). */
  label: string | null;
  newer: HandleEntry | null;
  older: HandleEntry | null;
}

/**
 * The NFSv4 current (or saved) filehandle: `rel` below handle `base`, or, when
 * `base` is null, the absolute path `rel`. `rel` "" means the handle itself.
 */
interface Cursor {
  readonly base: HandleEntry | null;
  readonly rel: string;
}

/** What a COMPOUND operation of a call needs for learning and display. */
interface V4Op {
  readonly op: number;
  readonly ref: HandleEntry | null;
  readonly name: string | null;
  readonly name2: string | null;
  /** Display text: "PUTFH(/export)", "READ(4096@0)". */
  readonly text: string;
}

interface PendingCall {
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  readonly text: string;
  readonly dir: HandleEntry | null;
  readonly name: string | null;
  readonly dir2: HandleEntry | null;
  readonly name2: string | null;
  readonly ops: readonly V4Op[] | null;
}

// ── RFC numbers ─────────────────────────────────────────────────────────────

/** NFSv3 procedure names (RFC 1813 §3.3). */
const NFS3_PROCS: readonly string[] = [
  "NULL", "GETATTR", "SETATTR", "LOOKUP", "ACCESS", "READLINK", "READ", "WRITE", "CREATE", "MKDIR",
  "SYMLINK", "MKNOD", "REMOVE", "RMDIR", "RENAME", "LINK", "READDIR", "READDIRPLUS", "FSSTAT", "FSINFO",
  "PATHCONF", "COMMIT",
];

const P3 = {
  NULL: 0, GETATTR: 1, SETATTR: 2, LOOKUP: 3, ACCESS: 4, READLINK: 5, READ: 6, WRITE: 7, CREATE: 8, MKDIR: 9,
  SYMLINK: 10, MKNOD: 11, REMOVE: 12, RMDIR: 13, RENAME: 14, LINK: 15, READDIR: 16, READDIRPLUS: 17,
  FSSTAT: 18, FSINFO: 19, PATHCONF: 20, COMMIT: 21,
} as const;

/** NFSv3 procedures whose successful reply changes what the context knows (see learnNfs3). */
const NFS3_LEARNING_REPLIES: ReadonlySet<number> = new Set([
  P3.LOOKUP, P3.CREATE, P3.MKDIR, P3.SYMLINK, P3.MKNOD, P3.REMOVE, P3.RMDIR, P3.RENAME, P3.READDIRPLUS,
]);

/** The handle argument of the procedures that act on one object, by field name. */
const NFS3_OBJECT_FIELD: ReadonlyMap<number, string> = new Map([
  [P3.GETATTR, "object"], [P3.SETATTR, "object"], [P3.ACCESS, "object"], [P3.READLINK, "symlink"],
  [P3.READ, "file"], [P3.WRITE, "file"], [P3.COMMIT, "file"], [P3.READDIR, "dir"], [P3.READDIRPLUS, "dir"],
  [P3.FSSTAT, "fsroot"], [P3.FSINFO, "fsroot"], [P3.PATHCONF, "object"],
]);

/** The diropargs3 argument of the procedures that name an entry of a directory. */
const NFS3_DIROP_FIELD: ReadonlyMap<number, string> = new Map([
  [P3.LOOKUP, "what"], [P3.CREATE, "where"], [P3.MKDIR, "where"], [P3.SYMLINK, "where"], [P3.MKNOD, "where"],
  [P3.REMOVE, "object"], [P3.RMDIR, "object"],
]);

/** nfs_opnum4 values used here (RFC 7530 §16, RFC 5661 §18). */
const OP = {
  COMMIT: 5, CREATE: 6, GETFH: 10, LINK: 11, LOOKUP: 15, LOOKUPP: 16, OPEN: 18, OPENATTR: 19, PUTFH: 22,
  PUTPUBFH: 23, PUTROOTFH: 24, READ: 25, REMOVE: 28, RENAME: 29, RESTOREFH: 31, SAVEFH: 32, SECINFO: 33,
  WRITE: 38,
} as const;

/** open_claim_type4 (RFC 7530 §16.16). */
const CLAIM_NULL = 0;
const CLAIM_DELEGATE_CUR = 2;

/** Operations shown per COMPOUND; more are summarised as "…(+n)". */
const MAX_SHOWN_OPS = 32;
/** Operations of one COMPOUND that are followed for learning. */
const MAX_FOLLOWED_OPS = 1024;
/** Ancestors walked to build one path (a loop of handles ends here too). */
const MAX_PATH_DEPTH = 256;
/** Handles longer than this are shown by hash but never remembered (RFC 7530: 128 bytes at most). */
const MAX_HANDLE_BYTES = 512;

// ── Decoded-tree access (every shape mismatch gives null: a user spec may differ) ──

const MAX_SAFE_BIGINT = BigInt(Number.MAX_SAFE_INTEGER);

function child(f: DecodedField | null, name: string): DecodedField | null {
  if (!f) return null;
  const v = f.value;
  if (v.kind === "struct") {
    for (const c of v.fields) if (c.name === name) return c;
    return null;
  }
  if (v.kind === "union") return v.arm && v.arm.name === name ? v.arm : null;
  return null;
}

function arm(f: DecodedField | null): DecodedField | null {
  return f && f.value.kind === "union" ? f.value.arm : null;
}

/** Number of an int, enum or bool value; null otherwise. */
function numberOf(f: DecodedField | null): number | null {
  if (!f) return null;
  const v = f.value;
  if (v.kind === "int" || v.kind === "enum") return v.value;
  if (v.kind === "bool") return v.value ? 1 : 0;
  if (v.kind === "hyper") return Number(v.value);
  return null;
}

/** Decimal text of an integer value of any width. */
function integerText(f: DecodedField | null): string | null {
  if (!f) return null;
  const v = f.value;
  // Number → string is much cheaper than BigInt → string (measured); exact below 2^53.
  if (v.kind === "hyper") return v.value <= MAX_SAFE_BIGINT ? String(Number(v.value)) : v.value.toString();
  if (v.kind === "int") return String(v.value);
  return null;
}

/** Discriminant of a union: number and enum name. */
function discOf(f: DecodedField | null): { readonly value: number; readonly name: string | null } | null {
  if (!f || f.value.kind !== "union") return null;
  const d = f.value.disc.value;
  if (d.kind === "enum") return { value: d.value, name: d.name };
  if (d.kind === "int") return { value: d.value, name: null };
  if (d.kind === "bool") return { value: d.value ? 1 : 0, name: null };
  return null;
}

/** Text of an XDR string, or of an opaque read as UTF-8 (NFSv4 component4 is opaque). */
function textOf(f: DecodedField | null): string | null {
  if (!f) return null;
  const v = f.value;
  if (v.kind === "string") return v.text;
  if (v.kind === "opaque") return utf8Text(v.bytes);
  return null;
}

/** The bytes of a handle: nfs_fh4 / fhandle3 (opaque) or nfs_fh3 (struct { opaque data<> }). */
function handleBytes(f: DecodedField | null): Uint8Array | null {
  if (!f) return null;
  const v = f.value;
  if (v.kind === "opaque") return v.bytes;
  if (v.kind === "struct") {
    const data = child(f, "data");
    return data && data.value.kind === "opaque" ? data.value.bytes : null;
  }
  return null;
}

/** The status of one COMPOUND result: a union's discriminant or a struct's `status` field. */
function opStatus(f: DecodedField | null): number | null {
  if (!f) return null;
  if (f.value.kind === "union") return discOf(f)?.value ?? null;
  if (f.value.kind === "struct") return numberOf(f.value.fields[0] ?? null);
  return null;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Bucket of a hash: 30 bits keep the Map key a small integer (no boxed number per lookup). */
const BUCKET_MASK = 0x3fffffff;

// ── Text helpers ────────────────────────────────────────────────────────────

/** Sizes: exact below 10 KiB ("4096"), else KiB/MiB/GiB ("100KiB", "1.5MiB"). */
export function formatSize(n: number): string {
  if (n < 10 * 1024) return String(n);
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 10 * 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)}${units[u]}`;
}

function quote(name: string): string {
  return `"${name}"`;
}

function statusText(d: { readonly value: number; readonly name: string | null }): string {
  return d.name ?? `UNKNOWN(${d.value})`;
}

// ── The context ─────────────────────────────────────────────────────────────

export class NfsContext {
  private readonly maxHandles: number;
  private readonly maxPathLength: number;
  private readonly maxPending: number;
  /** hash bucket → first entry of its chain. */
  private readonly buckets = new Map<number, HandleEntry>();
  private count = 0;
  private newest: HandleEntry | null = null;
  private oldest: HandleEntry | null = null;
  private readonly walked: HandleEntry[] = [];
  private readonly pending = new Map<object, PendingCall>();
  /**
   * Pending keys in call order, oldest from `pendingHead` on; may hold keys already
   * answered (skipped when met). Map.keys().next() is not used for "oldest": after
   * many deletes V8 walks every hole at the front of the table, a measured slowdown.
   */
  private pendingOrder: object[] = [];
  private pendingHead = 0;

  constructor(options: NfsContextOptions = {}) {
    this.maxHandles = Math.max(1, options.maxHandles ?? DEFAULT_NFS_CONTEXT_OPTIONS.maxHandles);
    this.maxPathLength = Math.max(8, options.maxPathLength ?? DEFAULT_NFS_CONTEXT_OPTIONS.maxPathLength);
    this.maxPending = Math.max(1, options.maxPendingCalls ?? DEFAULT_NFS_CONTEXT_OPTIONS.maxPendingCalls);
  }

  /** Handles remembered now. */
  get handleCount(): number {
    return this.count;
  }

  /** Calls waiting for their reply now. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /**
   * Feeds one message (frame order) and returns its info text; null when the
   * program is not one the context knows (NFSv3, NFSv4, MOUNT, NFS_ACL), so the
   * caller can fall back to something generic. A reply's text is its call's
   * text plus the error status, if any.
   */
  process(m: NfsMessageInput): string | null {
    if (!isNfsContextProgram(m.prog, m.vers)) return null;
    if (m.kind === "call") {
      const call = this.describeCall(m.prog, m.vers, m.proc, m.args);
      if (m.pairing) this.remember(m.pairing, call);
      return call.text;
    }
    const call = m.pairing ? this.pending.get(m.pairing) ?? null : null;
    if (m.pairing && call) this.pending.delete(m.pairing);
    if (m.res === null && m.bodyStatus !== undefined) {
      // Results left undecoded: the call's text and the error, as applyReply would give.
      const callText = call ? call.text : m.prog === NFS_PROGRAM ? NFS3_PROCS[m.proc] ?? `proc-${m.proc}` : "";
      return m.bodyStatus !== null && m.prog !== MOUNT_PROGRAM ? joinText(callText, m.bodyStatus) : callText;
    }
    return this.applyReply(m.prog, m.vers, m.proc, call, m.res);
  }

  /** The learned path of a handle, or null. */
  pathOf(fh: Uint8Array): string | null {
    const e = this.find(fh, fhHash(fh));
    return e ? this.pathOfEntry(e) : null;
  }

  /** The path of a handle, or `fh 0x1a2b3c4d` when unknown. */
  handleText(fh: Uint8Array): string {
    return this.bytesText(fh);
  }

  // ── calls ──

  private describeCall(prog: number, vers: number, proc: number, args: DecodedField | null): PendingCall {
    if (prog === NFS_PROGRAM && vers === 3) return this.describeNfs3Call(proc, args);
    if (prog === NFS_PROGRAM && vers === 4) {
      if (proc !== 1) return pendingCall(prog, vers, proc, "");
      const arr = child(args, "argarray");
      const ops = this.compoundCallOps(arr);
      const total = arr && arr.value.kind === "array" ? arr.value.elements.length : 0;
      const text = ops ? this.opsText(ops.map((o) => o.op), total, ops, null) : "COMPOUND";
      return pendingCall(prog, vers, proc, text, null, null, null, null, ops);
    }
    if (prog === MOUNT_PROGRAM) {
      // MNT (1) and UMNT (3) take a dirpath in every version (RFC 1813 §5.2, RFC 1094 §A.5).
      const path = textOf(args);
      if (proc === 1) return pendingCall(prog, vers, proc, path !== null ? `MNT ${this.capPath(path)}` : "MNT", null, path);
      if (proc === 3) return pendingCall(prog, vers, proc, path !== null ? `UMNT ${this.capPath(path)}` : "UMNT");
      return pendingCall(prog, vers, proc, "");
    }
    // NFS_ACL v3: GETACL (1) and SETACL (2) name their file in `fh`.
    if (proc === 1 || proc === 2) {
      const bytes = handleBytes(child(args, "fh"));
      return pendingCall(prog, vers, proc, `${proc === 1 ? "GETACL" : "SETACL"}${bytes ? ` ${this.bytesText(bytes)}` : ""}`);
    }
    return pendingCall(prog, vers, proc, "");
  }

  private describeNfs3Call(proc: number, args: DecodedField | null): PendingCall {
    const procName = NFS3_PROCS[proc] ?? `proc-${proc}`;
    if (!args || proc === P3.NULL) return pendingCall(NFS_PROGRAM, 3, proc, proc === P3.NULL ? "" : procName);

    const objectField = NFS3_OBJECT_FIELD.get(proc);
    if (objectField !== undefined) {
      const bytes = handleBytes(child(args, objectField));
      // Only READDIRPLUS learns from its reply (the entries): keep its directory.
      const dir = proc === P3.READDIRPLUS ? this.entryFor(bytes) : null;
      let text = dir ? `${procName} ${this.entryText(dir)}` : bytes ? `${procName} ${this.bytesText(bytes)}` : procName;
      if (proc === P3.READ || proc === P3.WRITE || proc === P3.COMMIT) {
        text = withRange(text, proc, numberOf(child(args, "count")), integerText(child(args, "offset")));
        if (proc === P3.WRITE) {
          const stable = child(args, "stable");
          if (stable && stable.value.kind === "enum") text += ` ${stable.value.name ?? stable.value.value}`;
        }
      } else if (proc === P3.SETATTR) {
        const attrs = sattrText(child(args, "new_attributes"));
        if (attrs) text += ` ${attrs}`;
      } else if (proc === P3.READDIR || proc === P3.READDIRPLUS) {
        const cookie = integerText(child(args, "cookie"));
        if (cookie !== null && cookie !== "0") text += ` cookie=${cookie}`;
      }
      return pendingCall(NFS_PROGRAM, 3, proc, text, dir);
    }

    const diropField = NFS3_DIROP_FIELD.get(proc);
    if (diropField !== undefined) {
      const where = child(args, diropField);
      const dir = this.entryFor(handleBytes(child(where, "dir")));
      const name = textOf(child(where, "name"));
      let text = `${procName} ${this.dirName(dir, name)}`;
      if (proc === P3.SYMLINK) {
        const target = textOf(child(child(args, "symlink"), "symlink_data"));
        if (target !== null) text += ` → ${quote(this.capName(target))}`;
      }
      return pendingCall(NFS_PROGRAM, 3, proc, text, dir, name);
    }

    if (proc === P3.RENAME) {
      const from = child(args, "from");
      const to = child(args, "to");
      const dir = this.entryFor(handleBytes(child(from, "dir")));
      const name = textOf(child(from, "name"));
      const dir2 = this.entryFor(handleBytes(child(to, "dir")));
      const name2 = textOf(child(to, "name"));
      const text = `RENAME ${this.dirName(dir, name)} → ${this.dirName(dir2, name2)}`;
      return pendingCall(NFS_PROGRAM, 3, proc, text, dir, name, dir2, name2);
    }
    if (proc === P3.LINK) {
      // A second name for a file: nothing to learn (the handle keeps its first place).
      const file = handleBytes(child(args, "file"));
      const link = child(args, "link");
      const dir2 = this.entryFor(handleBytes(child(link, "dir")));
      const name2 = textOf(child(link, "name"));
      const text = `LINK ${file ? this.bytesText(file) : "?"} → ${this.dirName(dir2, name2)}`;
      return pendingCall(NFS_PROGRAM, 3, proc, text);
    }
    return pendingCall(NFS_PROGRAM, 3, proc, procName);
  }

  /**
   * An NFSv3 GETATTR, ACCESS, READ, WRITE or COMMIT call given by the facts read from
   * its bytes (dissect/nfs3-call-facts.ts) rather than by decoded arguments: the same
   * text, and the same facts kept for the reply, as process() gives the call decoded.
   */
  processNfs3CallFacts(proc: number, facts: Nfs3CallFacts, pairing: object | null): string {
    const procName = NFS3_PROCS[proc] ?? `proc-${proc}`;
    let text = `${procName} ${this.bytesText(facts.handle)}`;
    if (proc === P3.READ || proc === P3.WRITE || proc === P3.COMMIT) {
      text = withRange(text, proc, facts.count, facts.offset);
      if (proc === P3.WRITE && facts.stable) text += ` ${facts.stable.name ?? facts.stable.value}`;
    }
    const call = pendingCall(NFS_PROGRAM, 3, proc, text);
    if (pairing) this.remember(pairing, call);
    return call.text;
  }

  /** A LOOKUP call given by its facts: as process() with its arguments decoded. */
  processNfs3LookupCall(facts: Nfs3LookupCallFacts, pairing: object | null): string {
    const dir = this.entryFor(facts.dir);
    const call = pendingCall(NFS_PROGRAM, 3, P3.LOOKUP, `LOOKUP ${this.dirName(dir, facts.name)}`, dir, facts.name);
    if (pairing) this.remember(pairing, call);
    return call.text;
  }

  /** A successful LOOKUP reply given by its facts: as process() with its results decoded. */
  processNfs3LookupReply(facts: Nfs3LookupReplyFacts, pairing: object | null): string {
    const call = pairing ? this.pending.get(pairing) ?? null : null;
    if (pairing && call) this.pending.delete(pairing);
    const callText = call ? call.text : NFS3_PROCS[P3.LOOKUP]!;
    if (facts.status.value !== 0) return joinText(callText, statusText(facts.status));
    if (call) this.bindChild(this.entryFor(facts.object), call.dir, call.name);
    return callText;
  }

  private dirName(dir: HandleEntry | null, name: string | null): string {
    return `${dir ? this.entryText(dir) : "?"} ${quote(name !== null ? this.capName(name) : "?")}`;
  }

  /** The operations of a COMPOUND call with what learning and display need. */
  private compoundCallOps(arr: DecodedField | null): V4Op[] | null {
    if (!arr || arr.value.kind !== "array") return null;
    const ops: V4Op[] = [];
    const elements = arr.value.elements;
    const n = Math.min(elements.length, MAX_FOLLOWED_OPS);
    for (let i = 0; i < n; i++) {
      const el = elements[i]!;
      const d = discOf(el);
      if (!d) break;
      ops.push(this.describeOp(d.value, d.name, arm(el)));
    }
    return ops;
  }

  private describeOp(op: number, enumName: string | null, a: DecodedField | null): V4Op {
    const label = opLabel(op, enumName);
    let ref: HandleEntry | null = null;
    let name: string | null = null;
    let name2: string | null = null;
    let detail: string | null = null;
    switch (op) {
      case OP.PUTFH:
        ref = this.entryFor(handleBytes(child(a, "object")));
        if (ref) detail = this.entryText(ref);
        break;
      case OP.LOOKUP:
        name = textOf(child(a, "objname"));
        break;
      case OP.CREATE:
        name = textOf(child(a, "objname"));
        break;
      case OP.REMOVE:
        name = textOf(child(a, "target"));
        break;
      case OP.LINK:
        name = textOf(child(a, "newname"));
        break;
      case OP.SECINFO:
        name = textOf(child(a, "name"));
        break;
      case OP.RENAME:
        name = textOf(child(a, "oldname"));
        name2 = textOf(child(a, "newname"));
        if (name !== null && name2 !== null) detail = `${quote(this.capName(name))} → ${quote(this.capName(name2))}`;
        break;
      case OP.OPEN: {
        const claim = child(a, "claim");
        const c = discOf(claim);
        if (c?.value === CLAIM_NULL) name = textOf(child(claim, "file"));
        else if (c?.value === CLAIM_DELEGATE_CUR) name = textOf(child(child(claim, "delegate_cur_info"), "file"));
        // openflag4: OPEN4_CREATE (1) may create the file (RFC 7530 §16.16.1).
        const create = discOf(child(a, "openhow"))?.value === 1;
        if (name !== null) detail = `${create ? "create " : ""}${quote(this.capName(name))}`;
        else if (create) detail = "create";
        break;
      }
      case OP.READ: {
        const count = numberOf(child(a, "count"));
        const offset = integerText(child(a, "offset"));
        if (count !== null && offset !== null) detail = `${formatSize(count)}@${offset}`;
        break;
      }
      case OP.WRITE: {
        const data = child(a, "data");
        const offset = integerText(child(a, "offset"));
        const count = data && data.value.kind === "opaque" ? data.value.bytes.length : null;
        if (count !== null && offset !== null) detail = `${formatSize(count)}@${offset}`;
        break;
      }
    }
    if (detail === null && name !== null && op !== OP.RENAME) detail = quote(this.capName(name));
    return { op, ref, name, name2, text: detail === null ? label : `${label}(${detail})` };
  }

  /** "PUTFH(/export) READ(4096@0)": one label per op, annotated from the call where it is the same op. */
  private opsText(ops: readonly number[], total: number, callOps: readonly V4Op[] | null, labels: readonly string[] | null): string {
    const shown = Math.min(ops.length, MAX_SHOWN_OPS);
    let text = "";
    for (let i = 0; i < shown; i++) {
      const op = ops[i]!;
      const fromCall = callOps?.[i];
      const part = fromCall && fromCall.op === op ? fromCall.text : labels?.[i] ?? opLabel(op, null);
      text += i === 0 ? part : ` ${part}`;
    }
    if (total > shown) text += ` …(+${total - shown})`;
    return text;
  }

  private remember(pairing: object, call: PendingCall): void {
    // A retransmitted call replaces the first one's facts (same exchange) and keeps its place.
    if (!this.pending.has(pairing)) this.pendingOrder.push(pairing);
    this.pending.set(pairing, call);
    while (this.pending.size > this.maxPending && this.pendingHead < this.pendingOrder.length) {
      this.pending.delete(this.pendingOrder[this.pendingHead++]!);
    }
    // Answered calls leave stale keys behind: compact once they outnumber the live ones.
    const queued = this.pendingOrder.length - this.pendingHead;
    if (queued > 2 * this.pending.size + 64) {
      this.pendingOrder = this.pendingOrder.slice(this.pendingHead).filter((k) => this.pending.has(k));
      this.pendingHead = 0;
    }
  }

  // ── replies ──

  private applyReply(prog: number, vers: number, proc: number, call: PendingCall | null, res: DecodedField | null): string {
    if (prog === NFS_PROGRAM && vers === 4) return this.applyCompoundReply(proc, call, res);
    const callText = call ? call.text : prog === NFS_PROGRAM ? NFS3_PROCS[proc] ?? `proc-${proc}` : "";
    if (!res) return callText;
    if (prog === MOUNT_PROGRAM) return this.applyMountReply(vers, proc, call, res, callText);
    if (prog === NFS_ACL_PROGRAM) {
      const d = discOf(res);
      return d && d.value !== 0 ? joinText(callText, statusText(d)) : callText;
    }
    const d = discOf(res);
    if (!d) return callText;
    if (d.value !== 0) {
      // REMOVE/RENAME that failed change nothing; other failures teach nothing either.
      return joinText(callText, statusText(d));
    }
    if (call) this.learnNfs3(proc, call, arm(res));
    return callText;
  }

  private applyMountReply(vers: number, proc: number, call: PendingCall | null, res: DecodedField, callText: string): string {
    if (proc !== 1) return callText;
    const d = discOf(res);
    if (!d) return callText;
    if (d.value !== 0) return joinText(callText, d.name ?? `status ${d.value}`);
    // v3: mountres3 → mountinfo.fhandle; v1/v2: fhstatus → fhs_fhandle.
    const fh = vers === 3 ? handleBytes(child(arm(res), "fhandle")) : handleBytes(arm(res));
    const root = call && call.name !== null ? this.entryFor(fh) : null;
    if (root && call && call.name !== null) this.bind(root, null, this.capPath(call.name));
    return callText;
  }

  private learnNfs3(proc: number, call: PendingCall, resok: DecodedField | null): void {
    switch (proc) {
      case P3.LOOKUP:
        this.bindChild(this.entryFor(handleBytes(child(resok, "object"))), call.dir, call.name);
        return;
      case P3.CREATE:
      case P3.MKDIR:
      case P3.SYMLINK:
      case P3.MKNOD:
        // post_op_fh3: the server may leave the handle out (then a LOOKUP follows).
        this.bindChild(this.entryFor(handleBytes(child(child(resok, "obj"), "handle"))), call.dir, call.name);
        return;
      case P3.READDIRPLUS: {
        const entries = child(child(resok, "reply"), "entries");
        if (!entries || entries.value.kind !== "array") return;
        for (const e of entries.value.elements) {
          const name = textOf(child(e, "name"));
          if (name === null || isDotName(name)) continue;
          this.bindChild(this.entryFor(handleBytes(child(child(e, "name_handle"), "handle"))), call.dir, name);
        }
        return;
      }
      case P3.RENAME:
        this.rename(call.dir, call.name, call.dir2, call.name2);
        return;
      case P3.REMOVE:
      case P3.RMDIR:
        this.forgetName(call.dir, call.name);
        return;
    }
  }

  private applyCompoundReply(proc: number, call: PendingCall | null, res: DecodedField | null): string {
    if (proc !== 1) return call ? call.text : "";
    const arr = child(res, "resarray");
    if (!res || !arr || arr.value.kind !== "array") return call ? call.text : "COMPOUND";
    const elements = arr.value.elements;
    const ops: number[] = [];
    const labels: string[] = [];
    const shown = Math.min(elements.length, MAX_SHOWN_OPS);
    for (let i = 0; i < shown; i++) {
      const d = discOf(elements[i]!);
      if (!d) break;
      ops.push(d.value);
      labels.push(opLabel(d.value, d.name));
    }
    const callOps = call?.ops ?? null;
    if (callOps) this.followCompound(callOps, elements);
    let text = this.opsText(ops, elements.length, callOps, labels);
    const status = child(res, "status");
    if (status && status.value.kind === "enum" && status.value.value !== 0) {
      text = joinText(text, status.value.name ?? `UNKNOWN(${status.value.value})`);
    }
    return text;
  }

  /** Replays a COMPOUND's filehandle moves over its results (RFC 7530 §15.2: evaluation stops at the first error). */
  private followCompound(callOps: readonly V4Op[], results: readonly DecodedField[]): void {
    let cur: Cursor | null = null;
    let saved: Cursor | null = null;
    const n = Math.min(callOps.length, results.length);
    for (let i = 0; i < n; i++) {
      const c = callOps[i]!;
      const r = results[i]!;
      const d = discOf(r);
      if (!d || d.value !== c.op) return;
      const result = arm(r);
      if (opStatus(result) !== 0) return;
      switch (c.op) {
        case OP.PUTROOTFH:
          cur = { base: null, rel: "/" };
          break;
        case OP.PUTFH:
          cur = c.ref ? { base: c.ref, rel: "" } : null;
          break;
        case OP.PUTPUBFH:
        case OP.OPENATTR:
          cur = null;
          break;
        case OP.LOOKUP:
        case OP.CREATE:
          cur = cur && c.name !== null ? this.descend(cur, c.name) : null;
          break;
        case OP.OPEN:
          // CLAIM_NULL / CLAIM_DELEGATE_CUR open a name below the current directory; other claims keep the file.
          if (c.name !== null) cur = cur ? this.descend(cur, c.name) : null;
          break;
        case OP.LOOKUPP:
          cur = cur ? this.ascend(cur) : null;
          break;
        case OP.SAVEFH:
          saved = cur;
          break;
        case OP.RESTOREFH:
          cur = saved;
          break;
        case OP.GETFH: {
          const got = this.entryFor(handleBytes(child(child(result, "resok4"), "object")));
          if (got && cur) this.bindCursor(got, cur);
          if (got) cur = { base: got, rel: "" };
          break;
        }
        case OP.RENAME: {
          // SAVEFH is the source directory, the current filehandle the target (RFC 7530 §16.24).
          const from = saved ? this.cursorEntry(saved) : null;
          const to = cur ? this.cursorEntry(cur) : null;
          this.rename(from, c.name, to, c.name2);
          break;
        }
        case OP.REMOVE:
          this.forgetName(cur ? this.cursorEntry(cur) : null, c.name);
          break;
      }
    }
  }

  private descend(cur: Cursor, name: string): Cursor {
    const n = this.capName(name);
    if (cur.rel === "" && cur.base) {
      // A known child of a known handle: continue from it (keeps renames right).
      const known = this.childOf(cur.base, n);
      return known ? { base: known, rel: "" } : { base: cur.base, rel: n };
    }
    return { base: cur.base, rel: this.capPath(joinPath(cur.rel, n)) };
  }

  private ascend(cur: Cursor): Cursor | null {
    if (cur.rel !== "") {
      const cut = cur.rel.lastIndexOf("/");
      if (cur.base === null) return { base: null, rel: cut <= 0 ? "/" : cur.rel.slice(0, cut) };
      return { base: cur.base, rel: cut < 0 ? "" : cur.rel.slice(0, cut) };
    }
    const e = cur.base;
    if (!e || e.name === null) return null;
    if (e.parent !== null) return { base: e.parent, rel: "" };
    const cut = e.name.lastIndexOf("/");
    return { base: null, rel: cut <= 0 ? "/" : e.name.slice(0, cut) };
  }

  /** The handle a cursor stands for, when it is a known one. */
  private cursorEntry(cur: Cursor): HandleEntry | null {
    if (cur.base === null) return null;
    if (cur.rel === "") return cur.base;
    return cur.rel.includes("/") ? null : this.childOf(cur.base, cur.rel);
  }

  private bindCursor(e: HandleEntry, cur: Cursor): void {
    if (cur.rel === "") {
      const base = cur.base;
      if (!base || base === e || base.name === null) return;
      // Another handle for the same object: give it the same place.
      this.bind(e, base.parent, base.name);
      return;
    }
    this.bind(e, cur.base, cur.rel);
  }

  // ── the handle store ──

  /** The entry of a handle, or null. */
  private find(bytes: Uint8Array, hash: number): HandleEntry | null {
    let e = this.buckets.get(hash & BUCKET_MASK) ?? null;
    while (e) {
      if (e.hash === hash && sameBytes(e.bytes, bytes)) return e;
      e = e.sameBucket;
    }
    return null;
  }

  /** The entry of a handle, made (place unknown) when new; null for no, empty or oversized bytes. */
  private entryFor(bytes: Uint8Array | null): HandleEntry | null {
    if (!bytes || bytes.length === 0 || bytes.length > MAX_HANDLE_BYTES) return null;
    const hash = fhHash(bytes);
    const known = this.find(bytes, hash);
    if (known) return known;
    const e: HandleEntry = {
      bytes: bytes.slice(), hash, parent: null, name: null, children: null, evicted: false,
      sameBucket: null, used: false, label: null, newer: null, older: null,
    };
    this.insert(e);
    return e;
  }

  /** An entry that may have been evicted since it was taken (a pending call holds it): the live one. */
  private live(e: HandleEntry): HandleEntry {
    if (!e.evicted) return e;
    const now = this.find(e.bytes, e.hash);
    if (now) return now;
    e.evicted = false;
    this.insert(e);
    return e;
  }

  private insert(e: HandleEntry): void {
    const bucket = e.hash & BUCKET_MASK;
    e.sameBucket = this.buckets.get(bucket) ?? null;
    this.buckets.set(bucket, e);
    this.count++;
    this.linkNewest(e);
    // Second chance: a used entry (and the new one) goes round once more; each round
    // clears a flag, so an unused entry comes up within one pass (the guard is a backstop).
    let guard = 2 * this.count + 2;
    while (this.count > this.maxHandles && this.oldest && guard-- > 0) {
      const old = this.oldest;
      if (old.used || old === e) {
        old.used = false;
        this.unlinkLru(old);
        this.linkNewest(old);
      } else {
        this.evict(old);
      }
    }
  }

  private evict(e: HandleEntry): void {
    this.unlinkLru(e);
    const bucket = e.hash & BUCKET_MASK;
    let p = this.buckets.get(bucket) ?? null;
    if (p === e) {
      if (e.sameBucket) this.buckets.set(bucket, e.sameBucket);
      else this.buckets.delete(bucket);
    } else {
      while (p && p.sameBucket !== e) p = p.sameBucket;
      if (p) p.sameBucket = e.sameBucket;
    }
    e.sameBucket = null;
    e.evicted = true;
    this.count--;
    if (e.parent && e.name !== null) this.unlinkChild(e.parent, e.name, e);
    // Its children still point here (they show its hash, or find it again if it is relearned).
    e.children = null;
  }

  private bindChild(obj: HandleEntry | null, dir: HandleEntry | null, name: string | null): void {
    if (!obj || !dir || name === null || isDotName(name) || obj === dir) return;
    this.bind(obj, dir, this.capName(name));
  }

  private bind(entry: HandleEntry, parent: HandleEntry | null, name: string): void {
    const e = this.live(entry);
    const dir = parent ? this.live(parent) : null;
    if (e === dir) return;
    if (e.parent && e.name !== null) this.unlinkChild(e.parent, e.name, e);
    e.parent = dir;
    e.name = name;
    if (dir) (dir.children ??= new Map()).set(name, e);
    // Learning is not a use: marking every new handle used would make each sweep clear
    // all flags and fall back to FIFO. A use is showing the path (the handle and its parents).
  }

  private unlinkChild(dir: HandleEntry, name: string, e: HandleEntry): void {
    if (dir.children?.get(name) !== e) return;
    dir.children.delete(name);
    if (dir.children.size === 0) dir.children = null;
  }

  /** The handle known as `name` in `dir`, when it is still remembered there. */
  private childOf(dir: HandleEntry, name: string): HandleEntry | null {
    const c = dir.children?.get(name);
    return c && !c.evicted && c.parent === dir && c.name === name ? c : null;
  }

  private rename(fromDir: HandleEntry | null, fromName: string | null, toDir: HandleEntry | null, toName: string | null): void {
    if (!fromDir || !toDir || fromName === null || toName === null || isDotName(toName)) return;
    const moved = this.childOf(this.live(fromDir), this.capName(fromName));
    if (!moved || moved === toDir) return;
    this.bind(moved, toDir, this.capName(toName));
  }

  /** After REMOVE the name no longer leads to the handle; the handle keeps its last path for display. */
  private forgetName(dir: HandleEntry | null, name: string | null): void {
    if (!dir || name === null) return;
    const n = this.capName(name);
    const c = this.childOf(dir, n);
    if (c) this.unlinkChild(dir, n, c);
  }

  private touch(e: HandleEntry): void {
    e.used = true;
  }

  private linkNewest(e: HandleEntry): void {
    e.older = this.newest;
    e.newer = null;
    if (this.newest) this.newest.newer = e;
    this.newest = e;
    if (!this.oldest) this.oldest = e;
  }

  private unlinkLru(e: HandleEntry): void {
    if (e.newer) e.newer.older = e.older;
    else if (this.newest === e) this.newest = e.older;
    if (e.older) e.older.newer = e.newer;
    else if (this.oldest === e) this.oldest = e.newer;
    e.newer = null;
    e.older = null;
  }

  // ── text ──

  /** A handle as text, without remembering it: its path, or `fh 0x1a2b3c4d`. */
  private bytesText(bytes: Uint8Array): string {
    if (bytes.length === 0) return "fh (empty)";
    const hash = fhHash(bytes);
    const e = bytes.length > MAX_HANDLE_BYTES ? null : this.find(bytes, hash);
    return e ? this.pathOfEntry(e) ?? labelOf(e) : `fh ${formatFhHash(hash)}`;
  }

  private entryText(e: HandleEntry): string {
    return this.pathOfEntry(e) ?? labelOf(e);
  }

  /**
   * Rebuilds a path by walking parents (each visit counts as a use for eviction).
   * An ancestor whose place is unknown, or that was forgotten, shows as its hash:
   * `fh 0x1a2b3c4d/sub/file`; a path over the cap, or a loop of handles, keeps its
   * end behind "…". null when the handle's own place is unknown.
   */
  private pathOfEntry(start: HandleEntry): string | null {
    if (start.name === null) return null;
    const walked = this.walked;
    walked.length = 0;
    let e = start;
    let total = 0;
    let head = "";
    for (let depth = 0; ; depth++) {
      walked.push(e);
      total += e.name!.length + 1;
      let p = e.parent;
      if (p === null) break;
      if (total > this.maxPathLength || depth >= MAX_PATH_DEPTH) {
        head = "…";
        break;
      }
      if (p.evicted) {
        const now = this.find(p.bytes, p.hash);
        if (now) {
          // The parent was forgotten and learned again: follow the new entry from now on.
          e.parent = now;
          if (e.name !== null) (now.children ??= new Map()).set(e.name, e);
          p = now;
        }
      }
      if (p.evicted || p.name === null) {
        head = labelOf(p);
        break;
      }
      e = p;
    }
    let path = head;
    for (let i = walked.length - 1; i >= 0; i--) {
      const w = walked[i]!;
      if (!w.evicted) this.touch(w);
      path = path === "" ? w.name! : joinPath(path, w.name!);
    }
    walked.length = 0;
    return this.capPath(path);
  }

  private capName(name: string): string {
    return name.length <= this.maxPathLength ? name : `${name.slice(0, this.maxPathLength - 1)}…`;
  }

  /** Keeps the end of a long path (the file name is what one looks for). */
  private capPath(path: string): string {
    return path.length <= this.maxPathLength ? path : `…${path.slice(path.length - this.maxPathLength + 1)}`;
  }
}

/** One shape for every pending call (object spreads per message were a measured cost). */
function pendingCall(
  prog: number, vers: number, proc: number, text: string,
  dir: HandleEntry | null = null, name: string | null = null,
  dir2: HandleEntry | null = null, name2: string | null = null, ops: readonly V4Op[] | null = null,
): PendingCall {
  return { prog, vers, proc, text, dir, name, dir2, name2, ops };
}

/** An entry shown by its hash: `fh 0x1a2b3c4d`. */
function labelOf(e: HandleEntry): string {
  return (e.label ??= `fh ${formatFhHash(e.hash)}`);
}

/** A READ, WRITE or COMMIT text with its range: `READ fh 0x1a2b3c4d 4096@0` (a COMMIT of everything has none). */
function withRange(text: string, proc: number, count: number | null, offset: string | null): string {
  if (count !== null && offset !== null && (proc !== P3.COMMIT || count !== 0 || offset !== "0")) {
    return `${text} ${formatSize(count)}@${offset}`;
  }
  return text;
}

function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

function joinText(a: string, b: string): string {
  return a ? `${a} ${b}` : b;
}

/** "." and ".." name a directory itself and its parent: nothing new, and a loop if bound. */
function isDotName(name: string): boolean {
  return name === "." || name === ".." || name === "";
}

/** "READ" from OP_READ; `op-99` for a number the spec does not name. */
function opLabel(op: number, enumName: string | null): string {
  if (enumName) return enumName.startsWith("OP_") ? enumName.slice(3) : enumName;
  return NFS4_OP_NAMES.get(op) ?? `op-${op}`;
}

/** Names for replies decoded without the enum's names (kept short: the common operations). */
const NFS4_OP_NAMES: ReadonlyMap<number, string> = new Map([
  [3, "ACCESS"], [4, "CLOSE"], [5, "COMMIT"], [6, "CREATE"], [9, "GETATTR"], [10, "GETFH"], [15, "LOOKUP"],
  [16, "LOOKUPP"], [18, "OPEN"], [22, "PUTFH"], [24, "PUTROOTFH"], [25, "READ"], [26, "READDIR"],
  [28, "REMOVE"], [29, "RENAME"], [31, "RESTOREFH"], [32, "SAVEFH"], [34, "SETATTR"], [38, "WRITE"],
  [53, "SEQUENCE"],
]);

/** The attributes a SETATTR sets (RFC 1813 §2.5.3 sattr3): "mode=0644 size=0". */
function sattrText(attrs: DecodedField | null): string {
  if (!attrs || attrs.value.kind !== "struct") return "";
  const parts: string[] = [];
  for (const f of attrs.value.fields) {
    const d = discOf(f);
    if (!d || d.value === 0) continue;
    const a = arm(f);
    if (f.name === "mode") {
      const v = numberOf(a);
      parts.push(v === null ? "mode" : `mode=0${(v & 0o7777).toString(8)}`);
    } else if (f.name === "atime" || f.name === "mtime") {
      parts.push(`${f.name}=${d.value === 1 ? "server" : "client"}`);
    } else {
      const v = integerText(a);
      parts.push(v === null ? f.name : `${f.name}=${v}`);
    }
  }
  return parts.join(" ");
}
