/**
 * Display-filter compiler: the checked tree from the parser becomes a tree of
 * closures, built once. Evaluating does no parsing, no regex compilation and,
 * on the common paths, no allocation (name look-ups are cached per NameLookup,
 * path walks reuse a stack owned by their closure).
 *
 * Semantics (also in filterHelp()):
 *  - A comparison with an absent field (no reply, body not decoded, no such
 *    path) is false. `A != B` is exactly `!(A == B)`, so it is true then.
 *  - A field with several values (port, frame of an exchange, kind of an
 *    exchange, status, op, issue, a path through an array) compares true if ANY
 *    value does; `!=` then means "no value equals" (Wireshark ≥ 3.6 semantics).
 *  - `in {A, B}` is `== A || == B`.
 */
import type { Auth, Exchange, LibvirtHeader, LibvirtMessage, RpcMessage } from "../../dissect/rpc-types.js";
import type { DecodedField } from "../../dissect/xdr-types.js";
import type { Issue } from "../../dissect/malformed.js";
import {
  builtinField, callHeaderOf, exchangeOf, findBodyStatus, libvirtClientIsSource, libvirtEndpointMessage,
  libvirtExchangeOf, libvirtHeaderOf, libvirtOutcomeHeaderOf, replyHeaderOf,
  type FilterSubject, type LibvirtFilterSubject, type NameLookup,
} from "./fields.js";
import { libvirtProcName } from "../libvirt-format.js";
import { formatExpr, literalText, parseFilter, type CompareOp, type Expr, type FieldRef, type Literal } from "./parser.js";

export type Predicate = (subject: FilterSubject) => boolean;

/** A compiled filter: call it with a subject. */
export interface CompiledFilter {
  (subject: FilterSubject): boolean;
  /** The text it was compiled from. */
  readonly source: string;
  /** The same filter printed canonically (symbolic operators, minimal parentheses). */
  readonly canonical: string;
  readonly ast: Expr;
  /** True if the result can depend on decoded bodies (args/res), so they must be decoded first. */
  readonly needsBody: boolean;
}

/** Parses, checks and compiles a filter. Throws FilterError (only) for a bad filter. */
export function compileFilter(source: string): CompiledFilter {
  const ast = parseFilter(source);
  const predicate = compileExpr(ast);
  const filter = (subject: FilterSubject): boolean => predicate(subject);
  return Object.assign(filter, { source, canonical: formatExpr(ast), ast, needsBody: exprNeedsBody(ast) });
}

export function exprNeedsBody(e: Expr): boolean {
  switch (e.kind) {
    case "and":
    case "or":
      return e.operands.some(exprNeedsBody);
    case "not":
      return exprNeedsBody(e.operand);
    case "compare":
    case "in":
    case "test":
      return e.field.kind !== "builtin" || builtinField(e.field.name)?.needsBody === true;
  }
}

/** True if the expression tests the built-in field `name` anywhere. */
export function exprUsesField(e: Expr, name: string): boolean {
  switch (e.kind) {
    case "and":
    case "or":
      return e.operands.some((o) => exprUsesField(o, name));
    case "not":
      return exprUsesField(e.operand, name);
    case "compare":
    case "in":
    case "test":
      return e.field.kind === "builtin" && e.field.name === name;
  }
}

export function compileExpr(e: Expr): Predicate {
  switch (e.kind) {
    case "and": {
      const ps = e.operands.map(compileExpr);
      if (ps.length === 2) {
        const [a, b] = ps as [Predicate, Predicate];
        return (s) => a(s) && b(s);
      }
      return (s) => {
        for (const p of ps) if (!p(s)) return false;
        return true;
      };
    }
    case "or": {
      const ps = e.operands.map(compileExpr);
      if (ps.length === 2) {
        const [a, b] = ps as [Predicate, Predicate];
        return (s) => a(s) || b(s);
      }
      return (s) => {
        for (const p of ps) if (p(s)) return true;
        return false;
      };
    }
    case "not": {
      const p = compileExpr(e.operand);
      return (s) => !p(s);
    }
    case "test":
      return compileTest(e.field);
    case "in": {
      const ps = e.values.map((v) => compileComparison(e.field, "==", v, null));
      return (s) => {
        for (const p of ps) if (p(s)) return true;
        return false;
      };
    }
    case "compare":
      if (e.op === "!=") {
        const eq = compileComparison(e.field, "==", e.value, null);
        return (s) => !eq(s);
      }
      return compileComparison(e.field, e.op, e.value, e.regex);
  }
}

// ---------------------------------------------------------------------------
// Small helpers that do not allocate.

function lowerAscii(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 32 : c;
}

/** a.slice(aStart) equals b, ignoring ASCII case. */
function regionEqualsIgnoreCase(a: string, aStart: number, b: string): boolean {
  if (a.length - aStart !== b.length) return false;
  for (let i = 0; i < b.length; i++) {
    if (lowerAscii(a.charCodeAt(aStart + i)) !== lowerAscii(b.charCodeAt(i))) return false;
  }
  return true;
}

function equalsIgnoreCase(a: string, b: string): boolean {
  return regionEqualsIgnoreCase(a, 0, b);
}

function startsWithIgnoreCase(a: string, prefix: string): boolean {
  if (a.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) {
    if (lowerAscii(a.charCodeAt(i)) !== lowerAscii(prefix.charCodeAt(i))) return false;
  }
  return true;
}

/** hay contains needle (already lower-cased), ignoring ASCII case. */
function includesIgnoreCase(hay: string, needleLower: string): boolean {
  const n = needleLower.length;
  outer: for (let i = 0; i + n <= hay.length; i++) {
    for (let k = 0; k < n; k++) {
      if (lowerAscii(hay.charCodeAt(i + k)) !== needleLower.charCodeAt(k)) continue outer;
    }
    return true;
  }
  return false;
}

const PROGRAM_SUFFIXES = ["_PROGRAM", "_PROG", "PROG", "_PROGRAMS"];

/** `nfs` names NFS_PROGRAM, MOUNTPROG is `mount`, and so on. */
function programNameMatches(name: string, word: string): boolean {
  if (equalsIgnoreCase(name, word)) return true;
  if (!startsWithIgnoreCase(name, word)) return false;
  for (const suffix of PROGRAM_SUFFIXES) if (regionEqualsIgnoreCase(name, word.length, suffix)) return true;
  return false;
}

/** `READ` names NFSPROC3_READ (the part after the last '_' of the registry's name). */
function procedureNameMatches(name: string, word: string): boolean {
  if (equalsIgnoreCase(name, word)) return true;
  const start = name.length - word.length;
  return start > 0 && name.charCodeAt(start - 1) === 0x5f && regionEqualsIgnoreCase(name, start, word);
}

/** `READ` and `OP_READ` both name OP_READ; `wordNoPrefix` has had its OP_ removed. */
function opNameMatches(name: string, wordNoPrefix: string): boolean {
  return regionEqualsIgnoreCase(name, startsWithIgnoreCase(name, "OP_") ? 3 : 0, wordNoPrefix);
}

type NumberTest = (v: number) => boolean;

function literalNumber(lit: Literal): number {
  switch (lit.kind) {
    case "number": return lit.value;
    case "size": return lit.bytes;
    case "duration": return lit.seconds;
    default: return Number.NaN;
  }
}

function numberTest(op: CompareOp, x: number): NumberTest {
  switch (op) {
    case "<": return (v) => v < x;
    case "<=": return (v) => v <= x;
    case ">": return (v) => v > x;
    case ">=": return (v) => v >= x;
    default: return (v) => v === x;
  }
}

function bigTest(op: CompareOp, x: bigint): (v: bigint) => boolean {
  switch (op) {
    case "<": return (v) => v < x;
    case "<=": return (v) => v <= x;
    case ">": return (v) => v > x;
    case ">=": return (v) => v >= x;
    default: return (v) => v === x;
  }
}

type TextTest = (t: string) => boolean;

/** contains / matches on a text value; names (caseless) compare `contains` ignoring case. */
function textualTest(op: "contains" | "matches", lit: Literal, regex: RegExp | null, caseless: boolean): TextTest {
  if (op === "matches") {
    const re = regex ?? new RegExp("");
    return (t) => re.test(t);
  }
  const needle = literalText(lit);
  if (caseless) {
    const lower = needle.toLowerCase();
    return (t) => includesIgnoreCase(t, lower);
  }
  return (t) => t.includes(needle);
}

const utf8 = new TextEncoder();

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function bytesInclude(hay: Uint8Array, needle: Uint8Array): boolean {
  const n = needle.length;
  if (n === 0) return true;
  const first = needle[0]!;
  outer: for (let i = hay.indexOf(first); i >= 0 && i + n <= hay.length; i = hay.indexOf(first, i + 1)) {
    for (let k = 1; k < n; k++) if (hay[i + k] !== needle[k]) continue outer;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Builtin fields.

function messageIssuesHave(m: RpcMessage | null | undefined, codes: ReadonlySet<string>): boolean {
  if (!m) return false;
  for (const i of m.issues) if (codes.has(i.code)) return true;
  return false;
}

function listHas(issues: readonly Issue[] | undefined, codes: ReadonlySet<string>): boolean {
  if (!issues) return false;
  for (const i of issues) if (codes.has(i.code)) return true;
  return false;
}

const MALFORMED_CODES: ReadonlySet<string> = new Set(["malformed", "truncated"]);
const RETRANSMISSION_CODES: ReadonlySet<string> = new Set(["retransmission"]);

/** Reused by treeHasMalformed (evaluation is synchronous and this walk does not nest). */
const malformedStack: DecodedField[] = [];

function treeHasMalformed(root: DecodedField | null): boolean {
  if (!root) return false;
  const stack = malformedStack;
  stack.length = 0;
  stack.push(root);
  while (stack.length > 0) {
    const f = stack.pop()!;
    const v = f.value;
    switch (v.kind) {
      case "malformed": stack.length = 0; return true;
      case "struct": for (const c of v.fields) stack.push(c); break;
      case "union": stack.push(v.disc); if (v.arm) stack.push(v.arm); break;
      case "array": for (const c of v.elements) stack.push(c); break;
      case "optional": if (v.value) stack.push(v.value); break;
      default: break;
    }
  }
  return false;
}

function isMalformed(s: FilterSubject): boolean {
  const m = s.message;
  const ex = exchangeOf(s);
  if (m) {
    if (m.header === null || messageIssuesHave(m, MALFORMED_CODES)) return true;
  } else if (ex) {
    if ((ex.call && (ex.call.header === null || messageIssuesHave(ex.call, MALFORMED_CODES))) ||
        (ex.reply && (ex.reply.header === null || messageIssuesHave(ex.reply, MALFORMED_CODES)))) return true;
  }
  if (ex && listHas(ex.issues, MALFORMED_CODES)) return true;
  return treeHasMalformed(s.args) || treeHasMalformed(s.res);
}

function isError(s: FilterSubject): boolean {
  const r = replyHeaderOf(s);
  if (r && r.status !== "SUCCESS") return true;
  const st = findBodyStatus(s.res);
  return st !== null && st.value !== 0;
}

function isUnmatched(s: FilterSubject): boolean {
  const ex = exchangeOf(s);
  return ex === null || ex.call === null || ex.reply === null;
}

function isRetransmission(s: FilterSubject): boolean {
  const ex = exchangeOf(s);
  return (ex !== null && ex.retransmits > 0) || messageIssuesHave(s.message, RETRANSMISSION_CODES);
}

function compileTest(field: FieldRef): Predicate {
  if (field.kind === "builtin") {
    switch (field.name) {
      case "unmatched": return (s) => { const lv = s.libvirt; return lv ? libvirtUnmatched(lv) : isUnmatched(s); };
      case "malformed": return (s) => { const lv = s.libvirt; return lv ? libvirtMalformed(lv, s) : isMalformed(s); };
      case "retransmission": return isRetransmission; // false for libvirt: no exchange, no message
      case "error": return (s) => { const lv = s.libvirt; return lv ? libvirtOutcomeHeaderOf(lv)?.statusName === "ERROR" : isError(s); };
      case "rpc": return (s) => !s.libvirt && (s.exchange !== null || s.message !== null);
      case "libvirt": return (s) => !!s.libvirt;
      default: return () => false; // the parser admits only flags here
    }
  }
  return compilePathWalk(field.root, field.path, "present", () => true);
}

function compileComparison(field: FieldRef, op: CompareOp, lit: Literal, regex: RegExp | null): Predicate {
  if (field.kind === "path") return compilePathWalk(field.root, field.path, "compare", decodedTest(op, lit, regex));
  if (field.kind === "len") return compilePathWalk(field.root, field.path, "length", lengthTest(numberTest(op, literalNumber(lit))));
  const lv = compileLibvirtComparison(field.name, op, lit, regex);
  // ONC-RPC-only fields (xid, auth, uid…) are already false on a libvirt subject
  // (it has no ONC-RPC exchange or message), so they run unwrapped.
  if (lv === null) return compileRpcComparison(field, op, lit, regex);
  if (field.name.startsWith("libvirt.")) {
    return (s) => {
      const l = s.libvirt;
      return l ? lv(l, s) : false;
    };
  }
  const onc = compileRpcComparison(field, op, lit, regex);
  return (s) => {
    const l = s.libvirt;
    return l ? lv(l, s) : onc(s);
  };
}

/** A builtin field on an ONC-RPC subject. */
function compileRpcComparison(field: FieldRef & { kind: "builtin" }, op: CompareOp, lit: Literal, regex: RegExp | null): Predicate {
  const textual = op === "contains" || op === "matches";
  const num = numberTest(op, literalNumber(lit));
  switch (field.name) {
    case "vers":
      return (s) => { const h = callHeaderOf(s); return h !== null && num(h.vers); };
    case "xid":
      return (s) => {
        const h = s.message?.header;
        if (h) return num(h.xid);
        const ex = exchangeOf(s);
        return ex !== null && num(ex.xid);
      };
    case "uid":
      return (s) => { const c = callHeaderOf(s)?.cred; return c !== undefined && c.kind === "sys" && num(c.uid); };
    case "gid":
      return (s) => {
        const c = callHeaderOf(s)?.cred;
        if (c === undefined || c.kind !== "sys") return false;
        if (num(c.gid)) return true;
        for (const g of c.gids) if (num(g)) return true;
        return false;
      };
    case "port":
      return (s) => {
        const m = endpointMessage(s);
        return m !== null && (num(m.sport) || num(m.dport));
      };
    case "rtt":
      return (s) => { const rtt = exchangeOf(s)?.rtt; return rtt !== null && rtt !== undefined && num(rtt); };
    case "size":
      return (s) => {
        if (s.message) return num(s.message.length);
        const ex = exchangeOf(s);
        if (!ex || (!ex.call && !ex.reply)) return false;
        return num((ex.call?.length ?? 0) + (ex.reply?.length ?? 0));
      };
    case "frame":
      return (s) => {
        if (s.message) return num(s.message.frame);
        const ex = exchangeOf(s);
        return ex !== null && ((ex.call !== null && num(ex.call.frame)) || (ex.reply !== null && num(ex.reply.frame)));
      };
    case "machine": {
      const t = textual ? textualTest(op, lit, regex, false) : equalText(literalText(lit));
      return (s) => { const c = callHeaderOf(s)?.cred; return c !== undefined && c.kind === "sys" && t(c.machinename); };
    }
    case "transport": {
      const t = textual ? textualTest(op, lit, regex, true) : equalNameText(literalText(lit));
      return (s) => { const tr = s.message?.transport ?? exchangeOf(s)?.transport; return tr !== undefined && t(tr); };
    }
    case "kind": {
      const t = textual ? textualTest(op, lit, regex, true) : equalNameText(literalText(lit));
      return (s) => {
        const h = s.message?.header;
        if (h) return t(h.kind);
        if (s.message) return false;
        const ex = exchangeOf(s);
        return ex !== null && ((ex.call !== null && t("call")) || (ex.reply !== null && t("reply")));
      };
    }
    case "issue": {
      const t = textual ? textualTest(op, lit, regex, true) : equalNameText(literalText(lit));
      const anyIssue = (list: readonly Issue[] | undefined): boolean => {
        if (list) for (const i of list) if (t(i.code)) return true;
        return false;
      };
      return (s) => {
        const ex = exchangeOf(s);
        if (s.message) return anyIssue(s.message.issues) || anyIssue(ex?.issues);
        return ex !== null && (anyIssue(ex.issues) || anyIssue(ex.call?.issues) || anyIssue(ex.reply?.issues));
      };
    }
    case "client":
    case "server":
      return compileAddress(field.name === "client", op, lit, regex);
    case "prog":
      return compileProg(op, lit, regex, num);
    case "proc":
      return compileProc(op, lit, regex, num);
    case "status":
      return compileStatus(op, lit, regex, num);
    case "auth":
      return compileAuth(op, lit, regex, num);
    case "op": {
      // Body unions of libvirt are never NFSv4 operations.
      const p = compileOp(op, lit, regex, num);
      return (s) => !s.libvirt && p(s);
    }
    default:
      return () => false; // the parser admits only known fields; libvirt.* are false here
  }
}

function equalText(text: string): TextTest {
  return (t) => t === text;
}

function equalNameText(text: string): TextTest {
  return (t) => equalsIgnoreCase(t, text);
}

function compileProg(op: CompareOp, lit: Literal, regex: RegExp | null, num: NumberTest): Predicate {
  if (lit.kind === "number") return (s) => { const h = callHeaderOf(s); return h !== null && num(h.prog); };
  if (op === "contains" || op === "matches") {
    const t = textualTest(op, lit, regex, true);
    return (s) => {
      const h = callHeaderOf(s);
      const name = h ? s.names.programName(h.prog) : undefined;
      return name !== undefined && t(name);
    };
  }
  const isProgram = programTest(literalText(lit));
  return (s) => {
    const h = callHeaderOf(s);
    return h !== null && isProgram(h.prog, s.names);
  };
}

/**
 * Whether a program number is the one a word names (its number as the names
 * know it, or a name that matches). The word's number is looked up once per
 * name table, not per message.
 */
function programTest(word: string): (prog: number, names: NameLookup) => boolean {
  let cachedNames: NameLookup | null = null;
  let cachedNumber: number | undefined;
  return (prog, names) => {
    if (names !== cachedNames) {
      cachedNames = names;
      cachedNumber = names.programNumber(word);
    }
    if (cachedNumber !== undefined && prog === cachedNumber) return true;
    const name = names.programName(prog);
    return name !== undefined && programNameMatches(name, word);
  };
}

function compileProc(op: CompareOp, lit: Literal, regex: RegExp | null, num: NumberTest): Predicate {
  if (lit.kind === "number") return (s) => { const h = callHeaderOf(s); return h !== null && num(h.proc); };
  const t: TextTest = op === "contains" || op === "matches"
    ? textualTest(op, lit, regex, true)
    : ((word) => (name: string) => procedureNameMatches(name, word))(literalText(lit));
  return (s) => {
    const h = callHeaderOf(s);
    return h !== null && t(s.names.procedureName(h.prog, h.vers, h.proc));
  };
}

function compileStatus(op: CompareOp, lit: Literal, regex: RegExp | null, num: NumberTest): Predicate {
  if (lit.kind === "number") {
    return (s) => { const st = findBodyStatus(s.res); return st !== null && num(st.value); };
  }
  const t = op === "contains" || op === "matches" ? textualTest(op, lit, regex, true) : equalNameText(literalText(lit));
  return (s) => {
    const r = replyHeaderOf(s);
    if (r && t(r.status)) return true;
    const name = findBodyStatus(s.res)?.name;
    return name !== undefined && name !== null && t(name);
  };
}

const FLAVOR_ALIASES: ReadonlyMap<string, Auth["kind"]> = new Map<string, Auth["kind"]>([
  ["none", "none"], ["null", "none"], ["auth_none", "none"], ["auth_null", "none"],
  ["sys", "sys"], ["unix", "sys"], ["auth_sys", "sys"], ["auth_unix", "sys"],
  ["short", "short"], ["auth_short", "short"],
  ["dh", "dh"], ["des", "dh"], ["auth_dh", "dh"], ["auth_des", "dh"],
  ["gss", "gss"], ["rpcsec_gss", "gss"], ["tls", "tls"], ["auth_tls", "tls"], ["opaque", "opaque"],
]);

function compileAuth(op: CompareOp, lit: Literal, regex: RegExp | null, num: NumberTest): Predicate {
  if (lit.kind === "number") return (s) => { const h = callHeaderOf(s); return h !== null && num(h.cred.flavor); };
  if (op === "contains" || op === "matches") {
    const t = textualTest(op, lit, regex, true);
    return (s) => { const h = callHeaderOf(s); return h !== null && t(h.cred.kind); };
  }
  const kind = FLAVOR_ALIASES.get(literalText(lit).toLowerCase());
  return (s) => { const h = callHeaderOf(s); return h !== null && h.cred.kind === kind; };
}

/** Whether a union is one NFSv4 COMPOUND operation (nfs_argop4 / nfs_resop4 and the callback ones). */
function opDiscriminant(f: DecodedField): { value: number; name: string | null } | null {
  const v = f.value;
  if (v.kind !== "union") return null;
  const d = v.disc;
  if (d.value.kind !== "enum") return null;
  if (d.name === "argop" || d.name === "resop" || (d.value.name !== null && d.value.name.startsWith("OP_"))) return d.value;
  return null;
}

/** Operations sit at args.argarray[i] / res.resarray[i]; deeper levels are not searched. */
const MAX_OP_DEPTH = 4;

function compileOp(op: CompareOp, lit: Literal, regex: RegExp | null, num: NumberTest): Predicate {
  let test: (value: number, name: string | null) => boolean;
  if (lit.kind === "number") test = (value) => num(value);
  else if (op === "contains" || op === "matches") {
    const t = textualTest(op, lit, regex, true);
    test = (_value, name) => name !== null && t(name);
  } else {
    const word = literalText(lit);
    const bare = startsWithIgnoreCase(word, "OP_") ? word.slice(3) : word;
    test = (_value, name) => name !== null && opNameMatches(name, bare);
  }
  const nodes: DecodedField[] = [];
  const depths: number[] = [];
  const scan = (root: DecodedField | null): boolean => {
    if (!root) return false;
    nodes.length = 0;
    depths.length = 0;
    nodes.push(root);
    depths.push(0);
    while (nodes.length > 0) {
      const f = nodes.pop()!;
      const depth = depths.pop()!;
      const d = opDiscriminant(f);
      if (d) {
        if (test(d.value, d.name)) return true;
        continue;
      }
      if (depth >= MAX_OP_DEPTH) continue;
      const v = f.value;
      if (v.kind === "struct") for (const c of v.fields) { nodes.push(c); depths.push(depth + 1); }
      else if (v.kind === "array") for (const c of v.elements) { nodes.push(c); depths.push(depth + 1); }
      else if (v.kind === "optional" && v.value) { nodes.push(v.value); depths.push(depth + 1); }
    }
    return false;
  };
  return (s) => scan(s.args) || scan(s.res);
}

// ---------------------------------------------------------------------------
// Addresses.

/** The message whose ports describe the conversation. */
function endpointMessage(s: FilterSubject): RpcMessage | null {
  if (s.message) return s.message;
  const ex = exchangeOf(s);
  return ex ? ex.call ?? ex.reply : null;
}

/**
 * The message to read an endpoint from, and whether the client is its source.
 * Written to module-level scratch to avoid an object per evaluation.
 */
let endpointClientIsSrc = true;

function directedMessage(s: FilterSubject): RpcMessage | null {
  const m = s.message;
  if (m && m.header) {
    endpointClientIsSrc = m.header.kind === "call";
    return m;
  }
  const ex: Exchange | null = exchangeOf(s);
  if (ex?.call) {
    endpointClientIsSrc = true;
    return ex.call;
  }
  if (ex?.reply) {
    endpointClientIsSrc = false;
    return ex.reply;
  }
  return null;
}

/** `10.0.0.1`, `10.0.0.1:2049`, `fe80::1`, `[fe80::1]:2049`. */
export function parseEndpoint(text: string): { addr: string; port: number | null } {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close > 0) {
      const rest = text.slice(close + 1);
      if (rest === "") return { addr: text.slice(1, close), port: null };
      if (/^:\d{1,5}$/.test(rest)) return { addr: text.slice(1, close), port: Number(rest.slice(1)) };
    }
    return { addr: text, port: null };
  }
  const colon = text.indexOf(":");
  if (colon > 0 && colon === text.lastIndexOf(":") && /^\d{1,5}$/.test(text.slice(colon + 1))) {
    return { addr: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
  }
  return { addr: text, port: null };
}

function formatEndpoint(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

type EndpointTest = (addr: string, port: number) => boolean;

function compileAddress(client: boolean, op: CompareOp, lit: Literal, regex: RegExp | null): Predicate {
  const test = endpointTest(op, lit, regex);
  return (s) => {
    const m = directedMessage(s);
    if (!m) return false;
    return client === endpointClientIsSrc ? test(m.src, m.sport) : test(m.dst, m.dport);
  };
}

function endpointTest(op: CompareOp, lit: Literal, regex: RegExp | null): EndpointTest {
  let test: EndpointTest;
  if (op === "matches") {
    const re = regex ?? new RegExp("");
    test = (addr, port) => re.test(addr) || re.test(formatEndpoint(addr, port));
  } else if (op === "contains") {
    const text = literalText(lit);
    const lower = text.toLowerCase();
    const withPort = text.includes(":");
    test = (addr, port) => includesIgnoreCase(addr, lower) || (withPort && includesIgnoreCase(formatEndpoint(addr, port), lower));
  } else {
    const want = parseEndpoint(literalText(lit));
    test = (addr, port) => equalsIgnoreCase(addr, want.addr) && (want.port === null || want.port === port);
  }
  return test;
}

// ---------------------------------------------------------------------------
// libvirt messages and exchanges (FilterSubject.libvirt). The generic fields
// read the libvirt header; a field that exists only for ONC-RPC gets null here.

type LibvirtPredicate = (lv: LibvirtFilterSubject, s: FilterSubject) => boolean;
type HeaderTest = (h: LibvirtHeader) => boolean;

/** True if `test` holds for the message's header, or (a whole exchange) for its call's or its reply's. */
function anyLibvirtHeader(lv: LibvirtFilterSubject, test: HeaderTest): boolean {
  const m = lv.message;
  if (m) return m.header !== null && test(m.header);
  const ex = lv.exchange;
  if (!ex) return false;
  const c = ex.call?.header;
  if (c && test(c)) return true;
  const r = ex.reply?.header;
  return r !== null && r !== undefined && test(r);
}

/** The message's own header; for an exchange, the reply's (how it ended), else the call's. */
function ownLibvirtHeader(lv: LibvirtFilterSubject): LibvirtHeader | null {
  const m = lv.message;
  if (m) return m.header;
  const ex = lv.exchange;
  return ex?.reply?.header ?? ex?.call?.header ?? null;
}

function someIssue(issues: readonly Issue[] | undefined, test: TextTest): boolean {
  if (issues) for (const i of issues) if (test(i.code)) return true;
  return false;
}

function anyLibvirtIssue(lv: LibvirtFilterSubject, test: TextTest): boolean {
  const ex = libvirtExchangeOf(lv);
  if (lv.message) return someIssue(lv.message.issues, test) || someIssue(ex?.issues, test);
  return ex !== null && (someIssue(ex.issues, test) || someIssue(ex.call?.issues, test) || someIssue(ex.reply?.issues, test));
}

/** A call or reply still missing its other side; events and stream data stand alone. */
function libvirtUnmatched(lv: LibvirtFilterSubject): boolean {
  const m = lv.message;
  if (m) {
    const kind = m.header?.kind;
    if (kind === "message" || kind === "stream") return false;
  }
  const ex = libvirtExchangeOf(lv);
  return ex === null || ex.call === null || ex.reply === null;
}

function libvirtMessageMalformed(m: LibvirtMessage | null): boolean {
  if (!m) return false;
  if (m.header === null) return true;
  for (const i of m.issues) if (MALFORMED_CODES.has(i.code)) return true;
  return false;
}

function libvirtMalformed(lv: LibvirtFilterSubject, s: FilterSubject): boolean {
  const ex = libvirtExchangeOf(lv);
  if (lv.message) {
    if (libvirtMessageMalformed(lv.message)) return true;
  } else if (ex && (libvirtMessageMalformed(ex.call) || libvirtMessageMalformed(ex.reply))) return true;
  if (ex && listHas(ex.issues, MALFORMED_CODES)) return true;
  return treeHasMalformed(s.args) || treeHasMalformed(s.res);
}

/** The `message` text of a decoded remote_error (virNetMessageError), or null. */
function remoteErrorText(f: DecodedField | null): string | null {
  if (!f || f.value.kind !== "struct") return null;
  for (const c of f.value.fields) {
    if (c.name !== "message") continue;
    const v = c.value.kind === "optional" ? c.value.value?.value : c.value;
    return v && v.kind === "string" ? v.text : null;
  }
  return null;
}

/** `REMOTE_PROC_DOMAIN_GET_INFO` is written as libvirt's enum names it: compare what follows `_PROC_`. */
function withoutProcPrefix(word: string): string {
  const upper = word.toUpperCase();
  const at = upper.indexOf("_PROC_");
  return at > 0 ? word.slice(at + 6) : word;
}

const LIBVIRT_KIND_ALIASES: ReadonlyMap<string, string> = new Map([["event", "message"]]);

function compileLibvirtComparison(name: string, op: CompareOp, lit: Literal, regex: RegExp | null): LibvirtPredicate | null {
  const textual = op === "contains" || op === "matches";
  const num = numberTest(op, literalNumber(lit));
  const nameTest = (): TextTest => (textual ? textualTest(op, lit, regex, true) : equalNameText(literalText(lit)));
  switch (name) {
    case "prog": {
      if (lit.kind === "number") return (lv) => { const h = libvirtHeaderOf(lv); return h !== null && num(h.prog); };
      if (textual) {
        const t = textualTest(op, lit, regex, true);
        return (lv, s) => {
          const h = libvirtHeaderOf(lv);
          const n = h ? s.names.programName(h.prog) : undefined;
          return n !== undefined && t(n);
        };
      }
      const isProgram = programTest(literalText(lit));
      return (lv, s) => {
        const h = libvirtHeaderOf(lv);
        return h !== null && isProgram(h.prog, s.names);
      };
    }
    case "vers":
      return (lv) => { const h = libvirtHeaderOf(lv); return h !== null && num(h.vers); };
    case "proc": {
      if (lit.kind === "number") return (lv) => { const h = libvirtHeaderOf(lv); return h !== null && num(h.proc); };
      const t: TextTest = textual
        ? textualTest(op, lit, regex, true)
        : ((word) => (n: string) => procedureNameMatches(n, word))(withoutProcPrefix(literalText(lit)));
      return (lv, s) => { const h = libvirtHeaderOf(lv); return h !== null && t(libvirtProcName(s.names, h)); };
    }
    case "kind": {
      const word = literalText(lit).toLowerCase();
      const t = textual ? textualTest(op, lit, regex, true) : equalNameText(LIBVIRT_KIND_ALIASES.get(word) ?? word);
      return (lv) => {
        const m = lv.message;
        if (m) return m.header !== null && t(m.header.kind);
        const ex = lv.exchange;
        return ex !== null && ((ex.call !== null && t("call")) || (ex.reply !== null && t("reply")));
      };
    }
    case "status": {
      if (lit.kind === "number") return (lv) => { const h = libvirtOutcomeHeaderOf(lv); return h !== null && num(h.status); };
      const t = nameTest();
      return (lv) => { const h = libvirtOutcomeHeaderOf(lv); return h !== null && t(h.statusName); };
    }
    case "rtt":
      return (lv) => { const rtt = libvirtExchangeOf(lv)?.rtt; return rtt !== null && rtt !== undefined && num(rtt); };
    case "size":
      return (lv) => {
        if (lv.message) return num(lv.message.length);
        const ex = lv.exchange;
        if (!ex || (!ex.call && !ex.reply)) return false;
        return num((ex.call?.length ?? 0) + (ex.reply?.length ?? 0));
      };
    case "frame":
      return (lv) => {
        if (lv.message) return num(lv.message.frame);
        const ex = lv.exchange;
        return ex !== null && ((ex.call !== null && num(ex.call.frame)) || (ex.reply !== null && num(ex.reply.frame)));
      };
    case "transport": {
      const t = nameTest();
      return (lv) => { const m = libvirtEndpointMessage(lv); return m !== null && t(m.transport); };
    }
    case "issue": {
      const t = nameTest();
      return (lv) => anyLibvirtIssue(lv, t);
    }
    case "port":
      return (lv) => { const m = libvirtEndpointMessage(lv); return m !== null && (num(m.sport) || num(m.dport)); };
    case "client":
    case "server": {
      const test = endpointTest(op, lit, regex);
      const client = name === "client";
      return (lv) => {
        const m = libvirtEndpointMessage(lv);
        if (!m) return false;
        return client === libvirtClientIsSource(m) ? test(m.src, m.sport) : test(m.dst, m.dport);
      };
    }
    case "libvirt.type": {
      if (lit.kind === "number") return (lv) => anyLibvirtHeader(lv, (h) => num(h.type));
      const t = nameTest();
      return (lv) => anyLibvirtHeader(lv, (h) => t(h.typeName));
    }
    case "libvirt.serial":
      return (lv) => {
        const h = ownLibvirtHeader(lv);
        if (h) return num(h.serial);
        const ex = libvirtExchangeOf(lv);
        return ex !== null && num(ex.serial);
      };
    case "libvirt.status": {
      if (lit.kind === "number") return (lv) => { const h = ownLibvirtHeader(lv); return h !== null && num(h.status); };
      const t = nameTest();
      return (lv) => { const h = ownLibvirtHeader(lv); return h !== null && t(h.statusName); };
    }
    case "libvirt.error": {
      const t = textual ? textualTest(op, lit, regex, false) : equalText(literalText(lit));
      return (lv, s) => {
        if (libvirtOutcomeHeaderOf(lv)?.statusName !== "ERROR") return false;
        const text = remoteErrorText(s.res);
        return text !== null && t(text);
      };
    }
    default:
      return null; // xid, auth, uid, gid, machine, op: ONC-RPC only
  }
}

// ---------------------------------------------------------------------------
// Decoded bodies.

type DecodedTest = (f: DecodedField) => boolean;

/** The discriminant a union compares as (unions of unions included). */
function scalarOf(f: DecodedField): DecodedField {
  let cur = f;
  for (let guard = 0; cur.value.kind === "union" && guard < 64; guard++) cur = cur.value.disc;
  return cur;
}

function decodedTest(op: CompareOp, lit: Literal, regex: RegExp | null): DecodedTest {
  if (op === "matches") {
    const re = regex ?? new RegExp("");
    return (f) => {
      const v = scalarOf(f).value;
      if (v.kind === "string") return re.test(v.text);
      if (v.kind === "enum") return v.name !== null && re.test(v.name);
      return false;
    };
  }
  if (op === "contains") {
    const needle = literalText(lit);
    const needleBytes = utf8.encode(needle);
    const lower = needle.toLowerCase();
    return (f) => {
      const v = scalarOf(f).value;
      if (v.kind === "string") return v.text.includes(needle);
      if (v.kind === "opaque") return bytesInclude(v.bytes, needleBytes);
      if (v.kind === "enum") return v.name !== null && includesIgnoreCase(v.name, lower);
      return false;
    };
  }
  if (lit.kind === "number" || lit.kind === "size" || lit.kind === "duration") {
    const num = numberTest(op, literalNumber(lit));
    const big = lit.kind === "number" && lit.big !== null ? bigTest(op, lit.big) : null;
    return (f) => {
      const v = scalarOf(f).value;
      switch (v.kind) {
        case "int": case "float": case "enum": return num(v.value);
        case "hyper": return big ? big(v.value) : num(Number(v.value));
        case "bool": return num(v.raw);
        default: return false;
      }
    };
  }
  const text = literalText(lit);
  const bytes = utf8.encode(text);
  const boolWord = equalsIgnoreCase(text, "true") ? true : equalsIgnoreCase(text, "false") ? false : null;
  const quoted = lit.kind === "string";
  return (f) => {
    const v = scalarOf(f).value;
    switch (v.kind) {
      case "string": return v.text === text;
      case "opaque": return bytesEqual(v.bytes, bytes);
      case "enum": return v.name !== null && equalsIgnoreCase(v.name, text);
      case "bool": return !quoted && boolWord !== null && v.value === boolWord;
      default: return false;
    }
  };
}

function lengthTest(num: NumberTest): DecodedTest {
  return (f) => {
    const v = f.value;
    if (v.kind === "string" || v.kind === "opaque") return num(v.bytes.length);
    if (v.kind === "array") return num(v.count);
    return false;
  };
}

/**
 * Walks args/res along `path` and applies `test` to what the path names; true
 * as soon as one node passes. Arrays, optional data and union arms whose names
 * are not in the path are stepped through, so every array element is tried.
 * Uses an explicit stack (owned by this closure, reused) rather than recursion:
 * body trees can be as deep as the decoder's limits allow.
 */
function compilePathWalk(
  root: "args" | "res", path: readonly string[], mode: "compare" | "length" | "present", test: DecodedTest,
): Predicate {
  const nodes: DecodedField[] = [];
  const steps: number[] = [];
  const end = path.length;
  return (s) => {
    const start = root === "args" ? s.args : s.res;
    if (!start) return false;
    nodes.length = 0;
    steps.length = 0;
    nodes.push(start);
    steps.push(0);
    while (nodes.length > 0) {
      const f = nodes.pop()!;
      const i = steps.pop()!;
      const v = f.value;
      if (i === end) {
        if (v.kind === "optional") {
          if (v.value) { nodes.push(v.value); steps.push(i); }
          continue;
        }
        if (v.kind === "array" && mode === "compare") {
          for (const e of v.elements) { nodes.push(e); steps.push(i); }
          continue;
        }
        if (mode === "present" || test(f)) return true;
        continue;
      }
      const name = path[i]!;
      switch (v.kind) {
        case "struct":
          for (const c of v.fields) if (c.name === name) { nodes.push(c); steps.push(i + 1); }
          break;
        case "union":
          if (v.disc.name === name) { nodes.push(v.disc); steps.push(i + 1); }
          else if (v.arm) { nodes.push(v.arm); steps.push(v.arm.name === name ? i + 1 : i); }
          break;
        case "array":
          for (const e of v.elements) { nodes.push(e); steps.push(i); }
          break;
        case "optional":
          if (v.value) { nodes.push(v.value); steps.push(i); }
          break;
        default:
          break;
      }
    }
    return false;
  };
}

// One import point for the CLI and the TUI.
export { FilterError } from "./lexer.js";
export { filterErrorPointer } from "./parser.js";
export { filterHelp, describeFields, bodyErrorName, findBodyStatus } from "./fields.js";
export type { FilterSubject, NameLookup } from "./fields.js";
