/** Shared by the NFS tests: samples run through ui/analyze.ts with the built-in specs, and tshark's references. */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import type { ProgramRegistry } from "../../dissect/registry.js";
import type { DecodedField } from "../../dissect/xdr-types.js";
import { analyzeCapture, type AnalyzedMessage } from "../../ui/analyze.js";
import { loadRegistry } from "../../ui/spec-loader.js";

export const NFS_SAMPLES = fileURLToPath(new URL("../../samples/nfs/", import.meta.url));
const SPEC_DIR = fileURLToPath(new URL("../../dissect/specs/", import.meta.url));

let registry: Promise<ProgramRegistry> | null = null;
export function builtinRegistry(): Promise<ProgramRegistry> {
  registry ??= loadRegistry({ userSpecs: [], defines: new Map(), builtinDir: SPEC_DIR });
  return registry;
}

/** What a test needs of a message after the pipeline let go of its record. */
export interface SampleMessage {
  readonly m: AnalyzedMessage;
  readonly frame: number;
  readonly kind: "call" | "reply";
  readonly prog: number | null;
  readonly vers: number | null;
  readonly proc: number | null;
  /** Every file handle of the body, in wire order, copied (nfs_fh3 / nfs_fh4 / fhandle3 typed fields). */
  readonly handles: Uint8Array[];
}

/** Runs a capture; `each` sees every message while its record is still valid. */
export async function runSample(
  file: string,
  each?: (m: AnalyzedMessage) => void,
): Promise<SampleMessage[]> {
  const out: SampleMessage[] = [];
  await analyzeCapture(
    { kind: "file", path: NFS_SAMPLES + file },
    { limits: DEFAULT_LIMITS, registry: await builtinRegistry(), decodeBodies: true },
    {
      message(m) {
        each?.(m);
        const h = m.msg.header;
        if (!h) return;
        const call = h.kind === "call" ? h : m.msg.exchange?.call?.header;
        const triple = call && call.kind === "call" ? call : null;
        const handles: Uint8Array[] = [];
        collectHandles(h.kind === "call" ? m.args : m.res, handles);
        out.push({
          m, frame: m.msg.frame, kind: h.kind, prog: triple?.prog ?? null, vers: triple?.vers ?? null,
          proc: triple?.proc ?? null, handles,
        });
      },
    },
  );
  return out;
}

const HANDLE_TYPES = new Set(["nfs_fh3", "nfs_fh4", "fhandle3"]);

/** Depth-first, in wire order (an explicit stack: no recursion driven by data). */
export function collectHandles(root: DecodedField | null, out: Uint8Array[]): void {
  if (!root) return;
  const stack: DecodedField[] = [root];
  while (stack.length) {
    const f = stack.pop()!;
    const v = f.value;
    if (HANDLE_TYPES.has(f.typeName)) {
      if (v.kind === "opaque") out.push(v.bytes.slice());
      else if (v.kind === "struct") {
        const d = v.fields.find((c) => c.name === "data");
        if (d && d.value.kind === "opaque") out.push(d.value.bytes.slice());
      }
      continue;
    }
    const kids: DecodedField[] = [];
    if (v.kind === "struct") kids.push(...v.fields);
    else if (v.kind === "array") kids.push(...v.elements);
    else if (v.kind === "union") {
      kids.push(v.disc);
      if (v.arm) kids.push(v.arm);
    } else if (v.kind === "optional" && v.value) kids.push(v.value);
    for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i]!);
  }
}

export interface TsharkLine {
  readonly frame: number;
  readonly xid: number;
  readonly kind: "call" | "reply";
  readonly prog: number | null;
  readonly vers: number | null;
  readonly proc: number | null;
  readonly procName: string | null;
  readonly nfsStatus?: number;
  readonly fhHash?: number[];
  readonly nfsOps?: string[];
}

export function tsharkReference(file: string): TsharkLine[] {
  return readFileSync(NFS_SAMPLES + file + ".tshark.ndjson", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as TsharkLine);
}
