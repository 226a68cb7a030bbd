/**
 * Wireshark's libvirt plugin on libvirt-test.pcap (committed beside it), and
 * counts taken from it directly, so tests compare rpcscope with figures that
 * rpcscope did not compute.
 */
import { readFileSync } from "node:fs";
import { LIBVIRT_REFERENCE } from "./mixed-capture.js";

export interface RefMessage {
  readonly frame: number;
  readonly prog: number;
  readonly vers: number;
  readonly proc: number;
  /** 0 CALL, 1 REPLY, 2 MESSAGE, 3 STREAM, … */
  readonly type: number;
  readonly serial: number;
  /** 0 OK, 1 ERROR, 2 CONTINUE. */
  readonly status: number;
  readonly procName: string;
}

export const REF: readonly RefMessage[] = readFileSync(LIBVIRT_REFERENCE, "utf8")
  .split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as RefMessage);

export function refFrames(pick: (m: RefMessage) => boolean): number[] {
  return REF.filter(pick).map((m) => m.frame);
}

/** Per procedure name: messages of each type, and ERROR replies. */
export function refCountsByProcedure(): Map<string, { calls: number; replies: number; events: number; errors: number }> {
  const out = new Map<string, { calls: number; replies: number; events: number; errors: number }>();
  for (const m of REF) {
    let c = out.get(m.procName);
    if (!c) out.set(m.procName, (c = { calls: 0, replies: 0, events: 0, errors: 0 }));
    if (m.type === 0 || m.type === 4) c.calls++;
    else if (m.type === 1 || m.type === 5) {
      c.replies++;
      if (m.status === 1) c.errors++;
    } else if (m.type === 2) c.events++;
  }
  return out;
}
