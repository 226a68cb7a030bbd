/**
 * Every sample with a committed tshark reference decode must agree with rpcscope,
 * message by message: xid, kind, prog, vers, proc, status, peer frame, and rtt.
 * Differences where tshark is wrong (or decodes less) are listed in
 * known-differences.ts with the reason; anything else fails.
 */
import { describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, statSync, existsSync } from "node:fs";
import { join, relative } from "node:path";
import { KNOWN_DIFFERENCES } from "./known-differences.js";

const ROOT = join(import.meta.dirname, "..", "..");
const CLI = join(ROOT, "dist", "ui", "rpcscope.cjs");

interface RefMessage {
  frame: number;
  xid: number;
  kind: "call" | "reply";
  prog: number | null;
  vers: number | null;
  proc: number | null;
  status: string | null;
  peerFrame: number | null;
  time: number | null;
}

function findReferences(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findReferences(p));
    else if (name.endsWith(".tshark.ndjson")) out.push(p);
  }
  return out.sort();
}

function readNdjson<T>(text: string): T[] {
  return text.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as T);
}

const references = existsSync(join(ROOT, "samples")) ? findReferences(join(ROOT, "samples")) : [];

describe("agreement with tshark", () => {
  it("has reference decodes to compare against", () => {
    expect(references.length).toBeGreaterThan(0);
  });

  for (const refPath of references) {
    const capture = refPath.replace(/\.tshark\.ndjson$/, "");
    const name = relative(ROOT, capture);
    it(`${name} agrees message by message`, () => {
      const expected = readNdjson<RefMessage>(readFileSync(refPath, "utf8"));
      const stdout = execFileSync(process.execPath, [CLI, "summary", "--json", capture], {
        maxBuffer: 256 * 1024 * 1024,
        encoding: "utf8",
      });
      const actual = readNdjson<RefMessage & { rtt: number | null; protocol: string }>(stdout).filter(
        (m) => m.protocol === "onc-rpc" && m.kind !== "malformed",
      );
      const known = KNOWN_DIFFERENCES[name] ?? [];
      const key = (m: { frame: number; xid: number; kind: string }) => `${m.frame}/${m.xid}/${m.kind}`;
      const ours = new Map(actual.map((m) => [key(m), m]));
      const theirs = new Map(expected.map((m) => [key(m), m]));
      const problems: string[] = [];
      const excused = (k: string, field: string) =>
        known.some((d) => d.messages.includes(k) && (d.fields === "all" || d.fields.includes(field)));
      for (const [k, ref] of theirs) {
        const got = ours.get(k);
        if (!got) {
          if (!excused(k, "presence")) problems.push(`${k}: tshark has it, rpcscope does not`);
          continue;
        }
        for (const field of ["prog", "vers", "proc", "status", "peerFrame"] as const) {
          if (ref[field] !== got[field] && !excused(k, field)) {
            problems.push(`${k}: ${field} tshark=${String(ref[field])} rpcscope=${String(got[field])}`);
          }
        }
        if (ref.kind === "reply" && ref.time !== null && !excused(k, "rtt")) {
          if (got.rtt === null || Math.abs(got.rtt - ref.time) > 1e-6) {
            problems.push(`${k}: rtt tshark=${ref.time} rpcscope=${String(got.rtt)}`);
          }
        }
      }
      for (const k of ours.keys()) {
        if (!theirs.has(k) && !excused(k, "presence")) problems.push(`${k}: rpcscope has it, tshark does not`);
      }
      expect(problems).toEqual([]);
      // Every excuse must still be needed, so the list cannot rot.
      for (const d of known) {
        for (const k of d.messages) {
          expect(theirs.has(k) || ours.has(k), `known difference ${k} (${d.reason}) no longer occurs`).toBe(true);
        }
      }
    });
  }
});
