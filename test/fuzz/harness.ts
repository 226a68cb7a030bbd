/**
 * The fuzz harness: a seeded PRNG, mutation operators, and a synchronous in-memory
 * run of every stage (capture parser → packet decoder → RPC pipeline → body
 * decoding → text and JSON formatters) over one input, with the invariants every
 * run must keep. Shared by test/fuzz, test/hostile and test/corpus.
 *
 * The property a run checks:
 *  - no exception escapes except a CaptureError for the file as a whole (the
 *    documented one); anything else is rethrown with the input's description;
 *  - every frame is accounted for: the pipeline saw exactly the frames the parser
 *    produced, and the RPC counters add up (see checkCounts);
 *  - every exchange is resolved exactly once;
 *  - every rendered line (summary text, tree lines, NDJSON) is free of control
 *    characters, so a packet can never drive the terminal.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { CaptureError, type Frame } from "../../capture/frame.js";
import { FrameParser } from "../../capture/capture-format.js";
import { DEFAULT_LIMITS, type Limits } from "../../capture/limits.js";
import { PacketDecoder } from "../../capture/packet-decoder.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import { RpcPipeline, type RpcCounts, type StreamIssue } from "../../dissect/rpc-pipeline.js";
import { registerLibvirt } from "../../dissect/libvirt/libvirt-framing.js";
import type { Exchange } from "../../dissect/rpc-types.js";
import type { DecodedField } from "../../dissect/xdr-types.js";
import type { Issue } from "../../dissect/malformed.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { namesFor } from "../../ui/names.js";
import { summaryJson, summaryLine } from "../../ui/summary-format.js";
import { treeLines } from "../../ui/body-format.js";
import { escapeForTerminal, jsonSafeStringify } from "../../ui/text-safety.js";
import type { AnalyzedMessage } from "../../ui/analyze.js";

export const ROOT = join(import.meta.dirname, "..", "..");
export const SAMPLES = join(ROOT, "samples");
export const DEMO_SPEC = join(SAMPLES, "demo-service", "demo.x");

// ── PRNG ───────────────────────────────────────────────────────────────────────

/** mulberry32: tiny, fast, and the same sequence on every machine for a seed. */
export class Rng {
  private a: number;
  constructor(readonly seed: number) {
    this.a = seed >>> 0;
  }
  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    this.a = (this.a + 0x6d2b79f5) >>> 0;
    let t = this.a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor((this.u32() / 4294967296) * n);
  }
  chance(p: number): boolean {
    return this.u32() / 4294967296 < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

/** The values that break length and count checks. */
export const INTERESTING_U32: readonly number[] = [
  0, 1, 2, 3, 4, 7, 8, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001,
  0xfffffffe, 0xffffffff, 0x00ffffff, 0x3fffffff, 0x40000000, 1_000_000, 16 * 1024 * 1024, 262_145,
];

export const INTERESTING_U16: readonly number[] = [0, 1, 4, 5, 7, 8, 19, 20, 39, 40, 0x7fff, 0x8000, 0xffff, 0xfffe];

export function setU32(b: Uint8Array, at: number, v: number, littleEndian = false): void {
  if (at < 0 || at + 4 > b.length) return;
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0, littleEndian);
}

export function setU16(b: Uint8Array, at: number, v: number, littleEndian = false): void {
  if (at < 0 || at + 2 > b.length) return;
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint16(at, v & 0xffff, littleEndian);
}

export function getU32(b: Uint8Array, at: number, littleEndian = false): number {
  if (at < 0 || at + 4 > b.length) return 0;
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, littleEndian);
}

/**
 * Generic byte-level mutations of a copy of `input` (1–4 of them): bit flips, byte
 * sets, interesting words at aligned and unaligned offsets, deletion, duplication
 * and insertion of short runs, truncation.
 */
export function mutateBytes(rng: Rng, input: Uint8Array, from = 0): Uint8Array {
  let b: Uint8Array = input.slice();
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const span = Math.max(1, b.length - from);
    const at = from + rng.int(span);
    switch (rng.int(8)) {
      case 0:
        if (at < b.length) b[at]! ^= 1 << rng.int(8);
        break;
      case 1:
        if (at < b.length) b[at] = rng.pick([0, 0xff, 0x7f, 0x80, 1, rng.int(256)]);
        break;
      case 2:
        setU32(b, at & ~3, rng.pick(INTERESTING_U32), rng.chance(0.3));
        break;
      case 3:
        setU32(b, at, rng.pick(INTERESTING_U32), rng.chance(0.3));
        break;
      case 4: {
        const n = Math.min(1 + rng.int(16), b.length - at);
        if (n > 0) b = concatBytes(b.subarray(0, at), b.subarray(at + n));
        break;
      }
      case 5: {
        const n = Math.min(1 + rng.int(16), b.length - at);
        if (n > 0) b = concatBytes(b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n));
        break;
      }
      case 6: {
        const junk = new Uint8Array(1 + rng.int(8));
        for (let i = 0; i < junk.length; i++) junk[i] = rng.int(256);
        b = concatBytes(b.subarray(0, at), junk, b.subarray(at));
        break;
      }
      default:
        if (rng.chance(0.5)) b = b.slice(0, at);
        break;
    }
  }
  return b;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

// ── Registry (built-in specs + the demo service's) ────────────────────────────

let registryPromise: Promise<ProgramRegistry> | null = null;

/** The built-in specifications plus samples/demo-service/demo.x, loaded once per worker. */
export function fuzzRegistry(): Promise<ProgramRegistry> {
  registryPromise ??= loadRegistry({ userSpecs: [DEMO_SPEC], defines: new Map() });
  return registryPromise;
}

export function readSample(relative: string): Uint8Array {
  return new Uint8Array(readFileSync(join(SAMPLES, relative)));
}

// ── Output safety ──────────────────────────────────────────────────────────────

/** C0, DEL, C1, bidi controls, line/paragraph separators. */
const UNSAFE_TEXT = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/;

/** Where `line` holds a character that could drive a terminal, or -1. */
export function unsafeIndex(line: string): number {
  const m = UNSAFE_TEXT.exec(line);
  if (m) return m.index;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff) {
      const next = line.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        i++;
        continue;
      }
      return i;
    }
    if (c >= 0xdc00 && c <= 0xdfff) return i;
  }
  return -1;
}

/** Raw UTF-8 bytes a terminal would act on: C0 (but \n), DEL, and C1 as encoded in UTF-8 (C2 80–C2 9F). */
export function unsafeByteIndex(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if ((b < 0x20 && b !== 0x0a) || b === 0x7f) return i;
    if (b === 0xc2 && i + 1 < bytes.length && bytes[i + 1]! >= 0x80 && bytes[i + 1]! <= 0x9f) return i;
  }
  return -1;
}

// ── One run over every stage ───────────────────────────────────────────────────

export interface RunOptions {
  readonly registry: ProgramRegistry;
  readonly limits?: Limits;
  /** Render summary, tree and JSON lines and check them (default true). */
  readonly render?: boolean;
  /** Split the capture into chunks at these byte positions (exercises records that straddle chunks). */
  readonly splitAt?: readonly number[];
  /** Keep the rendered lines in the outcome (tests that look at them). */
  readonly keepLines?: boolean;
  /** Register the libvirt framing too (dissect/libvirt), as a libvirt-aware view does. */
  readonly libvirt?: boolean;
  /** Sees every message with its record bytes (valid during the call only). */
  readonly onRecord?: (m: AnalyzedMessage, record: Uint8Array) => void;
}

export interface RunOutcome {
  /** Frames the capture parser produced. */
  readonly frames: number;
  /** The CaptureError the parser ended with (whole-file problem or a cut), if any. */
  readonly captureError: CaptureError | null;
  readonly counts: RpcCounts;
  readonly messages: AnalyzedMessage[];
  readonly streamIssues: StreamIssue[];
  readonly resolved: number;
  readonly lines: string[];
  readonly libvirtMessages: number;
}

/** Stable across runs, for messages and reports. */
export function describeInput(label: string, bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  return `${label} (${bytes.length} bytes, fnv1a ${h.toString(16).padStart(8, "0")})`;
}

/** Parses a whole capture held in memory into frames (copies: frames outlive the chunk here). */
export function parseCapture(bytes: Uint8Array, splitAt: readonly number[] = []): { frames: Frame[]; error: CaptureError | null } {
  const parser = new FrameParser();
  const frames: Frame[] = [];
  let error: CaptureError | null = null;
  const cuts = [...splitAt.filter((p) => p > 0 && p < bytes.length)].sort((a, b) => a - b);
  let start = 0;
  try {
    for (const end of [...cuts, bytes.length]) {
      if (end <= start) continue;
      for (const f of parser.push(bytes.subarray(start, end))) frames.push(f);
      start = end;
    }
    parser.finish();
  } catch (err) {
    if (!(err instanceof CaptureError)) throw err;
    error = err;
  }
  return { frames, error };
}

/**
 * Runs frames through the packet decoder, the RPC pipeline and body decoding as
 * ui/analyze.ts wires them, rendering every message as the CLI does.
 */
export function runFrames(frames: readonly Frame[], options: RunOptions): Omit<RunOutcome, "frames" | "captureError"> {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const registry = options.registry;
  const names = namesFor(registry);
  const render = options.render ?? true;
  const messages: AnalyzedMessage[] = [];
  const streamIssues: StreamIssue[] = [];
  const lines: string[] = [];
  const resolvedSet = new Set<Exchange>();
  let resolved = 0;
  let libvirtMessages = 0;
  let t0Sec = 0;
  let t0Nsec = 0;

  const emit = (line: string, what: string): void => {
    const at = unsafeIndex(line);
    if (at >= 0) {
      throw new Error(`unsafe character U+${line.charCodeAt(at).toString(16)} at ${at} in ${what}: ${JSON.stringify(line)}`);
    }
    if (options.keepLines) lines.push(line);
  };

  const pipeline = new RpcPipeline(limits, {
    message(msg, record, truncatedAt) {
      let args: DecodedField | null = null;
      let res: DecodedField | null = null;
      let bodyIssues: readonly Issue[] = [];
      const header = msg.header;
      if (header) {
        if (header.kind === "call") {
          const out = registry.decodeCall(header, record, limits, truncatedAt ?? undefined);
          args = out.args;
          bodyIssues = out.issues;
        } else {
          const call = msg.exchange?.call?.header;
          if (call && call.kind === "call") {
            const out = registry.decodeReply(call, header, record, limits, truncatedAt ?? undefined);
            res = out.res;
            bodyIssues = out.issues;
          }
        }
      }
      const time = msg.tsSec - t0Sec + (msg.tsNsec - t0Nsec) / 1e9;
      const m: AnalyzedMessage = { msg, time, args, res, bodyIssues };
      messages.push(m);
      options.onRecord?.(m, record);
      if (render) {
        emit(summaryLine(m, names), "summary line");
        if (args) for (const l of treeLines(args, "  ")) emit(l, "tree line");
        if (res) for (const l of treeLines(res, "  ")) emit(l, "tree line");
        const json = jsonSafeStringify(summaryJson(m, names, true));
        const at = unsafeIndex(json);
        if (at >= 0) throw new Error(`unsafe character in NDJSON at ${at}: ${json.slice(Math.max(0, at - 40), at + 40)}`);
        JSON.parse(json);
        if (options.keepLines) lines.push(json);
      }
    },
    exchangeResolved(ex) {
      if (resolvedSet.has(ex)) throw new Error(`exchange ${ex.id} resolved twice`);
      resolvedSet.add(ex);
      resolved++;
    },
    libvirtMessage(msg) {
      libvirtMessages++;
      if (msg.frame <= 0) throw new Error("libvirt message without a frame");
    },
    streamIssue(issue) {
      streamIssues.push(issue);
      if (render) emit(`${issue.frame} ${issue.code}: ${escapeForTerminal(issue.detail)}`, "stream issue");
    },
  });
  if (options.libvirt) registerLibvirt(pipeline);
  const decoder = new PacketDecoder(limits, pipeline);
  for (const f of frames) {
    if (t0Sec === 0 && t0Nsec === 0) {
      t0Sec = f.tsSec;
      t0Nsec = f.tsNsec;
    }
    decoder.push(f);
  }
  decoder.finish();
  pipeline.finish();
  return { counts: pipeline.counts(), messages, streamIssues, resolved, lines, libvirtMessages };
}

/** A whole capture file in memory through every stage; see the module comment for what is checked. */
export function runCapture(bytes: Uint8Array, options: RunOptions): RunOutcome {
  const { frames, error } = parseCapture(bytes, options.splitAt);
  const rest = runFrames(frames, options);
  const outcome: RunOutcome = { frames: frames.length, captureError: error, ...rest };
  checkCounts(outcome);
  return outcome;
}

/**
 * The counters must add up:
 *  - the pipeline saw every frame once (frameDone), and frames not carrying RPC
 *    are a subset of them;
 *  - every message is a call, a reply or malformed;
 *  - every call opened an exchange or retransmitted one; every reply answered,
 *    duplicated or had no call (an orphan exchange);
 *  - every exchange ended answered, unanswered, evicted or as an orphan reply,
 *    and exchangeResolved fired once for each.
 */
export function checkCounts(o: Pick<RunOutcome, "frames" | "counts" | "messages" | "resolved">): void {
  const c = o.counts;
  const fail = (what: string): never => {
    throw new Error(`count invariant broken: ${what}; counts ${JSON.stringify(c)}`);
  };
  if (c.frames !== o.frames) fail(`pipeline saw ${c.frames} frames, parser produced ${o.frames}`);
  if (c.notRpcFrames < 0 || c.notRpcFrames > c.frames) fail("notRpcFrames outside 0..frames");
  if (c.messages !== o.messages.length) fail(`messages ${c.messages} but ${o.messages.length} message() calls`);
  if (c.messages !== c.calls + c.replies + c.malformed) fail("messages != calls + replies + malformed");
  if (c.calls !== c.exchanges - c.orphanReplies + c.retransmissions) fail("calls != exchanges - orphanReplies + retransmissions");
  if (c.replies !== c.answered + c.duplicateReplies + c.orphanReplies) fail("replies != answered + duplicateReplies + orphanReplies");
  if (c.exchanges !== c.answered + c.unanswered + c.evicted + c.orphanReplies) fail("exchanges != answered + unanswered + evicted + orphanReplies");
  if (c.unmatchedCalls !== c.unanswered + c.evicted) fail("unmatchedCalls != unanswered + evicted");
  if (o.resolved !== c.exchanges) fail(`${o.resolved} exchanges resolved, ${c.exchanges} counted`);
  if (c.truncated > c.messages) fail("more truncated messages than messages");
  // A frame counts as carrying RPC only when a datagram was accepted (a message) or a
  // connection was claimed by a framing.
  if (c.frames - c.notRpcFrames > 0 && c.messages === 0 && c.rpcConnections === 0) {
    fail("frames counted as carrying RPC, but no message and no claimed connection");
  }
}

// ── Bounds: time per input and heap growth ─────────────────────────────────────

/** A generous per-input bound: only a hang detector, never a benchmark. */
export const PER_INPUT_MS = 2_000;
/** Heap growth allowed over a whole suite (after a forced GC). */
export const HEAP_GROWTH_BYTES = 256 * 1024 * 1024;

let gcFn: (() => void) | null = null;

/** A real GC when V8 lets us have one (it does, through a flag set at run time). */
export function forceGc(): void {
  if (!gcFn) {
    try {
      setFlagsFromString("--expose-gc");
      gcFn = runInNewContext("gc") as () => void;
    } catch {
      gcFn = () => {};
    }
  }
  gcFn();
}

export interface SuiteStats {
  readonly name: string;
  inputs: number;
  slowestMs: number;
  slowestInput: string;
  readonly heapBefore: number;
  /** Outcome tallies for the report: how inputs ended. */
  readonly tally: Map<string, number>;
}

export function startSuite(name: string): SuiteStats {
  forceGc();
  return { name, inputs: 0, slowestMs: 0, slowestInput: "", heapBefore: process.memoryUsage().heapUsed, tally: new Map() };
}

/** Runs one input, timing it; any failure is rethrown with the input's description. */
export function fuzzOne<T>(stats: SuiteStats, label: string, bytes: Uint8Array, run: () => T): T {
  const t0 = performance.now();
  let result: T;
  try {
    result = run();
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    e.message = `${stats.name}: ${describeInput(label, bytes)} (seeded, replayable): ${e.message}`;
    throw e;
  }
  const ms = performance.now() - t0;
  stats.inputs++;
  if (ms > stats.slowestMs) {
    stats.slowestMs = ms;
    stats.slowestInput = describeInput(label, bytes);
  }
  if (ms > PER_INPUT_MS) throw new Error(`${stats.name}: ${describeInput(label, bytes)} took ${ms.toFixed(0)} ms (> ${PER_INPUT_MS} ms): a hang?`);
  return result;
}

export function tally(stats: SuiteStats, key: string): void {
  stats.tally.set(key, (stats.tally.get(key) ?? 0) + 1);
}

/** Ends a suite: checks heap growth, prints the count of inputs run. Returns the growth. */
export function endSuite(stats: SuiteStats): number {
  forceGc();
  const growth = process.memoryUsage().heapUsed - stats.heapBefore;
  const tallies = [...stats.tally.entries()].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k}=${n}`).join(" ");
  console.log(
    `[fuzz] ${stats.name}: ${stats.inputs} inputs, slowest ${stats.slowestMs.toFixed(1)} ms (${stats.slowestInput}), ` +
      `heap growth ${(growth / 1048576).toFixed(1)} MiB${tallies ? `; ${tallies}` : ""}`,
  );
  if (growth > HEAP_GROWTH_BYTES) throw new Error(`${stats.name}: heap grew by ${growth} bytes over the suite`);
  return growth;
}
