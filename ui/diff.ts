/**
 * `rpcscope diff BASE NEW`: what changed in the RPC traffic between two
 * captures of the same workload — procedures that appeared, disappeared or
 * were called a different number of times, new error statuses (RPC-level and
 * body-level: NFS3ERR_NOENT, DEMO_IO_ERROR), response-time regressions, and
 * per conversation the first exchange where the sequence of procedures or the
 * decoded arguments/results differ, with a field-level diff.
 *
 * Memory stays bounded by what is summarised, not by the bodies seen:
 *  - per procedure: StatsCollector rows (ui/stats.ts; fixed-size response-time
 *    distribution);
 *  - per conversation: a procedure id and two 32-bit hashes of each exchange's
 *    decoded call and reply (12 bytes per exchange), the newest in memory and the
 *    rest in blocks of a temporary file (ui/diff-columns.ts);
 *  - decoded bodies only for the few exchanges the report shows, fetched by a
 *    second pass over each file that stops as soon as it has them.
 *
 * Conversations are (transport, client endpoint, server endpoint, program)
 * and are aligned between the captures by (transport, server endpoint,
 * program) and their order of first appearance: client ports and XIDs differ
 * from run to run, the server side usually does not.
 *
 * Exchanges are compared in the order of their calls. Fields that differ on
 * every run (XIDs, credential stamps, verifiers, NFS times, cookies and
 * cookie verifiers, NFSv4 state and client ids) are left out of the
 * comparison; see DEFAULT_IGNORES and `--ignore`.
 */
import type { CaptureSource } from "../capture/open-capture.js";
import type { Limits } from "../capture/limits.js";
import type { CaptureError } from "../capture/frame.js";
import type { ProgramRegistry } from "../dissect/registry.js";
import type { RpcPipeline } from "../dissect/rpc-pipeline.js";
import type { Auth, Exchange, RpcCall, RpcMessage, RpcReply } from "../dissect/rpc-types.js";
import { detachDecoded, type DecodedField, type DecodedValue } from "../dissect/xdr-types.js";
import { analyzeCapture } from "./analyze.js";
import { ColumnStore, HASH_A, HASH_B, PROC, type Columns, type ColumnStoreOptions } from "./diff-columns.js";
import { hex } from "./body-format.js";
import type { CompiledFilter } from "./filter/evaluate.js";
import { bodyErrorName, type NameLookup } from "./filter/fields.js";
import { StatsCollector, type ProcedureStats, type StatsReport } from "./stats.js";
import { formatSeconds, programLabel } from "./summary-format.js";
import { escapeForTerminal, jsonSafeStringify } from "./text-safety.js";

// ---------------------------------------------------------------------------
// Ignore patterns.

/**
 * Left out of every comparison unless `--no-default-ignores`: header fields
 * that change on every run, and NFS types that hold times, cookies, verifiers
 * and state ids.
 */
export const DEFAULT_IGNORES: readonly string[] = [
  "call.xid", "call.cred.stamp", "call.cred.seqNum", "call.cred.handle", "call.cred.nickname", "call.verf", "reply.verf",
  "type:nfstime3", "type:cookie3", "type:cookieverf3", "type:createverf3", "type:writeverf3",
  "type:nfstime4", "type:nfs_cookie4", "type:verifier4", "type:stateid4", "type:clientid4",
];

/** A bad `--ignore` pattern. */
export class IgnorePatternError extends Error {}

/** One path segment of a pattern: a literal, `*` (one segment), `**` (any number) or a glob. */
type Segment = { readonly kind: "literal"; readonly text: string } | { readonly kind: "any" } | { readonly kind: "globstar" }
  | { readonly kind: "glob"; readonly re: RegExp };

const SEGMENT_TOKENS = /\[[^\]]*\]|[^.[\]]+/g;
const ROOTS = new Set(["args", "res", "call", "reply"]);

function parseSegments(pattern: string): Segment[] {
  const rest = pattern.replace(SEGMENT_TOKENS, "").replace(/\./g, "");
  if (rest !== "" || pattern.startsWith(".") || pattern.endsWith(".") || pattern.includes("..")) {
    throw new IgnorePatternError(`--ignore: cannot read '${escapeForTerminal(pattern)}' as a dotted path such as res.*.verf or args.entries[*].cookie`);
  }
  const segments: Segment[] = [];
  for (const token of pattern.match(SEGMENT_TOKENS) ?? []) {
    if (token === "**") segments.push({ kind: "globstar" });
    else if (token === "*" || token === "[*]") segments.push({ kind: "any" });
    else if (token.includes("*")) {
      const source = token.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*");
      segments.push({ kind: "glob", re: new RegExp(`^${source}$`) });
    } else segments.push({ kind: "literal", text: token });
  }
  if (segments.length === 0) throw new IgnorePatternError(`--ignore: empty pattern`);
  const first = segments[0]!;
  // A pattern that does not start at a root (args, res, call, reply) matches at any depth.
  if ((first.kind === "literal" && !ROOTS.has(first.text)) || first.kind === "glob") segments.unshift({ kind: "globstar" });
  return segments;
}

function segmentMatches(seg: Segment, name: string): boolean {
  switch (seg.kind) {
    case "literal": return seg.text === name;
    case "any": return true;
    case "glob": return seg.re.test(name);
    case "globstar": return true;
  }
}

/** Matcher state: active (pattern, position) pairs, as pattern * 4096 + position. */
type IgnoreState = readonly number[];
const NO_STATE: IgnoreState = Object.freeze([]) as IgnoreState;
/** Returned by step() when the path is ignored (it and everything below it). */
const IGNORED: IgnoreState = Object.freeze([-1]) as IgnoreState;

/**
 * Compiled `--ignore` patterns. A path pattern is a dotted path over decoded
 * field names, starting at args, res, call or reply; array elements are `[N]`;
 * `*` (or `[*]`) matches one segment, `**` any number, and `*` inside a
 * segment any characters (`time_*`). A pattern whose first segment is not a
 * root matches at any depth (`verf` is `**.verf`). `type:NAME` ignores every
 * field whose type, as written in the .x file, is NAME (`type:nfstime3`).
 */
export class IgnoreSet {
  private readonly patterns: Segment[][] = [];
  private readonly typeNames = new Set<string>();
  private readonly initial: IgnoreState;
  private readonly pathCache = new Map<string, boolean>();
  readonly sources: readonly string[];

  constructor(patterns: readonly string[]) {
    this.sources = [...patterns];
    for (const p of patterns) {
      if (p.startsWith("type:")) {
        const name = p.slice(5);
        if (!/^[A-Za-z_][A-Za-z0-9_ <>[\]]*$/.test(name)) throw new IgnorePatternError(`--ignore: bad type name in '${escapeForTerminal(p)}'`);
        this.typeNames.add(name);
      } else {
        const segs = parseSegments(p);
        if (segs.length >= 4096) throw new IgnorePatternError(`--ignore: pattern too long`);
        this.patterns.push(segs);
      }
    }
    const start: number[] = [];
    for (let p = 0; p < this.patterns.length; p++) this.close(p, 0, start);
    this.initial = start;
  }

  /** Adds (p, k) and, across `**`, the positions after it. */
  private close(p: number, k: number, into: number[]): void {
    const segs = this.patterns[p]!;
    for (;;) {
      const code = p * 4096 + k;
      if (!into.includes(code)) into.push(code);
      if (k < segs.length && segs[k]!.kind === "globstar") k++;
      else return;
    }
  }

  get root(): IgnoreState {
    return this.initial;
  }

  /** The state after descending into `name`, or IGNORED when a pattern matches the path up to here. */
  step(state: IgnoreState, name: string, typeName: string | null): IgnoreState {
    if (typeName !== null && this.typeNames.size > 0 && this.typeNames.has(typeName)) return IGNORED;
    if (state.length === 0) return NO_STATE;
    const next: number[] = [];
    for (const code of state) {
      const p = Math.floor(code / 4096);
      const k = code % 4096;
      const segs = this.patterns[p]!;
      if (k >= segs.length) continue;
      const seg = segs[k]!;
      if (seg.kind === "globstar") this.close(p, k, next);
      else if (segmentMatches(seg, name)) this.close(p, k + 1, next);
    }
    for (const code of next) {
      const p = Math.floor(code / 4096);
      if (code % 4096 === this.patterns[p]!.length) return IGNORED;
    }
    return next.length === 0 ? NO_STATE : next;
  }

  /** Whether a whole dotted path (header pseudo-fields, a few fixed strings) is ignored. */
  ignoresPath(path: string): boolean {
    let known = this.pathCache.get(path);
    if (known === undefined) {
      known = false;
      let state = this.initial;
      for (const seg of path.match(SEGMENT_TOKENS) ?? []) {
        state = this.step(state, seg, null);
        if (state === IGNORED) {
          known = true;
          break;
        }
      }
      if (this.pathCache.size < 256) this.pathCache.set(path, known);
    }
    return known;
  }
}

// ---------------------------------------------------------------------------
// Walking a decoded body: leaves with their paths.

/**
 * Receives the nodes and leaves of an exchange. The hasher (pass 1, every
 * exchange) needs only the tree's shape — each node's depth and name in
 * pre-order — and the leaf values; the collector (pass 2, a few exchanges)
 * wants dotted paths, which cost a string per node to build.
 */
interface LeafVisitor {
  readonly wantsPaths: boolean;
  /** Every node entered (pre-order); header pseudo-fields arrive as depth 0 with their whole path. */
  node(depth: number, name: string): void;
  value(path: string, v: DecodedValue): void;
  text(path: string, text: string): void;
  bytes(path: string, bytes: Uint8Array): void;
}

/**
 * Visits the nodes and leaves of a decoded body in field order. Iterative
 * (depth comes from the packet), with the stack in parallel arrays so that a
 * node costs no allocation. Containers become leaves only when empty (`[]`,
 * `{}`, `absent`), so an element that appears or a list that empties shows.
 */
function walkBody(root: DecodedField, rootName: "args" | "res", ignore: IgnoreSet, visit: LeafVisitor): void {
  const state0 = ignore.step(ignore.root, rootName, root.typeName);
  if (state0 === IGNORED) return;
  const wantsPaths = visit.wantsPaths;
  const fields: DecodedField[] = [root];
  const names: string[] = [rootName];
  const depths: number[] = [0];
  const states: IgnoreState[] = [state0];
  const paths: string[] = [rootName];
  while (fields.length > 0) {
    const field = fields.pop()!;
    const name = names.pop()!;
    const depth = depths.pop()!;
    const state = states.pop()!;
    const path = wantsPaths ? paths.pop()! : "";
    const v = field.value;
    if (v.kind === "optional") {
      // Optional data stays at its parent's place and name: `*` is not a name a user would write.
      if (!v.value) {
        visit.node(depth, name);
        visit.text(path, "absent");
        continue;
      }
      fields.push(v.value);
      names.push(name);
      depths.push(depth);
      states.push(state);
      if (wantsPaths) paths.push(path);
      continue;
    }
    visit.node(depth, name);
    let children: readonly DecodedField[] | null = null;
    let first: DecodedField | null = null;
    let second: DecodedField | null = null;
    switch (v.kind) {
      case "struct":
        if (v.fields.length === 0) { visit.text(path, "{}"); continue; }
        children = v.fields;
        break;
      case "union":
        first = v.disc;
        second = v.arm;
        break;
      case "array":
        if (v.count === 0 || v.elements.length === 0) { visit.text(path, "[]"); continue; }
        children = v.elements;
        break;
      default:
        visit.value(path, v);
        continue;
    }
    const count = children ? children.length : second ? 2 : 1;
    for (let i = count - 1; i >= 0; i--) {
      const child = children ? children[i]! : i === 0 ? first! : second!;
      const next = ignore.step(state, child.name, child.typeName);
      if (next === IGNORED) continue;
      fields.push(child);
      names.push(child.name);
      depths.push(depth + 1);
      states.push(next);
      if (wantsPaths) paths.push(child.name.startsWith("[") ? `${path}${child.name}` : `${path}.${child.name}`);
    }
  }
}

/** A header pseudo-field (call.xid, reply.status…) unless ignored. */
function headerLeaf(visit: LeafVisitor, ignore: IgnoreSet, path: string, text: () => string): void {
  if (ignore.ignoresPath(path)) return;
  visit.node(0, path);
  visit.text(path, text());
}

function authText(a: Auth): string {
  return "body" in a && a.body.length > 0 ? `${a.kind} ${hex(a.body, 32)}` : a.kind;
}

/** The call header's pseudo-fields (call.*), then the arguments. */
function visitCall(h: RpcCall, args: DecodedField | null, record: Uint8Array | null, ignore: IgnoreSet, visit: LeafVisitor): void {
  headerLeaf(visit, ignore, "call.xid", () => `0x${h.xid.toString(16).padStart(8, "0")}`);
  const c = h.cred;
  headerLeaf(visit, ignore, "call.cred.flavor", () => c.kind);
  if (c.kind === "sys") {
    headerLeaf(visit, ignore, "call.cred.stamp", () => String(c.stamp));
    headerLeaf(visit, ignore, "call.cred.machine", () => `"${escapeForTerminal(c.machinename)}"`);
    headerLeaf(visit, ignore, "call.cred.uid", () => String(c.uid));
    headerLeaf(visit, ignore, "call.cred.gid", () => String(c.gid));
    headerLeaf(visit, ignore, "call.cred.gids", () => `[${c.gids.join(", ")}]`);
  } else if (c.kind === "gss") {
    headerLeaf(visit, ignore, "call.cred.gssProc", () => String(c.gssProc ?? ""));
    headerLeaf(visit, ignore, "call.cred.service", () => String(c.service ?? ""));
    headerLeaf(visit, ignore, "call.cred.seqNum", () => String(c.seqNum ?? ""));
    headerLeaf(visit, ignore, "call.cred.handle", () => (c.handle ? hex(c.handle, 32) : ""));
  } else if (c.kind === "dh") {
    const { netname, nickname } = c;
    if (netname !== undefined) headerLeaf(visit, ignore, "call.cred.netname", () => `"${escapeForTerminal(netname)}"`);
    if (nickname !== undefined) headerLeaf(visit, ignore, "call.cred.nickname", () => String(nickname));
  }
  headerLeaf(visit, ignore, "call.verf", () => authText(h.verf));
  if (args) walkBody(args, "args", ignore, visit);
  else if (record && h.bodyOffset < record.length && !ignore.ignoresPath("args")) {
    visit.node(0, "args");
    visit.bytes("args", record.subarray(h.bodyOffset));
  }
}

/** The reply header's pseudo-fields (reply.*), then the results; `null` for a call never answered. */
function visitReply(h: RpcReply | null, res: DecodedField | null, record: Uint8Array | null, ignore: IgnoreSet, visit: LeafVisitor): void {
  if (!h) {
    headerLeaf(visit, ignore, "reply.status", () => "(no reply)");
    return;
  }
  headerLeaf(visit, ignore, "reply.status", () => h.status);
  const { mismatch, authStat, verf } = h;
  if (mismatch) {
    headerLeaf(visit, ignore, "reply.mismatch.low", () => String(mismatch.low));
    headerLeaf(visit, ignore, "reply.mismatch.high", () => String(mismatch.high));
  }
  if (authStat !== undefined) headerLeaf(visit, ignore, "reply.authStat", () => String(authStat));
  if (verf) headerLeaf(visit, ignore, "reply.verf", () => authText(verf));
  if (res) walkBody(res, "res", ignore, visit);
  else if (h.status === "SUCCESS" && record && h.bodyOffset < record.length && !ignore.ignoresPath("res")) {
    visit.node(0, "res");
    visit.bytes("res", record.subarray(h.bodyOffset));
  }
}

// ---------------------------------------------------------------------------
// Hashing (pass 1) and leaf text (pass 2). Equal text ⇔ equal hash input.

/**
 * Two independent 32-bit hashes (64 bits against collisions) over the shape
 * and the leaf values. Bulk data is mixed a 32-bit word at a time. (Exported for
 * its tests.)
 */
export class LeafHasher implements LeafVisitor {
  readonly wantsPaths = false;
  a = 0;
  b = 0;

  start(a: number, b: number): void {
    this.a = a;
    this.b = b;
  }

  private word(x: number): void {
    this.a = Math.imul(this.a ^ x, 0x01000193);
    const b = Math.imul(this.b ^ x, 0x5bd1e995);
    this.b = b ^ (b >>> 13);
  }

  private str(s: string): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x5bd1e995);
      b ^= b >>> 13;
    }
    this.a = a;
    this.b = b;
    this.word(0x10000 + s.length);
  }

  /**
   * Bulk data (READ and WRITE payloads: most of the bytes of a capture) in two lanes,
   * even and odd words, each mixed into both hashes: chains half as long, so twice the
   * speed of one lane, and every word still goes into 64 bits of state.
   */
  private raw(bytes: Uint8Array): void {
    let a = this.a;
    let b = this.b;
    let a2 = a ^ 0x9e3779b9;
    let b2 = b ^ 0x85ebca6b;
    const n = bytes.length;
    const words = n >>> 2;
    const pairs = words & ~1;
    let i = 0;
    if (LITTLE_ENDIAN && (bytes.byteOffset & 3) === 0) {
      // Aligned: whole words at once (the same little-endian words as the byte loop reads).
      const w32 = new Int32Array(bytes.buffer, bytes.byteOffset, words);
      for (; i < pairs; i += 2) {
        const x = w32[i]!;
        const y = w32[i + 1]!;
        a = Math.imul(a ^ x, 0x01000193);
        b = Math.imul(b ^ x, 0x5bd1e995);
        b ^= b >>> 13;
        a2 = Math.imul(a2 ^ y, 0x01000193);
        b2 = Math.imul(b2 ^ y, 0x5bd1e995);
        b2 ^= b2 >>> 13;
      }
    } else {
      for (; i < pairs; i += 2) {
        const at = 4 * i;
        const x = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24);
        const y = bytes[at + 4]! | (bytes[at + 5]! << 8) | (bytes[at + 6]! << 16) | (bytes[at + 7]! << 24);
        a = Math.imul(a ^ x, 0x01000193);
        b = Math.imul(b ^ x, 0x5bd1e995);
        b ^= b >>> 13;
        a2 = Math.imul(a2 ^ y, 0x01000193);
        b2 = Math.imul(b2 ^ y, 0x5bd1e995);
        b2 ^= b2 >>> 13;
      }
    }
    // An odd last word, then the bytes after the last whole word.
    for (let at = 4 * i; at < n; at += 4) {
      const x = at + 4 <= n
        ? bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)
        : tailWord(bytes, at);
      a = Math.imul(a ^ x, 0x01000193);
      b = Math.imul(b ^ x, 0x5bd1e995);
      b ^= b >>> 13;
    }
    this.a = Math.imul(a ^ (a2 >>> 7 | a2 << 25), 0x01000193);
    const mixed = Math.imul(b ^ (b2 >>> 11 | b2 << 21), 0x5bd1e995);
    this.b = mixed ^ (mixed >>> 13);
    this.word(n);
  }

  node(depth: number, name: string): void {
    this.word(0x20000 + depth);
    this.str(name);
  }

  text(_path: string, text: string): void {
    this.word(1);
    this.str(text);
  }

  bytes(_path: string, bytes: Uint8Array): void {
    this.word(2);
    this.raw(bytes);
  }

  value(_path: string, v: DecodedValue): void {
    this.word(3);
    switch (v.kind) {
      case "opaque":
      case "string":
        this.raw(v.bytes);
        return;
      case "int":
      case "float":
        this.word(v.kind === "int" ? 4 : 5);
        this.str(String(v.value));
        return;
      default:
        this.str(leafText(v));
    }
  }
}

/** The last 1–3 bytes of bulk data as a word (the length, mixed in after, tells 00 from nothing). */
function tailWord(bytes: Uint8Array, at: number): number {
  let x = 0;
  for (let k = 0; at + k < bytes.length; k++) x |= bytes[at + k]! << (8 * k);
  return x;
}

/** Whether an Int32Array reads the bytes' words as the byte loop assembles them. */
const LITTLE_ENDIAN = new Uint8Array(Int32Array.of(1).buffer)[0] === 1;

const TEXT_MAX = 120;

function fnv1a(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return (h >>> 0).toString(16).padStart(8, "0");
}

/** A leaf as it is shown in a field diff (escaped; long data shortened, with a hash so differences still show). */
export function leafText(v: DecodedValue): string {
  switch (v.kind) {
    case "int":
    case "float":
      return String(v.value);
    case "hyper":
      return v.value.toString();
    case "bool":
      return v.raw === 0 || v.raw === 1 ? String(v.value) : `${v.value} (raw ${v.raw})`;
    case "enum":
      return v.name !== null ? escapeForTerminal(v.name) : `UNKNOWN(${v.value})`;
    case "opaque":
      return v.bytes.length <= 32 ? `${v.bytes.length} bytes ${hex(v.bytes)}` : `${v.bytes.length} bytes ${hex(v.bytes, 32)} fnv1a ${fnv1a(v.bytes)}`;
    case "string": {
      const text = escapeForTerminal(v.text);
      return text.length <= TEXT_MAX ? `"${text}"` : `"${text.slice(0, TEXT_MAX)}…" (${v.bytes.length} bytes, fnv1a ${fnv1a(v.bytes)})`;
    }
    case "void":
      return "void";
    case "malformed":
      return `MALFORMED: ${escapeForTerminal(v.error.message)}`;
    case "struct":
      return "{}";
    case "array":
      return "[]";
    case "optional":
      return "absent";
    case "union":
      return "";
  }
}

interface Leaf {
  readonly path: string;
  readonly text: string;
}

/** Collects leaves as text, at most `max` of them. */
class LeafCollector implements LeafVisitor {
  readonly wantsPaths = true;
  readonly leaves: Leaf[] = [];
  truncated = false;
  constructor(private readonly max: number) {}
  private add(path: string, text: string): void {
    if (this.leaves.length >= this.max) this.truncated = true;
    else this.leaves.push({ path, text });
  }
  node(): void {}
  value(path: string, v: DecodedValue): void {
    this.add(path, leafText(v));
  }
  text(path: string, text: string): void {
    this.add(path, text);
  }
  bytes(path: string, bytes: Uint8Array): void {
    this.add(path, `undecoded ${bytes.length} bytes ${hex(bytes, 32)}${bytes.length > 32 ? ` fnv1a ${fnv1a(bytes)}` : ""}`);
  }
}

/** Procedure ids shared by both captures, so sequences compare as integers. */
class ProcedureIds {
  /** prog → vers → proc → id: numbers as keys, no string per call. */
  private readonly ids = new Map<number, Map<number, Map<number, number>>>();
  readonly triples: { prog: number; vers: number; proc: number }[] = [];
  id(prog: number, vers: number, proc: number): number {
    let byVers = this.ids.get(prog);
    if (!byVers) this.ids.set(prog, byVers = new Map());
    let byProc = byVers.get(vers);
    if (!byProc) byVers.set(vers, byProc = new Map());
    let id = byProc.get(proc);
    if (id === undefined) {
      id = this.triples.length;
      this.triples.push({ prog, vers, proc });
      byProc.set(proc, id);
    }
    return id;
  }
}

/** Marks an exchange the filter left out (its slot stays, so positions agree between the passes). */
const FILTERED = -1;

interface Conversation {
  readonly index: number;
  readonly alignKey: string;
  /** 0 for the first conversation with this alignKey, 1 for the second… */
  readonly ordinal: number;
  readonly transport: "tcp" | "udp";
  readonly client: string;
  readonly clientPort: number;
  readonly server: string;
  readonly serverPort: number;
  readonly prog: number;
  /** Per exchange in call order: procedure id (FILTERED when the filter left it out) and two hashes. */
  readonly cols: Columns;
  /** Calls counted by the second pass, which finds the same exchanges at the same positions. */
  secondPassCalls: number;
}

/** Conversations of one capture, in order of first appearance (the same in both passes). */
class ConversationTable {
  readonly list: Conversation[] = [];
  private readonly byKey = new Map<string, Conversation>();
  private readonly ordinals = new Map<string, number>();
  private last: Conversation | null = null;
  /** Per TCP connection, the conversation of its last call: found without making its key. */
  private readonly byConn = new Map<number, Conversation>();
  /** Calls refused because the table is full. */
  untracked = 0;

  constructor(private readonly max: number, private readonly store: ColumnStore) {}

  forCall(msg: RpcMessage, h: RpcCall): Conversation | null {
    const l = this.last;
    if (l && l.prog === h.prog && l.clientPort === msg.sport && l.serverPort === msg.dport && l.transport === msg.transport &&
        l.client === msg.src && l.server === msg.dst) return l;
    const c = msg.connId === null ? undefined : this.byConn.get(msg.connId);
    if (c && c.prog === h.prog && c.clientPort === msg.sport && c.serverPort === msg.dport && c.transport === msg.transport &&
        c.client === msg.src && c.server === msg.dst) {
      this.last = c;
      return c;
    }
    const key = `${msg.transport} ${msg.src} ${msg.sport} ${msg.dst} ${msg.dport} ${h.prog}`;
    let conv = this.byKey.get(key);
    if (!conv) {
      if (this.list.length >= this.max) {
        this.untracked++;
        return null;
      }
      const alignKey = `${msg.transport} ${msg.dst} ${msg.dport} ${h.prog}`;
      const ordinal = this.ordinals.get(alignKey) ?? 0;
      this.ordinals.set(alignKey, ordinal + 1);
      conv = {
        index: this.list.length, alignKey, ordinal, transport: msg.transport, client: msg.src, clientPort: msg.sport,
        server: msg.dst, serverPort: msg.dport, prog: h.prog, cols: this.store.columns(), secondPassCalls: 0,
      };
      this.list.push(conv);
      this.byKey.set(key, conv);
    }
    this.last = conv;
    if (msg.connId !== null) {
      // Connection numbers only grow: forget them all now and then rather than keep every one.
      if (this.byConn.size >= 65_536) this.byConn.clear();
      this.byConn.set(msg.connId, conv);
    }
    return conv;
  }
}

// ---------------------------------------------------------------------------
// Pass 1: one capture's profile.

export interface DiffInput {
  /** Shown in the report. */
  readonly label: string;
  readonly source: CaptureSource;
}

export interface DiffOptions {
  readonly limits: Limits;
  readonly registry: ProgramRegistry | null;
  readonly names: NameLookup;
  /** Only exchanges it selects (evaluated per exchange, as in the TUI) are compared. */
  readonly filter?: CompiledFilter | null;
  /** A p50 or p95 more than this many times the base's is a regression (default 1.5)… */
  readonly latencyRatio?: number;
  /** …when it is also at least this much slower, in seconds (default 0.001). */
  readonly latencyFloor?: number;
  /** Path and type patterns left out of body comparisons (see IgnoreSet); default DEFAULT_IGNORES. */
  readonly ignore?: readonly string[];
  /** Field changes listed per exchange (default 50). */
  readonly maxFieldChanges?: number;
  /** Conversations tracked per capture (default 100,000); exchanges of further ones are not aligned. */
  readonly maxConversations?: number;
  /** How the per-exchange numbers are kept (tests make blocks small, to have them written and read back). */
  readonly columns?: ColumnStoreOptions;
  readonly configurePipeline?: (pipeline: RpcPipeline) => void;
}

interface Profile {
  readonly label: string;
  readonly frames: number;
  readonly messages: number;
  readonly stats: StatsReport;
  readonly conversations: ConversationTable;
  readonly truncation: CaptureError | null;
}


interface PendingSlot {
  /** Null when the conversation cap was reached: the exchange still counts in the statistics. */
  readonly conv: Conversation | null;
  readonly index: number;
  args: DecodedField | null;
  res: DecodedField | null;
  bodyStatus: string | null;
}

async function profileCapture(
  input: DiffInput, options: DiffOptions, ids: ProcedureIds, ignore: IgnoreSet, store: ColumnStore,
): Promise<Profile> {
  const { names } = options;
  const filter = options.filter ?? null;
  const keepBodies = filter?.needsBody ?? false;
  const stats = new StatsCollector({ maxConversations: 0, maxClients: 0 });
  const table = new ConversationTable(options.maxConversations ?? 100_000, store);
  const pending = new Map<Exchange, PendingSlot>();
  const hasher = new LeafHasher();
  const result = await analyzeCapture(
    input.source,
    { limits: options.limits, registry: options.registry, decodeBodies: options.registry !== null,
      ...(options.configurePipeline ? { configurePipeline: options.configurePipeline } : {}) },
    {
      message(m, record) {
        const msg = m.msg;
        const h = msg.header;
        const ex = msg.exchange;
        if (!h || !ex) return;
        if (h.kind === "call") {
          if (ex.call !== msg) return; // a retransmission: compared once
          const conv = table.forCall(msg, h);
          const index = conv ? conv.cols.length : -1;
          if (conv) {
            hasher.start(0x811c9dc5, 0x9747b28c);
            visitCall(h, m.args, record, ignore, hasher);
            conv.cols.push(ids.id(h.prog, h.vers, h.proc), hasher.a, hasher.b);
          }
          // Bodies kept for a filter at resolution are copied out of the record.
          pending.set(ex, { conv, index, args: keepBodies && m.args ? detachDecoded(m.args) : null, res: null, bodyStatus: null });
        } else {
          if (ex.reply !== msg) return;
          const slot = pending.get(ex);
          if (!slot) return;
          const conv = slot.conv;
          if (conv) {
            hasher.start(conv.cols.get(slot.index, HASH_A), conv.cols.get(slot.index, HASH_B));
            visitReply(h, m.res, record, ignore, hasher);
            conv.cols.set(slot.index, HASH_A, hasher.a);
            conv.cols.set(slot.index, HASH_B, hasher.b);
          }
          slot.bodyStatus = bodyErrorName(m.res);
          if (keepBodies) slot.res = m.res && detachDecoded(m.res);
        }
      },
      exchangeResolved(ex) {
        const slot = pending.get(ex);
        if (slot) {
          pending.delete(ex);
          const conv = slot.conv;
          if (conv && !ex.reply) {
            hasher.start(conv.cols.get(slot.index, HASH_A), conv.cols.get(slot.index, HASH_B));
            visitReply(null, null, null, ignore, hasher);
            conv.cols.set(slot.index, HASH_A, hasher.a);
            conv.cols.set(slot.index, HASH_B, hasher.b);
          }
        }
        if (filter && !filter({ exchange: ex, message: null, args: slot?.args ?? null, res: slot?.res ?? null, names })) {
          if (slot?.conv) slot.conv.cols.set(slot.index, PROC, FILTERED);
          return;
        }
        stats.add(ex, names, null, slot?.bodyStatus ?? null);
      },
    },
  );
  return {
    label: input.label, frames: result.frames, messages: result.counts.messages, stats: stats.result(),
    conversations: table, truncation: result.truncation,
  };
}

// ---------------------------------------------------------------------------
// The report.

export type DiffCategory = "errors" | "latency" | "procedures" | "bodies";
export const DIFF_CATEGORIES: readonly DiffCategory[] = ["errors", "latency", "procedures", "bodies"];

interface ProcedureIdentity {
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  /** "demo v2" (program name or prog-N, and the version). */
  readonly program: string;
  readonly procName: string;
}

export interface ProcedureChange extends ProcedureIdentity {
  readonly change: "appeared" | "disappeared" | "count";
  readonly baseCalls: number;
  readonly newCalls: number;
}

export interface ErrorChange extends ProcedureIdentity {
  /** RPC status (PROG_MISMATCH…) or body status (NFS3ERR_NOENT…). */
  readonly status: string;
  /** new / increased (rate per call went up) are regressions; gone / decreased are not. */
  readonly change: "new" | "increased" | "decreased" | "gone";
  readonly baseCount: number;
  readonly newCount: number;
  readonly baseCalls: number;
  readonly newCalls: number;
}

export interface LatencyMetric {
  /** Seconds. */
  readonly base: number;
  readonly new: number;
  /** new / base (null when base is 0). */
  readonly ratio: number | null;
  readonly regression: boolean;
}

export interface LatencyChange extends ProcedureIdentity {
  readonly baseCount: number;
  readonly newCount: number;
  readonly p50: LatencyMetric;
  readonly p95: LatencyMetric;
}

export interface ExchangeRef {
  /** 1-based position among the conversation's compared exchanges. */
  readonly position: number;
  readonly procName: string;
  readonly vers: number;
  readonly proc: number;
  readonly callFrame: number | null;
  readonly replyFrame: number | null;
  readonly xid: number | null;
  /** RPC status, or null when there was no reply. */
  readonly status: string | null;
  /** Body status when it is an error (DEMO_IO_ERROR), else null. */
  readonly bodyStatus: string | null;
}

export interface FieldChange {
  /** Dotted path: args.…, res.…, call.cred.…, reply.status. */
  readonly path: string;
  readonly change: "changed" | "added" | "removed";
  readonly base: string | null;
  readonly new: string | null;
}

export interface SequenceDifference {
  /**
   * inserted: `count` exchanges in NEW that BASE does not have here (the rest lines up again);
   * removed: `count` exchanges of BASE missing from NEW; replaced: the procedures differ from here on.
   */
  readonly kind: "inserted" | "removed" | "replaced";
  readonly count: number;
  /** The base exchange at the difference (null when inserted at the end). */
  readonly base: ExchangeRef | null;
  /** The new exchange at the difference (null when removed at the end). */
  readonly new: ExchangeRef | null;
  /** Procedure names around the difference (from `contextStart`, 1-based) on each side. */
  readonly contextStart: number;
  readonly baseContext: readonly string[];
  readonly newContext: readonly string[];
  /** Exchanges of a longer inserted (newContext) or removed (baseContext) run left out after its context: at most CONTEXT_RUN are named. */
  readonly contextOmitted: number;
  /** Field-level diff of `base` against `new` (inserted: all of new's fields; removed: all of base's). */
  readonly fields: readonly FieldChange[];
  readonly fieldsOmitted: number;
}

export interface BodyDifference {
  readonly base: ExchangeRef;
  readonly new: ExchangeRef;
  readonly fields: readonly FieldChange[];
  readonly fieldsOmitted: number;
}

export interface ConversationDiff {
  readonly transport: "tcp" | "udp";
  readonly server: string;
  readonly serverPort: number;
  readonly prog: number;
  readonly program: string;
  /** 1 for the first conversation with this server and program, 2 for the second… */
  readonly ordinal: number;
  readonly presence: "both" | "base-only" | "new-only";
  readonly baseClient: string | null;
  readonly newClient: string | null;
  readonly baseExchanges: number;
  readonly newExchanges: number;
  readonly sequence: SequenceDifference | null;
  readonly body: BodyDifference | null;
}

export interface CaptureSummary {
  readonly file: string;
  readonly frames: number;
  readonly messages: number;
  readonly exchanges: number;
  readonly calls: number;
  readonly conversations: number;
  /** Calls of conversations beyond DiffOptions.maxConversations (counted in the statistics, not aligned). */
  readonly exchangesNotAligned: number;
  /** Set when the file ended in the middle of a packet. */
  readonly truncated: string | null;
}

export interface DiffReport {
  readonly base: CaptureSummary;
  readonly new: CaptureSummary;
  readonly settings: {
    readonly latencyRatio: number;
    readonly latencyFloor: number;
    readonly ignore: readonly string[];
    readonly filter: string | null;
  };
  readonly procedures: readonly ProcedureChange[];
  readonly errors: readonly ErrorChange[];
  readonly latency: readonly LatencyChange[];
  /** Conversations with a difference only. */
  readonly conversations: readonly ConversationDiff[];
  readonly conversationsCompared: number;
  /** Regressions per category. */
  readonly regressions: { readonly [C in DiffCategory]: number };
}

/** The categories in `failOn` that have regressions (exit status 1 when not empty). */
export function failingCategories(report: DiffReport, failOn: Iterable<DiffCategory>): DiffCategory[] {
  const out: DiffCategory[] = [];
  for (const c of failOn) if (report.regressions[c] > 0 && !out.includes(c)) out.push(c);
  return out;
}

function endpoint(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function identity(names: NameLookup, prog: number, vers: number, proc: number): ProcedureIdentity {
  return {
    prog, vers, proc,
    program: escapeForTerminal(programLabel(names, prog, vers)),
    procName: escapeForTerminal(names.procedureName(prog, vers, proc)),
  };
}

function procKey(p: { prog: number; vers: number; proc: number }): string {
  return `${p.prog}/${p.vers}/${p.proc}`;
}

function compareProcedures(base: StatsReport, next: StatsReport, names: NameLookup, ratio: number, floor: number): {
  procedures: ProcedureChange[]; errors: ErrorChange[]; latency: LatencyChange[];
} {
  const rows = new Map<string, { b: ProcedureStats | null; n: ProcedureStats | null }>();
  for (const p of base.procedures) rows.set(procKey(p), { b: p, n: null });
  for (const p of next.procedures) {
    const row = rows.get(procKey(p));
    if (row) row.n = p;
    else rows.set(procKey(p), { b: null, n: p });
  }
  const ordered = [...rows.values()].sort((x, y) => {
    const a = (x.b ?? x.n)!;
    const b = (y.b ?? y.n)!;
    return a.prog - b.prog || a.vers - b.vers || a.proc - b.proc;
  });
  const procedures: ProcedureChange[] = [];
  const errors: ErrorChange[] = [];
  const latency: LatencyChange[] = [];
  for (const { b, n } of ordered) {
    const any = (b ?? n)!;
    const id = identity(names, any.prog, any.vers, any.proc);
    const baseCalls = b?.calls ?? 0;
    const newCalls = n?.calls ?? 0;
    if (baseCalls !== newCalls) {
      const change = baseCalls === 0 ? "appeared" : newCalls === 0 ? "disappeared" : "count";
      procedures.push({ ...id, change, baseCalls, newCalls });
    }
    const statuses = new Map<string, { baseCount: number; newCount: number }>();
    for (const e of b?.errorsByStatus ?? []) statuses.set(e.status, { baseCount: e.count, newCount: 0 });
    for (const e of n?.errorsByStatus ?? []) {
      const s = statuses.get(e.status);
      if (s) s.newCount = e.count;
      else statuses.set(e.status, { baseCount: 0, newCount: e.count });
    }
    for (const [status, { baseCount, newCount }] of statuses) {
      let change: ErrorChange["change"] | null;
      if (baseCount === 0) change = "new";
      else if (newCount === 0) change = "gone";
      else {
        // Rates, so that a longer run with proportionally more errors is no regression.
        const baseRate = baseCount / Math.max(1, baseCalls);
        const newRate = newCount / Math.max(1, newCalls);
        change = newRate > baseRate ? "increased" : newRate < baseRate ? "decreased" : null;
      }
      if (change) errors.push({ ...id, status: escapeForTerminal(status), change, baseCount, newCount, baseCalls, newCalls });
    }
    if (b?.rtt && n?.rtt) {
      const metric = (bv: number, nv: number): LatencyMetric => ({
        base: bv, new: nv, ratio: bv > 0 ? nv / bv : null,
        regression: nv - bv >= floor && (bv > 0 ? nv / bv > ratio : nv > 0),
      });
      const p50 = metric(b.rtt.p50, n.rtt.p50);
      const p95 = metric(b.rtt.p95, n.rtt.p95);
      if (p50.regression || p95.regression) latency.push({ ...id, baseCount: b.rtt.count, newCount: n.rtt.count, p50, p95 });
    }
  }
  return { procedures, errors, latency };
}

// ---------------------------------------------------------------------------
// Aligning conversations and finding their first differences.

/** How far ahead an insertion or removal is looked for, and how much must line up after it. */
const MAX_SHIFT = 8;
const RESYNC_WINDOW = 8;
const CONTEXT_BEFORE = 2;
const CONTEXT_AFTER = 3;
/**
 * Most exchanges of an inserted or removed run named in the context: a conversation
 * that goes on for 10,000 exchanges more in NEW is one difference, not a line of
 * 10,000 names (which held 130 MB of them for a capture against one four times longer).
 */
const CONTEXT_RUN = MAX_SHIFT + CONTEXT_AFTER;

/**
 * Where each exchange the filter kept lies among the conversation's (its slot), by
 * position; a slot is its position when the filter left none out (no array then: it
 * would hold 4 bytes per exchange of the conversation).
 */
interface ValidSlots {
  readonly count: number;
  slot(position: number): number;
}

function validSlots(c: Conversation): ValidSlots {
  let n = 0;
  for (let i = 0; i < c.cols.length; i++) if (c.cols.get(i, PROC) !== FILTERED) n++;
  if (n === c.cols.length) return { count: n, slot: (position) => position };
  const out = new Int32Array(n);
  n = 0;
  for (let i = 0; i < c.cols.length; i++) if (c.cols.get(i, PROC) !== FILTERED) out[n++] = i;
  return { count: out.length, slot: (position) => out[position]! };
}

function countValid(c: Conversation): number {
  let n = 0;
  for (let i = 0; i < c.cols.length; i++) if (c.cols.get(i, PROC) !== FILTERED) n++;
  return n;
}

interface Target {
  /** Slot index in the conversation. */
  readonly slot: number;
  /** 1-based position among the compared exchanges. */
  readonly position: number;
}

interface PairFindings {
  readonly b: Conversation;
  readonly n: Conversation;
  readonly baseCount: number;
  readonly newCount: number;
  sequence: {
    kind: SequenceDifference["kind"]; count: number; base: Target | null; new: Target | null;
    contextStart: number; baseContext: string[]; newContext: string[]; contextOmitted: number;
  } | null;
  body: { base: Target; new: Target } | null;
}

/**
 * Walks two aligned conversations exchange by exchange (x in base, y in new).
 * Where the procedures differ, an insertion or removal of up to MAX_SHIFT
 * exchanges after which RESYNC_WINDOW procedures line up again is recognised,
 * and the walk goes on past it (looking for a body difference); anything else
 * is a replacement and ends the walk. An insertion inside a run of the same
 * procedure is ambiguous by procedure alone (A B B C vs A B B B C); it is
 * moved back over the run as long as that makes the bodies match, so the
 * exchange reported as inserted is the one that is really new.
 */
function comparePair(b: Conversation, n: Conversation, ids: ProcedureIds, names: NameLookup): PairFindings {
  const bs = validSlots(b);
  const ns = validSlots(n);
  const B = bs.count;
  const N = ns.count;
  const findings: PairFindings = { b, n, baseCount: B, newCount: N, sequence: null, body: null };
  const bp = (x: number): number => b.cols.get(bs.slot(x), PROC);
  const np = (y: number): number => n.cols.get(ns.slot(y), PROC);
  const same = (x: number, y: number): boolean => {
    const sb = bs.slot(x);
    const sn = ns.slot(y);
    return b.cols.get(sb, HASH_A) === n.cols.get(sn, HASH_A) && b.cols.get(sb, HASH_B) === n.cols.get(sn, HASH_B);
  };
  const linesUp = (x: number, y: number): boolean => {
    for (let k = 0; k < RESYNC_WINDOW; k++) {
      const bEnd = x + k >= B;
      const nEnd = y + k >= N;
      if (bEnd || nEnd) return bEnd && nEnd;
      if (bp(x + k) !== np(y + k)) return false;
    }
    return true;
  };
  const context = (slots: ValidSlots, c: Conversation, from: number, to: number): { prog: number; vers: number; proc: number }[] => {
    const out: { prog: number; vers: number; proc: number }[] = [];
    for (let x = Math.max(0, from); x < Math.min(to, slots.count); x++) out.push(ids.triples[c.cols.get(slots.slot(x), PROC)]!);
    return out;
  };
  const record = (kind: SequenceDifference["kind"], count: number, x: number, y: number): void => {
    const start = Math.max(0, Math.min(x, y) - CONTEXT_BEFORE);
    // The run and CONTEXT_AFTER exchanges after it, or the first CONTEXT_RUN of a longer run.
    const run = kind === "replaced" ? 0 : Math.min(count, CONTEXT_RUN);
    const omitted = kind === "replaced" ? 0 : count - run;
    const after = omitted > 0 ? 0 : CONTEXT_AFTER;
    const baseContext = context(bs, b, start, x + after + (kind === "removed" ? run : 0));
    const newContext = context(ns, n, start, y + after + (kind === "inserted" ? run : 0));
    // Versions are shown only when they differ (NFS v3 NULL against v4 NULL).
    const versions = new Set([...baseContext, ...newContext].map((t) => t.vers));
    const label = (t: { prog: number; vers: number; proc: number }): string =>
      escapeForTerminal(`${versions.size > 1 ? `v${t.vers} ` : ""}${names.procedureName(t.prog, t.vers, t.proc)}`);
    findings.sequence = {
      kind, count,
      base: kind === "inserted" || x >= B ? null : { slot: bs.slot(x), position: x + 1 },
      new: kind === "removed" || y >= N ? null : { slot: ns.slot(y), position: y + 1 },
      contextStart: start + 1,
      baseContext: baseContext.map(label),
      newContext: newContext.map(label),
      contextOmitted: omitted,
    };
  };
  let x = 0;
  let y = 0;
  for (;;) {
    if (x >= B && y >= N) break;
    if (x >= B || y >= N) {
      if (!findings.sequence) {
        if (x >= B) record("inserted", N - y, x, y);
        else record("removed", B - x, x, y);
      }
      break;
    }
    if (bp(x) !== np(y)) {
      if (findings.sequence) break; // a second difference: the alignment is no longer worth trusting
      let kind: SequenceDifference["kind"] = "replaced";
      let k = 1;
      for (; k <= MAX_SHIFT; k++) {
        if (linesUp(x, y + k)) { kind = "inserted"; break; }
        if (linesUp(x + k, y)) { kind = "removed"; break; }
      }
      const d = y - x;
      if (kind === "inserted") {
        // new[q+d, q+d+k) inserted before base[q]; slide q back while that makes bodies match.
        let q = x;
        while (q > 0 && bp(q - 1) === np(q - 1 + d + k) && same(q - 1, q - 1 + d + k) && !same(q - 1, q - 1 + d)) q--;
        record(kind, k, q, q + d);
        if (findings.body && findings.body.base.position > q) findings.body = null;
        x = q;
        y = q + d + k;
        continue;
      }
      if (kind === "removed") {
        // base[q, q+k) missing before new[q+d]; the same slide.
        let q = x;
        while (q > 0 && bp(q - 1 + k) === np(q - 1 + d) && same(q - 1 + k, q - 1 + d) && !same(q - 1, q - 1 + d)) q--;
        record(kind, k, q, q + d);
        if (findings.body && findings.body.base.position > q) findings.body = null;
        x = q + k;
        y = q + d;
        continue;
      }
      record("replaced", 1, x, y);
      break;
    }
    if (!findings.body && !same(x, y)) {
      findings.body = { base: { slot: bs.slot(x), position: x + 1 }, new: { slot: ns.slot(y), position: y + 1 } };
    }
    if (findings.body && findings.sequence) break;
    x++;
    y++;
  }
  return findings;
}

// ---------------------------------------------------------------------------
// Pass 2: the bodies of the exchanges the report shows.

interface Fetched {
  callFrame: number | null;
  replyFrame: number | null;
  xid: number | null;
  prog: number;
  vers: number;
  proc: number;
  status: string | null;
  bodyStatus: string | null;
  readonly leaves: LeafCollector;
}

/** Thrown from a handler to end a pass early once every target is in; caught below. */
class PassComplete extends Error {}

const MAX_LEAVES = 20_000;

async function fetchExchanges(
  input: DiffInput, options: DiffOptions, ignore: IgnoreSet, wanted: ReadonlyMap<number, ReadonlySet<number>>,
): Promise<Map<string, Fetched>> {
  // The same conversations as the first pass found, counting their calls (their numbers are not kept again).
  const table = new ConversationTable(options.maxConversations ?? 100_000, new ColumnStore());
  const got = new Map<string, Fetched>();
  const pending = new Map<Exchange, Fetched>();
  let remaining = 0;
  for (const slots of wanted.values()) remaining += slots.size;
  if (remaining === 0) return got;
  try {
    await analyzeCapture(
      input.source,
      { limits: options.limits, registry: options.registry, decodeBodies: options.registry !== null,
        ...(options.configurePipeline ? { configurePipeline: options.configurePipeline } : {}) },
      {
        message(m, record) {
          const msg = m.msg;
          const h = msg.header;
          const ex = msg.exchange;
          if (!h || !ex) return;
          if (h.kind === "call") {
            if (ex.call !== msg) return;
            const conv = table.forCall(msg, h);
            if (!conv) return;
            const slot = conv.secondPassCalls++;
            if (!wanted.get(conv.index)?.has(slot)) return;
            const f: Fetched = {
              callFrame: msg.frame, replyFrame: null, xid: h.xid, prog: h.prog, vers: h.vers, proc: h.proc,
              status: null, bodyStatus: null, leaves: new LeafCollector(MAX_LEAVES),
            };
            visitCall(h, m.args, record, ignore, f.leaves);
            got.set(`${conv.index}:${slot}`, f);
            pending.set(ex, f);
          } else {
            if (ex.reply !== msg) return;
            const f = pending.get(ex);
            if (!f) return;
            f.replyFrame = msg.frame;
            f.status = h.status;
            f.bodyStatus = bodyErrorName(m.res);
            visitReply(h, m.res, record, ignore, f.leaves);
          }
        },
        exchangeResolved(ex) {
          const f = pending.get(ex);
          if (!f) return;
          pending.delete(ex);
          if (!ex.reply) visitReply(null, null, null, ignore, f.leaves);
          if (--remaining === 0) throw new PassComplete();
        },
      },
    );
  } catch (err) {
    if (!(err instanceof PassComplete)) throw err;
  }
  return got;
}

function fieldDiff(base: Fetched | null, next: Fetched | null, max: number): { fields: FieldChange[]; omitted: number } {
  const all: FieldChange[] = [];
  const baseLeaves = base?.leaves.leaves ?? [];
  const newLeaves = next?.leaves.leaves ?? [];
  const newByPath = new Map<string, string>();
  for (const l of newLeaves) newByPath.set(l.path, l.text);
  const basePaths = new Set<string>();
  for (const l of baseLeaves) {
    basePaths.add(l.path);
    const t = newByPath.get(l.path);
    if (t === undefined) all.push({ path: l.path, change: "removed", base: l.text, new: null });
    else if (t !== l.text) all.push({ path: l.path, change: "changed", base: l.text, new: t });
  }
  for (const l of newLeaves) if (!basePaths.has(l.path)) all.push({ path: l.path, change: "added", base: null, new: l.text });
  const fields = all.slice(0, max);
  return { fields, omitted: all.length - fields.length };
}

function exchangeRef(t: Target, f: Fetched | undefined, fallback: { prog: number; vers: number; proc: number }, names: NameLookup): ExchangeRef {
  const triple = f ?? fallback;
  return {
    position: t.position,
    procName: escapeForTerminal(names.procedureName(triple.prog, triple.vers, triple.proc)),
    vers: triple.vers,
    proc: triple.proc,
    callFrame: f?.callFrame ?? null,
    replyFrame: f?.replyFrame ?? null,
    xid: f?.xid ?? null,
    status: f?.status ?? null,
    bodyStatus: f?.bodyStatus ? escapeForTerminal(f.bodyStatus) : null,
  };
}

function summaryOf(p: Profile): CaptureSummary {
  return {
    file: escapeForTerminal(p.label), frames: p.frames, messages: p.messages, exchanges: p.stats.totals.exchanges,
    calls: p.stats.totals.calls, conversations: p.conversations.list.length, exchangesNotAligned: p.conversations.untracked,
    truncated: p.truncation ? escapeForTerminal(p.truncation.message) : null,
  };
}

/** Compares two captures (two passes over each file at most). Throws what analyzeCapture throws. */
export async function diffCaptures(base: DiffInput, next: DiffInput, options: DiffOptions): Promise<DiffReport> {
  const baseStore = new ColumnStore(options.columns);
  const nextStore = new ColumnStore(options.columns);
  try {
    return await diffWithStores(base, next, options, baseStore, nextStore);
  } finally {
    baseStore.close();
    nextStore.close();
  }
}

async function diffWithStores(
  base: DiffInput, next: DiffInput, options: DiffOptions, baseStore: ColumnStore, nextStore: ColumnStore,
): Promise<DiffReport> {
  const ignorePatterns = options.ignore ?? DEFAULT_IGNORES;
  const ignore = new IgnoreSet(ignorePatterns);
  const ratio = options.latencyRatio ?? 1.5;
  const floor = options.latencyFloor ?? 0.001;
  const maxFields = options.maxFieldChanges ?? 50;
  const { names } = options;
  const ids = new ProcedureIds();
  const bp = await profileCapture(base, options, ids, ignore, baseStore);
  const np = await profileCapture(next, options, ids, ignore, nextStore);

  const { procedures, errors, latency } = compareProcedures(bp.stats, np.stats, names, ratio, floor);

  // Pair conversations: same alignKey, same ordinal.
  const newByAlign = new Map<string, Conversation>();
  for (const c of np.conversations.list) newByAlign.set(`${c.alignKey}#${c.ordinal}`, c);
  const paired = new Set<Conversation>();
  type Row = { b: Conversation | null; n: Conversation | null; findings: PairFindings | null };
  const rows: Row[] = [];
  let compared = 0;
  for (const b of bp.conversations.list) {
    const n = newByAlign.get(`${b.alignKey}#${b.ordinal}`) ?? null;
    if (n) {
      paired.add(n);
      compared++;
      const findings = comparePair(b, n, ids, names);
      if (findings.sequence || findings.body) rows.push({ b, n, findings });
    } else if (countValid(b) > 0) rows.push({ b, n: null, findings: null });
  }
  for (const n of np.conversations.list) if (!paired.has(n) && countValid(n) > 0) rows.push({ b: null, n, findings: null });

  // Pass 2 on each side, only for the exchanges shown.
  const baseWanted = new Map<number, Set<number>>();
  const newWanted = new Map<number, Set<number>>();
  const want = (into: Map<number, Set<number>>, conv: Conversation, t: Target | null): void => {
    if (!t) return;
    let s = into.get(conv.index);
    if (!s) into.set(conv.index, (s = new Set()));
    s.add(t.slot);
  };
  for (const r of rows) {
    const f = r.findings;
    if (!f) continue;
    want(baseWanted, f.b, f.sequence?.base ?? null);
    want(newWanted, f.n, f.sequence?.new ?? null);
    want(baseWanted, f.b, f.body?.base ?? null);
    want(newWanted, f.n, f.body?.new ?? null);
  }
  const baseGot = await fetchExchanges(base, options, ignore, baseWanted);
  const newGot = await fetchExchanges(next, options, ignore, newWanted);

  const conversations: ConversationDiff[] = rows.map((r) => {
    const any = (r.b ?? r.n)!;
    const fb = (t: Target | null): Fetched | null => (t && r.b ? baseGot.get(`${r.b.index}:${t.slot}`) ?? null : null);
    const fn = (t: Target | null): Fetched | null => (t && r.n ? newGot.get(`${r.n.index}:${t.slot}`) ?? null : null);
    const tripleAt = (c: Conversation | null, t: Target | null): { prog: number; vers: number; proc: number } =>
      (c && t ? ids.triples[c.cols.get(t.slot, PROC)] : undefined) ?? { prog: any.prog, vers: 0, proc: 0 };
    let sequence: SequenceDifference | null = null;
    let body: BodyDifference | null = null;
    const f = r.findings;
    if (f?.sequence) {
      const s = f.sequence;
      const bf = fb(s.base);
      const nf = fn(s.new);
      const d = fieldDiff(bf, nf, maxFields);
      sequence = {
        kind: s.kind, count: s.count,
        base: s.base ? exchangeRef(s.base, bf ?? undefined, tripleAt(r.b, s.base), names) : null,
        new: s.new ? exchangeRef(s.new, nf ?? undefined, tripleAt(r.n, s.new), names) : null,
        contextStart: s.contextStart, baseContext: s.baseContext, newContext: s.newContext, contextOmitted: s.contextOmitted,
        fields: d.fields, fieldsOmitted: d.omitted,
      };
    }
    if (f?.body) {
      const bf = fb(f.body.base);
      const nf = fn(f.body.new);
      const d = fieldDiff(bf, nf, maxFields);
      body = {
        base: exchangeRef(f.body.base, bf ?? undefined, tripleAt(r.b, f.body.base), names),
        new: exchangeRef(f.body.new, nf ?? undefined, tripleAt(r.n, f.body.new), names),
        fields: d.fields, fieldsOmitted: d.omitted,
      };
    }
    return {
      transport: any.transport, server: any.server, serverPort: any.serverPort, prog: any.prog,
      program: escapeForTerminal(names.programName(any.prog) ?? `prog-${any.prog}`), ordinal: any.ordinal + 1,
      presence: r.b && r.n ? "both" : r.b ? "base-only" : "new-only",
      baseClient: r.b ? endpoint(r.b.client, r.b.clientPort) : null,
      newClient: r.n ? endpoint(r.n.client, r.n.clientPort) : null,
      baseExchanges: r.b ? countValid(r.b) : 0,
      newExchanges: r.n ? countValid(r.n) : 0,
      sequence, body,
    };
  });

  const sequenceChanges = conversations.filter((c) => c.presence !== "both" || c.sequence !== null).length;
  return {
    base: summaryOf(bp),
    new: summaryOf(np),
    settings: {
      latencyRatio: ratio, latencyFloor: floor, ignore: ignorePatterns.map((p) => escapeForTerminal(p)),
      filter: options.filter ? escapeForTerminal(options.filter.source) : null,
    },
    procedures, errors, latency, conversations, conversationsCompared: compared,
    regressions: {
      errors: errors.filter((e) => e.change === "new" || e.change === "increased").length,
      latency: latency.length,
      procedures: procedures.length + sequenceChanges,
      bodies: conversations.filter((c) => c.body !== null).length,
    },
  };
}

// ---------------------------------------------------------------------------
// Output.

/** The report as one line of JSON (schema version 1; times in seconds). */
export function diffToJson(report: DiffReport, failOn: readonly DiffCategory[] = DIFF_CATEGORIES): string {
  return jsonSafeStringify({ version: 1, ...report, failOn, failing: failingCategories(report, failOn) });
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function frames(r: ExchangeRef): string {
  const call = r.callFrame === null ? "?" : String(r.callFrame);
  return r.replyFrame === null ? `frame ${call}, no reply` : `frames ${call}/${r.replyFrame}`;
}

function describeRef(r: ExchangeRef, withVersion = false): string {
  const status = r.status === null ? "" : `  ${r.bodyStatus ?? r.status}`;
  return `#${r.position} ${withVersion ? `v${r.vers} ` : ""}${r.procName}${status} (${frames(r)})`;
}

function fieldLines(fields: readonly FieldChange[], omitted: number, indent: string): string[] {
  const out: string[] = [];
  for (const f of fields) {
    if (f.change === "changed") out.push(`${indent}~ ${f.path}: ${f.base} → ${f.new}`);
    else if (f.change === "added") out.push(`${indent}+ ${f.path}: ${f.new}`);
    else out.push(`${indent}- ${f.path}: ${f.base}`);
  }
  if (omitted > 0) out.push(`${indent}… ${plural(omitted, "more field change")}`);
  return out;
}

function latencyText(m: LatencyMetric): string {
  const ratio = m.ratio === null ? "" : ` ×${m.ratio.toFixed(1)}`;
  return `${formatSeconds(m.base)} → ${formatSeconds(m.new)}${ratio}${m.regression ? " !" : ""}`;
}

/** The report for people. Every string in it was escaped when the report was made. */
export function formatDiffText(report: DiffReport, failOn: readonly DiffCategory[] = DIFF_CATEGORIES): string {
  const out: string[] = [];
  const side = (name: string, s: CaptureSummary): string =>
    `  ${name}  ${s.file}: ${plural(s.frames, "frame")}, ${plural(s.exchanges, "exchange")}, ${plural(s.conversations, "conversation")}` +
    (s.exchangesNotAligned ? ` (${plural(s.exchangesNotAligned, "call")} beyond the conversation limit not aligned)` : "") +
    (s.truncated ? ` (cut short: ${s.truncated})` : "");
  out.push("rpcscope diff", side("base", report.base), side("new ", report.new));
  if (report.settings.filter) out.push(`  filter: ${report.settings.filter}`);

  out.push("");
  if (report.procedures.length === 0) out.push("Procedures: no change in calls per procedure");
  else {
    out.push("Procedures:");
    for (const p of report.procedures) {
      const mark = p.change === "appeared" ? "+" : p.change === "disappeared" ? "-" : "~";
      out.push(`  ${mark} ${p.program} ${p.procName}: ${p.change === "count" ? "calls" : `${p.change}, calls`} ${p.baseCalls} → ${p.newCalls}`);
    }
  }

  out.push("");
  if (report.errors.length === 0) out.push("Error statuses: no change");
  else {
    out.push("Error statuses:");
    for (const e of report.errors) {
      out.push(`  ${e.change === "new" || e.change === "increased" ? "!" : " "} ${e.program} ${e.procName}: ${e.status} ${e.change}, ` +
        `${e.baseCount} of ${plural(e.baseCalls, "call")} → ${e.newCount} of ${plural(e.newCalls, "call")}`);
    }
  }

  out.push("");
  const rule = `p50 or p95 more than ×${report.settings.latencyRatio} and at least ${formatSeconds(report.settings.latencyFloor)} slower`;
  if (report.latency.length === 0) out.push(`Response times: no regression (${rule})`);
  else {
    out.push(`Response-time regressions (${rule}):`);
    for (const l of report.latency) {
      out.push(`  ! ${l.program} ${l.procName}: p50 ${latencyText(l.p50)}, p95 ${latencyText(l.p95)} (${l.baseCount} → ${l.newCount} replies)`);
    }
  }

  out.push("");
  const differing = report.conversations.length;
  out.push(differing === 0
    ? `Conversations: ${report.conversationsCompared} compared, no difference`
    : `Conversations: ${report.conversationsCompared} compared, ${differing} with differences:`);
  for (const c of report.conversations) {
    const title = `  ${c.transport} ${endpoint(c.server, c.serverPort)} ${c.program}` + (c.ordinal > 1 ? ` #${c.ordinal}` : "");
    if (c.presence === "base-only") {
      out.push(`${title}: only in base (client ${c.baseClient}, ${plural(c.baseExchanges, "exchange")})`);
      continue;
    }
    if (c.presence === "new-only") {
      out.push(`${title}: only in new (client ${c.newClient}, ${plural(c.newExchanges, "exchange")})`);
      continue;
    }
    out.push(`${title} (clients ${c.baseClient} → ${c.newClient}, ${c.baseExchanges} → ${c.newExchanges} exchanges)`);
    const s = c.sequence;
    if (s) {
      let what: string;
      if (s.kind === "inserted") what = `${plural(s.count, "exchange")} inserted in new at ${s.new ? describeRef(s.new) : "the end"}`;
      else if (s.kind === "removed") what = `${plural(s.count, "exchange")} of base missing in new from ${s.base ? describeRef(s.base) : "the end"}`;
      else {
        const withVersion = s.base !== null && s.new !== null && s.base.vers !== s.new.vers;
        const ref = (r: ExchangeRef | null): string => (r ? describeRef(r, withVersion) : "-");
        what = `procedures differ: base ${ref(s.base)}, new ${ref(s.new)}`;
      }
      out.push(`    first sequence difference: ${what}`);
      const ctx = (names: readonly string[], cut: boolean): string => {
        const listed = names.map((n, k) => `#${s.contextStart + k} ${n}`).join(", ");
        return cut && s.contextOmitted > 0 ? `${listed}, … and ${s.contextOmitted} more` : listed;
      };
      out.push(`      base: ${ctx(s.baseContext, s.kind === "removed") || "(none)"}`);
      out.push(`      new:  ${ctx(s.newContext, s.kind === "inserted") || "(none)"}`);
      out.push(...fieldLines(s.fields, s.fieldsOmitted, "      "));
    }
    const b = c.body;
    if (b) {
      out.push(`    first body difference: base ${describeRef(b.base)}, new ${describeRef(b.new)}`);
      out.push(...fieldLines(b.fields, b.fieldsOmitted, "      "));
    }
  }

  out.push("");
  const r = report.regressions;
  const failing = failingCategories(report, failOn);
  const counts = DIFF_CATEGORIES.filter((c) => r[c] > 0).map((c) => `${c} ${r[c]}`);
  if (counts.length === 0) out.push("No differences.");
  else {
    out.push(`Regressions: ${counts.join(", ")}` +
      (failing.length > 0 ? ` (failing on ${failing.join(", ")})` : ` (none of them in --fail-on ${failOn.join(",") || "(nothing)"})`));
  }
  return `${out.join("\n")}\n`;
}
