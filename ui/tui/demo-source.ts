/**
 * A synthetic TuiDataSource: any number of rows computed from their index (no
 * storage per row), details built on demand as real XDR bytes with a matching
 * tree, a toy filter language, optional live growth and background "loading".
 * Used by the demo program and the tests; the real source is the CLI's.
 *
 * Row 7 is hostile on purpose: its strings hold terminal escape sequences.
 */
import type {
  Detail, DetailBytes, ExchangeRow, FilterResult, Progress, TreeNode, TuiDataSource,
} from "./data-source.js";

export interface DemoOptions {
  /** Rows available at once (or at the end of the simulated loading). */
  readonly rows: number;
  /** Add `liveRowsPerTick` rows every `liveIntervalMs`. */
  readonly live?: boolean;
  readonly liveIntervalMs?: number;
  readonly liveRowsPerTick?: number;
  /** Simulate background indexing: rows appear over this many seconds. */
  readonly loadSeconds?: number;
  readonly title?: string;
}

export const HOSTILE_ROW_INDEX = 7;
export const HOSTILE_INFO = "\x1b]0;pwned\x07evil\x1b[2J.txt";

interface ProgramDef {
  readonly name: string;
  readonly number: number;
  readonly version: number;
  readonly port: number;
  readonly procedures: readonly (readonly [number, string])[];
  readonly ok: string;
  readonly errors: readonly string[];
}

const PROGRAMS: readonly ProgramDef[] = [
  {
    name: "NFS", number: 100003, version: 3, port: 2049,
    procedures: [[1, "GETATTR"], [3, "LOOKUP"], [4, "ACCESS"], [6, "READ"], [7, "WRITE"], [8, "CREATE"], [16, "READDIR"]],
    ok: "NFS3_OK", errors: ["NFS3ERR_NOENT", "NFS3ERR_ACCES", "NFS3ERR_STALE"],
  },
  {
    name: "NFS", number: 100003, version: 4, port: 2049,
    procedures: [[1, "COMPOUND"]],
    ok: "NFS4_OK", errors: ["NFS4ERR_NOENT", "NFS4ERR_DELAY", "NFS4ERR_BADSESSION"],
  },
  {
    name: "PORTMAP", number: 100000, version: 2, port: 111,
    procedures: [[3, "GETPORT"], [4, "DUMP"]],
    ok: "SUCCESS", errors: ["PROG_UNAVAIL"],
  },
  {
    name: "MOUNT", number: 100005, version: 3, port: 20048,
    procedures: [[1, "MNT"], [3, "UMNT"]],
    ok: "MNT3_OK", errors: ["MNT3ERR_ACCES"],
  },
  {
    name: "NLM", number: 100021, version: 4, port: 4045,
    procedures: [[7, "LOCK"], [9, "UNLOCK"]],
    ok: "NLM4_GRANTED", errors: ["NLM4_DENIED"],
  },
];

const COMPOUNDS = ["SEQUENCE PUTFH GETATTR", "SEQUENCE PUTFH READ", "SEQUENCE PUTFH OPEN GETFH", "SEQUENCE PUTFH WRITE", "SEQUENCE PUTFH CLOSE"];

/** Small integer hash (splitmix-like), deterministic per index. */
function mix(n: number): number {
  let x = Math.imul(n ^ 0x9e3779b9, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

function programOf(index: number): ProgramDef {
  return PROGRAMS[mix(index) % 10 < 7 ? (mix(index + 1) % 2) : 2 + (mix(index) % 3)] as ProgramDef;
}

/** One object shape for every row: object spread here made a row cost microseconds. */
function makeRow(
  index: number, kind: ExchangeRow["kind"], xid: number | null, program: string, procedure: string, info: string,
  status: string, isError: boolean, rtt: number | null, callBytes: number, replyBytes: number,
): ExchangeRow {
  const clientHost = 10 + (index % 20);
  const port = program.startsWith("PORTMAP") ? 111 : program.startsWith("MOUNT") ? 20048 : program.startsWith("NLM") ? 4045 : 2049;
  return {
    index, kind, firstFrame: index * 2 - 1, time: index * 0.00137,
    client: `192.168.1.${clientHost}:${800 + (clientHost % 7)}`, server: `192.168.1.2:${port}`,
    transport: port === 111 && index % 2 === 1 ? "udp" : "tcp",
    xid, program, procedure, info, status, isError, rtt, callBytes, replyBytes,
    retransmits: index % 401 === 0 ? 1 : 0,
  };
}

/** The row with exchange number `index` (1-based). */
export function demoRow(index: number): ExchangeRow {
  if (index % 997 === 500) {
    return makeRow(index, "malformed", null, "?", "", "record-too-long: 4294967040 bytes", "malformed", true, null, 60, 0);
  }
  if (index % 1499 === 700) return makeRow(index, "gap", null, "", "", "1448 bytes missing", "", false, null, 0, 0);

  const h = mix(index);
  const program = programOf(index);
  const procedure = program.procedures[h % program.procedures.length] as readonly [number, string];
  const procName = procedure[1];
  const prog = `${program.name} v${program.version}`;
  const xid = (0x5a000000 + index * 7) >>> 0;
  let info = "";
  if (program.name === "NFS" && program.version === 4) info = COMPOUNDS[h % COMPOUNDS.length] as string;
  else if (program.name === "NFS") info = `file-${index % 1000}.dat`;
  else if (program.name === "PORTMAP") info = "prog 100003 v3 tcp";
  else if (program.name === "MOUNT") info = "/export/home";
  if (index === HOSTILE_ROW_INDEX) info = HOSTILE_INFO;

  const isWriteLike = procName === "WRITE" || info.includes("WRITE");
  const isReadLike = procName === "READ" || info.includes("READ");
  const callBytes = 120 + (h % 140) + (isWriteLike ? 32768 : 0);
  const isFailure = h % 37 === 0;
  const status = isFailure ? (program.errors[h % program.errors.length] as string) : program.ok;
  const rtt = index % 53 === 0 ? 0.3 + (h % 500) / 1000 : 0.0002 + (h % 5000) / 1e6;
  const replyBytes = isFailure ? 96 : 100 + (h % 200) + (isReadLike ? 32768 : 0);

  if (index % 211 === 100) return makeRow(index, "unmatched-call", xid, prog, procName, info, "no reply", false, null, callBytes, 0);
  if (index % 313 === 200) {
    return makeRow(index, "orphan-reply", xid, "?", "?", "reply without call", "SUCCESS", false, null, 0, replyBytes);
  }
  return makeRow(index, "exchange", xid, prog, procName, info, status, isFailure, rtt, callBytes, replyBytes);
}

// ---- details: real XDR bytes and a tree whose ranges point into them ----------

class XdrWriter {
  private buffer = new Uint8Array(256);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const bigger = new Uint8Array(Math.max(this.buffer.length * 2, this.length + n));
    bigger.set(this.buffer.subarray(0, this.length));
    this.buffer = bigger;
    this.view = new DataView(bigger.buffer);
  }

  uint(value: number): number {
    const at = this.length;
    this.reserve(4);
    this.view.setUint32(at, value >>> 0);
    this.length += 4;
    return at;
  }

  /** opaque<> / string<>: length, bytes, zero padding to 4 (RFC 4506 §4.10, §4.11). */
  opaque(bytes: Uint8Array): number {
    const at = this.uint(bytes.length);
    const padded = (bytes.length + 3) & ~3;
    this.reserve(padded);
    this.buffer.set(bytes, this.length);
    this.buffer.fill(0, this.length + bytes.length, this.length + padded);
    this.length += padded;
    return at;
  }

  bytes(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

const encoder = new TextEncoder();

function leaf(label: string, message: "call" | "reply", offset: number, length: number, isError = false): TreeNode {
  return isError
    ? { label, children: [], range: { message, offset, length }, isError: true }
    : { label, children: [], range: { message, offset, length } };
}

function framesFor(first: number, bytes: number): number[] {
  const count = Math.max(1, Math.ceil(bytes / 1448));
  const frames: number[] = [];
  for (let i = 0; i < count; i++) frames.push(first + i * 2);
  return frames;
}

/** Detail of a demo row: an RPC call and reply (RFC 5531 §9) with a small program body. */
export function demoDetail(row: ExchangeRow): Detail {
  if (row.kind === "gap") {
    return { tree: [{ label: `Gap: ${row.info} in the TCP stream, record marking resynchronised`, children: [], isError: true }], bytes: [] };
  }
  if (row.kind === "malformed") {
    const junk = new Uint8Array(60).map((_, i) => (i * 37 + 11) & 0xff);
    return {
      tree: [{ label: `Malformed record: ${row.info}`, key: "malformed", isError: true, children: [
        leaf("Fragment header: last fragment, length 4294967040 (over the 16 MiB limit)", "call", 0, 4, true),
      ], range: { message: "call", offset: 0, length: 60 } }],
      bytes: [{ message: "call", bytes: junk, frames: [row.firstFrame] }],
    };
  }
  const program = PROGRAMS.find((p) => `${p.name} v${p.version}` === row.program) ?? (PROGRAMS[0] as ProgramDef);
  const procNumber = program.procedures.find(([, name]) => name === row.procedure)?.[0] ?? 0;
  const xid = row.xid ?? 0;
  const tree: TreeNode[] = [];
  const records: DetailBytes[] = [];

  if (row.kind !== "orphan-reply") {
    const w = new XdrWriter();
    const xidAt = w.uint(xid);
    const typeAt = w.uint(0);
    const versAt = w.uint(2);
    const progAt = w.uint(program.number);
    const pversAt = w.uint(program.version);
    const procAt = w.uint(procNumber);
    const credAt = w.uint(1);
    const credLenAt = w.uint(0); // patched below
    const stampAt = w.uint(0x65a0c3d1);
    const machineAt = w.opaque(encoder.encode("client-" + row.client.split(":")[0]));
    const uidAt = w.uint(1000);
    const gidAt = w.uint(1000);
    const gidsAt = w.uint(2);
    w.uint(4);
    w.uint(27);
    const credEnd = w.length;
    const verfAt = w.uint(0);
    w.uint(0);
    const argsAt = w.length;
    const fhAt = w.opaque(new Uint8Array(32).map((_, i) => (i * 13 + row.index) & 0xff));
    const nameBytes = encoder.encode(row.info || "x");
    const nameAt = w.opaque(nameBytes);
    if (row.callBytes > 1000) w.opaque(new Uint8Array(Math.min(row.callBytes, 40000) - w.length - 4));
    const bytes = w.bytes();
    new DataView(bytes.buffer).setUint32(credLenAt, credEnd - stampAt);
    tree.push({
      label: `Remote Procedure Call, Type: Call, XID: 0x${xid.toString(16).padStart(8, "0")}`,
      key: "rpc.call", range: { message: "call", offset: 0, length: argsAt }, children: [
        leaf(`XID: 0x${xid.toString(16).padStart(8, "0")} (${xid})`, "call", xidAt, 4),
        leaf("Message Type: Call (0)", "call", typeAt, 4),
        leaf("RPC Version: 2", "call", versAt, 4),
        leaf(`Program: ${program.name} (${program.number})`, "call", progAt, 4),
        leaf(`Program Version: ${program.version}`, "call", pversAt, 4),
        leaf(`Procedure: ${row.procedure} (${procNumber})`, "call", procAt, 4),
        {
          label: "Credentials: AUTH_UNIX", key: "rpc.cred", range: { message: "call", offset: credAt, length: credEnd - credAt },
          children: [
            leaf("Flavor: AUTH_UNIX (1)", "call", credAt, 4),
            leaf(`Length: ${credEnd - stampAt}`, "call", credLenAt, 4),
            leaf("Stamp: 0x65a0c3d1", "call", stampAt, 4),
            leaf(`Machine Name: client-${row.client.split(":")[0] ?? ""}`, "call", machineAt, uidAt - machineAt),
            leaf("UID: 1000", "call", uidAt, 4),
            leaf("GID: 1000", "call", gidAt, 4),
            { label: "Auxiliary GIDs (2) [4, 27]", key: "rpc.gids", range: { message: "call", offset: gidsAt, length: 12 },
              children: [leaf("GID: 4", "call", gidsAt + 4, 4), leaf("GID: 27", "call", gidsAt + 8, 4)] },
          ],
        },
        { label: "Verifier: AUTH_NONE", key: "rpc.verf", range: { message: "call", offset: verfAt, length: 8 },
          children: [leaf("Flavor: AUTH_NONE (0)", "call", verfAt, 4), leaf("Length: 0", "call", verfAt + 4, 4)] },
      ],
    });
    tree.push({
      label: `${program.name} ${row.procedure} Call`, key: "prog.call",
      range: { message: "call", offset: argsAt, length: bytes.length - argsAt }, children: [
        leaf("File handle (32 bytes)", "call", fhAt, 36),
        leaf(`Name: ${row.info}`, "call", nameAt, 4 + ((nameBytes.length + 3) & ~3)),
      ],
    });
    records.push({ message: "call", bytes, frames: framesFor(row.firstFrame, bytes.length) });
  }

  if (row.kind !== "unmatched-call") {
    const w = new XdrWriter();
    const xidAt = w.uint(xid);
    const typeAt = w.uint(1);
    const stateAt = w.uint(0);
    const verfAt = w.uint(0);
    w.uint(0);
    const acceptAt = w.uint(0);
    const resultsAt = w.length;
    const statusAt = w.uint(row.isError ? 2 : 0);
    for (let i = 0; i < 21; i++) w.uint(i * 4096);
    if (row.replyBytes > 1000) w.opaque(new Uint8Array(Math.min(row.replyBytes, 40000) - w.length - 4));
    const bytes = w.bytes();
    tree.push({
      label: `Remote Procedure Call, Type: Reply, XID: 0x${xid.toString(16).padStart(8, "0")}`,
      key: "rpc.reply", range: { message: "reply", offset: 0, length: resultsAt }, children: [
        leaf(`XID: 0x${xid.toString(16).padStart(8, "0")} (${xid})`, "reply", xidAt, 4),
        leaf("Message Type: Reply (1)", "reply", typeAt, 4),
        leaf("Reply State: accepted (0)", "reply", stateAt, 4),
        { label: "Verifier: AUTH_NONE", key: "rpc.verf", range: { message: "reply", offset: verfAt, length: 8 },
          children: [leaf("Flavor: AUTH_NONE (0)", "reply", verfAt, 4), leaf("Length: 0", "reply", verfAt + 4, 4)] },
        leaf("Accept State: SUCCESS (0)", "reply", acceptAt, 4),
        ...(row.rtt !== null ? [{ label: `Time from request: ${row.rtt.toFixed(6)} seconds`, children: [] }] : []),
      ],
    });
    tree.push({
      label: `${program.name} ${row.procedure} Reply`, key: "prog.reply",
      range: { message: "reply", offset: resultsAt, length: bytes.length - resultsAt }, isError: row.isError, children: [
        leaf(`Status: ${row.status}`, "reply", statusAt, 4, row.isError),
        leaf("Attributes (84 bytes)", "reply", statusAt + 4, 84),
      ],
    });
    records.push({ message: "reply", bytes, frames: framesFor(row.firstFrame + 1, bytes.length) });
  }
  return { tree, bytes: records };
}

// ---- the toy filter language ----------------------------------------------------

type Predicate = (row: ExchangeRow) => boolean;
type Compiled = { ok: true; predicate: Predicate } | { ok: false; column: number; message: string };

const FIELDS: Record<string, (row: ExchangeRow) => string | number | null> = {
  prog: (r) => r.program, proc: (r) => r.procedure, status: (r) => r.status, info: (r) => r.info,
  client: (r) => r.client, server: (r) => r.server, xid: (r) => r.xid, rtt: (r) => r.rtt,
  kind: (r) => r.kind, tp: (r) => r.transport,
};

/**
 * `term (&& term)*`, term: `error` | `slow` | FIELD OP VALUE with OP one of
 * == != ~ (contains) > <. Errors carry the 0-based column, as the real filter's do.
 */
export function compileDemoFilter(expression: string): Compiled {
  const tokens: { text: string; at: number }[] = [];
  const re = /\s*(&&|==|!=|~|>|<|"[^"]*"|[^\s&=!~<>"]+|\S)/y;
  let m: RegExpExecArray | null;
  while ((m = re.exec(expression)) !== null && m[1] !== undefined) {
    tokens.push({ text: m[1], at: m.index + m[0].length - m[1].length });
    if (re.lastIndex >= expression.length) break;
  }
  const terms: Predicate[] = [];
  let i = 0;
  const end = expression.length;
  while (true) {
    const t = tokens[i];
    if (!t) return { ok: false, column: end, message: "expected a field, 'error' or 'slow'" };
    if (t.text === "error") { terms.push((r) => r.isError); i++; }
    else if (t.text === "slow") { terms.push((r) => r.rtt !== null && r.rtt > 0.1); i++; }
    else {
      const get = FIELDS[t.text];
      if (!get) return { ok: false, column: t.at, message: `unknown field '${t.text}'` };
      const op = tokens[i + 1];
      if (!op || !["==", "!=", "~", ">", "<"].includes(op.text)) {
        return { ok: false, column: op?.at ?? end, message: "expected == != ~ > or <" };
      }
      const value = tokens[i + 2];
      if (!value || value.text === "&&") return { ok: false, column: value?.at ?? end, message: "expected a value" };
      const raw = value.text.startsWith('"') ? value.text.slice(1, -1) : value.text;
      const wanted = raw.toLowerCase();
      const number = Number(raw.replace(/ms$/, "")) / (raw.endsWith("ms") ? 1000 : 1);
      if ((op.text === ">" || op.text === "<") && !Number.isFinite(number)) {
        return { ok: false, column: value.at, message: "expected a number" };
      }
      const asText = (v: string | number | null): string =>
        v === null ? "" : typeof v === "number" ? (t.text === "xid" ? "0x" + v.toString(16).padStart(8, "0") : String(v)) : v.toLowerCase();
      switch (op.text) {
        case "==": terms.push((r) => { const v = asText(get(r)); return v === wanted || v.split(" ")[0] === wanted; }); break;
        case "!=": terms.push((r) => { const v = asText(get(r)); return v !== wanted && v.split(" ")[0] !== wanted; }); break;
        case "~": terms.push((r) => asText(get(r)).includes(wanted)); break;
        case ">": terms.push((r) => { const v = get(r); return typeof v === "number" && v > number; }); break;
        case "<": terms.push((r) => { const v = get(r); return typeof v === "number" && v < number; }); break;
      }
      i += 3;
    }
    const next = tokens[i];
    if (!next) break;
    if (next.text !== "&&") return { ok: false, column: next.at, message: "expected && or the end" };
    i++;
  }
  return { ok: true, predicate: (row) => terms.every((term) => term(row)) };
}

// ---- the source -------------------------------------------------------------------

function conversationKey(row: ExchangeRow): string {
  return `${row.client}|${row.server}|${row.transport}`;
}

export class DemoDataSource implements TuiDataSource {
  readonly title: string;
  readonly live: boolean;
  /** Calls of row() from outside (the virtualisation test counts them). */
  rowCalls = 0;
  detailCalls = 0;

  private available: number;
  private readonly target: number;
  private predicate: Predicate | null = null;
  private conversation: string | null = null;
  /** Exchange indexes in the view when filtered; null: every row (position = index - 1). */
  private view: number[] | null = null;
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | null = null;
  private statsCache: { available: number; lines: readonly string[] } | null = null;

  constructor(options: DemoOptions) {
    this.title = options.title ?? `demo (${options.rows} rows)`;
    this.live = options.live ?? false;
    this.target = options.rows;
    const loading = (options.loadSeconds ?? 0) > 0;
    this.available = loading ? 0 : options.rows;
    if (loading) {
      const started = Date.now();
      const totalMs = (options.loadSeconds ?? 0) * 1000;
      this.timer = setInterval(() => {
        const fraction = Math.min(1, (Date.now() - started) / totalMs);
        this.grow(Math.floor(this.target * fraction));
        if (fraction >= 1) this.stop();
      }, 50);
    } else if (this.live) {
      this.timer = setInterval(() => this.grow(this.available + (options.liveRowsPerTick ?? 1)), options.liveIntervalMs ?? 200);
    }
  }

  /** Stop the background timer (live growth or loading). */
  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Make rows up to `count` available (as a loader or a live capture would). */
  grow(count: number): void {
    if (count <= this.available) return;
    const from = this.available + 1;
    this.available = count;
    if (this.view !== null) {
      for (let index = from; index <= count; index++) if (this.matches(demoRow(index))) this.view.push(index);
    }
    for (const listener of this.listeners) listener();
  }

  rowCount(): number {
    return this.view === null ? this.available : this.view.length;
  }

  private indexAt(position: number): number {
    return this.view === null ? position + 1 : (this.view[position] ?? 0);
  }

  row(position: number): ExchangeRow {
    this.rowCalls++;
    if (position < 0 || position >= this.rowCount()) throw new RangeError(`row ${position} out of range`);
    return demoRow(this.indexAt(position));
  }

  positionOf(exchangeIndex: number): number {
    if (this.view === null) return Math.min(Math.max(0, exchangeIndex - 1), this.available);
    let lo = 0;
    let hi = this.view.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.view[mid] ?? 0) < exchangeIndex) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  nextError(position: number, direction: 1 | -1): number | null {
    const count = this.rowCount();
    for (let p = position + direction; p >= 0 && p < count; p += direction) {
      if (demoRow(this.indexAt(p)).isError) return p;
    }
    return null;
  }

  async detail(exchangeIndex: number): Promise<Detail> {
    this.detailCalls++;
    if (exchangeIndex < 1 || exchangeIndex > this.available) throw new RangeError(`no exchange ${exchangeIndex}`);
    return demoDetail(demoRow(exchangeIndex));
  }

  setFilter(expression: string | null): FilterResult {
    if (expression === null) {
      this.predicate = null;
    } else {
      const compiled = compileDemoFilter(expression);
      if (!compiled.ok) return compiled;
      this.predicate = compiled.predicate;
    }
    this.rebuildView();
    return { ok: true };
  }

  setConversation(exchangeIndex: number | null): void {
    this.conversation = exchangeIndex === null ? null : conversationKey(demoRow(exchangeIndex));
    this.rebuildView();
  }

  private matches(row: ExchangeRow): boolean {
    if (this.conversation !== null && conversationKey(row) !== this.conversation) return false;
    return this.predicate === null || this.predicate(row);
  }

  private rebuildView(): void {
    if (this.predicate === null && this.conversation === null) {
      this.view = null;
      return;
    }
    const view: number[] = [];
    for (let index = 1; index <= this.available; index++) if (this.matches(demoRow(index))) view.push(index);
    this.view = view;
  }

  progress(): Progress {
    // Counts follow the same rules as demoRow without building every row.
    const n = this.available;
    const every = (period: number, offset: number): number => (n >= offset ? Math.floor((n - offset) / period) + 1 : 0);
    const malformed = every(997, 500);
    const gaps = every(1499, 700);
    return {
      done: this.available >= this.target,
      fraction: this.live ? null : this.target === 0 ? 1 : this.available / this.target,
      counts: {
        exchanges: n,
        errors: Math.round(n / 37) + malformed,
        unmatched: every(211, 100) + every(313, 200),
        malformed,
        gaps,
      },
    };
  }

  statsLines(): readonly string[] {
    if (this.statsCache?.available === this.available) return this.statsCache.lines;
    const perProc = new Map<string, { calls: number; errors: number; rttSum: number; rttCount: number; rttMax: number }>();
    // A sample keeps opening the screen instant on millions of rows.
    const step = Math.max(1, Math.floor(this.available / 200_000));
    for (let index = 1; index <= this.available; index += step) {
      const row = demoRow(index);
      if (row.kind === "gap" || row.kind === "malformed") continue;
      const key = `${row.program} ${row.procedure}`;
      const s = perProc.get(key) ?? { calls: 0, errors: 0, rttSum: 0, rttCount: 0, rttMax: 0 };
      s.calls++;
      if (row.isError) s.errors++;
      if (row.rtt !== null) { s.rttSum += row.rtt; s.rttCount++; s.rttMax = Math.max(s.rttMax, row.rtt); }
      perProc.set(key, s);
    }
    const lines = [
      `Procedures (${step > 1 ? `sampled 1 in ${step}` : "all rows"})`,
      "",
      `${"Program / procedure".padEnd(28)}${"calls".padStart(10)}${"errors".padStart(10)}${"avg rtt".padStart(12)}${"max rtt".padStart(12)}`,
    ];
    for (const [key, s] of [...perProc.entries()].sort((a, b) => b[1].calls - a[1].calls)) {
      const avg = s.rttCount > 0 ? `${((s.rttSum / s.rttCount) * 1000).toFixed(3)}ms` : "-";
      const max = s.rttCount > 0 ? `${(s.rttMax * 1000).toFixed(3)}ms` : "-";
      lines.push(`${key.padEnd(28)}${String(s.calls).padStart(10)}${String(s.errors).padStart(10)}${avg.padStart(12)}${max.padStart(12)}`);
    }
    this.statsCache = { available: this.available, lines };
    return lines;
  }

  slowRtt(): number | null {
    return 0.1;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
