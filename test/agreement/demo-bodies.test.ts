/**
 * The project's rpcgen demo service (samples/demo-service): every call's arguments
 * and every reply's results, decoded by rpcscope from demo.x, agree with what the C
 * client logged it sent and received (client-log.jsonl, one line per call).
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "ui", "rpcscope.cjs");
const DIR = join(ROOT, "samples", "demo-service");

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface LogLine {
  seq: number;
  transport: string;
  xid: number;
  proc: number;
  procName: string;
  args: Json[];
  status: string;
  result: Json;
}

interface Msg {
  xid: number;
  kind: string;
  transport: string;
  status: string | null;
  args?: Json;
  res?: Json;
  issues?: { code: string; detail: string }[];
}

function fnv1a32(bytes: Uint8Array): string {
  let h = 0x811c9dc5;
  for (const b of bytes) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}

/** The log writes linked lists as nested {…, next} and an empty list as null; we show lists as arrays. */
function normalizeLog(v: Json): Json {
  if (Array.isArray(v)) return v.length === 0 ? null : v.map(normalizeLog);
  if (v && typeof v === "object") {
    if ("next" in v) {
      const items: Json[] = [];
      let cur: Json = v;
      while (cur && typeof cur === "object" && !Array.isArray(cur)) {
        const { next, ...rest } = cur;
        items.push(normalizeLog(rest));
        cur = next ?? null;
      }
      return items;
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeLog(x)]));
  }
  return v;
}

/** Our side, shaped like the log: empty arrays as null, big opaque summarised as the client logs it. */
function normalizeOurs(v: Json, like: Json): Json {
  if (typeof v === "string" && like && typeof like === "object" && !Array.isArray(like) && "fnv1a32" in like) {
    const bytes = Buffer.from(v, "hex");
    return { length: bytes.length, fnv1a32: fnv1a32(bytes), head: bytes.subarray(0, 16).toString("hex") };
  }
  if (Array.isArray(v)) {
    if (v.length === 0) return null;
    const likeArr = Array.isArray(like) ? like : [];
    return v.map((x, i) => normalizeOurs(x, likeArr[i] ?? null));
  }
  if (v && typeof v === "object") {
    const likeObj = like && typeof like === "object" && !Array.isArray(like) ? like : {};
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalizeOurs(x, likeObj[k] ?? null)]));
  }
  return v;
}

/** Equal, treating numbers as equal when they are the same float32 (the client prints floats with 9 digits). */
function same(a: Json, b: Json, path: string, problems: string[]): void {
  if (typeof a === "number" && typeof b === "number") {
    if (a !== b && Math.fround(a) !== Math.fround(b)) problems.push(`${path}: ${a} != ${b}`);
    return;
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) problems.push(`${path}: length ${a.length} != ${b.length}`);
    a.forEach((x, i) => same(x, b[i] ?? null, `${path}[${i}]`, problems));
    return;
  }
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) same(a[k] ?? null, b[k] ?? null, `${path}.${k}`, problems);
    return;
  }
  if (a !== b) problems.push(`${path}: ${JSON.stringify(a)} != ${JSON.stringify(b)}`);
}

/** Our args as the log's list of arguments: void → [], several → arg1..argN in order, one → [value]. */
function argList(args: Json | undefined): Json[] {
  if (args === undefined || args === null) return [];
  if (args && typeof args === "object" && !Array.isArray(args) && "arg1" in args) return Object.values(args);
  return [args];
}

const SAMPLES = ["demo-tcp-udp", "baseline-1", "variant-error", "variant-extra-call"];

describe("demo service bodies agree with what the C client sent", () => {
  for (const name of SAMPLES) {
    it(name, () => {
      const logFile = name === "demo-tcp-udp" ? "client-log.jsonl" : `${name}.client-log.jsonl`;
      const log = readFileSync(join(DIR, logFile), "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as LogLine);
      const out = execFileSync(
        process.execPath,
        [CLI, "summary", "--json", "-V", "--spec", join(DIR, "demo.x"), join(DIR, `${name}.pcap`)],
        { encoding: "utf8", maxBuffer: 64 << 20 },
      );
      const msgs = out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Msg);
      const problems: string[] = [];
      let bodiesCompared = 0;
      for (const entry of log) {
        const call = msgs.find((m) => m.kind === "call" && m.xid === entry.xid && m.transport === entry.transport);
        const reply = msgs.find((m) => m.kind === "reply" && m.xid === entry.xid && m.transport === entry.transport);
        const where = `#${entry.seq} ${entry.procName}`;
        if (!call || !reply) {
          problems.push(`${where}: call or reply missing`);
          continue;
        }
        if (reply.status !== entry.status) problems.push(`${where}: status ${reply.status} != ${entry.status}`);
        if (entry.status === "GARBAGE_ARGS") {
          // The client deliberately sent arguments that break the spec: we must say so, not guess.
          expect(call.issues?.some((i) => i.code === "malformed")).toBe(true);
          continue;
        }
        if (entry.status === "PROC_UNAVAIL" || entry.status === "PROG_MISMATCH" || entry.status === "PROG_UNAVAIL") continue;
        if (call.issues?.length) problems.push(`${where}: call issues ${JSON.stringify(call.issues)}`);
        const logArgs = normalizeLog(entry.args) ?? [];
        same(normalizeOurs(argList(call.args) as Json, logArgs) ?? [], logArgs, `${where} args`, problems);
        if (entry.status === "SUCCESS") {
          if (reply.issues?.length) problems.push(`${where}: reply issues ${JSON.stringify(reply.issues)}`);
          const logRes = normalizeLog(entry.result);
          same(normalizeOurs(reply.res ?? null, logRes), logRes, `${where} result`, problems);
        }
        bodiesCompared++;
      }
      expect(problems).toEqual([]);
      expect(bodiesCompared).toBeGreaterThanOrEqual(name === "demo-tcp-udp" ? 28 : 10);
    });
  }
});
