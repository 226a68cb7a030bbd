/**
 * `rpcscope interfaces`: the interfaces live capture can use (libpcap's list, through
 * the optional `cap` package), with their addresses.
 */
import { parseArgs } from "node:util";
import { listInterfaces, LiveCaptureError, type LiveInterface } from "../../capture/live-capture.js";
import { COMMON_OPTIONS } from "../cli-options.js";
import { LineWriter } from "../line-writer.js";
import { escapeForTerminal, jsonSafeStringify } from "../text-safety.js";

export const INTERFACES_USAGE = `rpcscope interfaces — interfaces that can be captured on

Usage:
  rpcscope interfaces [--json]

Lists libpcap's interfaces (as 'tcpdump -D' does) with their addresses; use a name
with 'rpcscope capture -i NAME' or 'rpcscope -i NAME'.`;

/** Netmask → prefix length ("255.255.255.0" → 24, "ffff:ffff::" → 32); null when it is not a contiguous mask. */
export function prefixLength(netmask: string): number | null {
  const bits: number[] = [];
  if (netmask.includes(":")) {
    const [head = "", tail = ""] = netmask.split("::");
    const h = head ? head.split(":") : [];
    const t = tail ? tail.split(":") : [];
    if (!netmask.includes("::") && h.length !== 8) return null;
    const groups = [...h, ...new Array<string>(8 - h.length - t.length).fill("0"), ...t];
    if (groups.length !== 8) return null;
    for (const g of groups) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return null;
      const v = parseInt(g, 16);
      for (let i = 15; i >= 0; i--) bits.push((v >> i) & 1);
    }
  } else {
    const parts = netmask.split(".");
    if (parts.length !== 4) return null;
    for (const p of parts) {
      if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return null;
      for (let i = 7; i >= 0; i--) bits.push((Number(p) >> i) & 1);
    }
  }
  const firstZero = bits.indexOf(0);
  const ones = firstZero < 0 ? bits.length : firstZero;
  return bits.includes(1, ones) ? null : ones;
}

function addressText(a: LiveInterface["addresses"][number]): string {
  if (a.netmask === null) return a.addr;
  const len = prefixLength(a.netmask);
  return len === null ? `${a.addr} netmask ${a.netmask}` : `${a.addr}/${len}`;
}

/** One line per interface: name, addresses, and what it is. */
export function formatInterfaces(list: readonly LiveInterface[]): string[] {
  const width = Math.min(24, Math.max(4, ...list.map((d) => d.name.length)));
  return list.map((d, i) => {
    const notes: string[] = [];
    if (d.loopback) notes.push("loopback");
    if (d.description) notes.push(d.description);
    const addrs = d.addresses.map(addressText).join(", ");
    const text = `${String(i + 1).padStart(2)}. ${d.name.padEnd(width)}  ${addrs || "(no addresses)"}${notes.length ? `  [${notes.join("; ")}]` : ""}`;
    return escapeForTerminal(text);
  });
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...COMMON_OPTIONS } });
  if (values.help) {
    process.stdout.write(INTERFACES_USAGE + "\n");
    return 0;
  }
  if (positionals.length > 0) {
    process.stderr.write(`rpcscope: interfaces takes no arguments\n`);
    return 2;
  }
  let list: LiveInterface[];
  try {
    list = listInterfaces();
  } catch (err) {
    if (err instanceof LiveCaptureError) {
      process.stderr.write(`rpcscope: ${escapeForTerminal(err.message)}\n`);
      return 2;
    }
    throw err;
  }
  const out = new LineWriter(1);
  if (values.json) for (const d of list) out.line(jsonSafeStringify(d));
  else for (const line of formatInterfaces(list)) out.line(line);
  out.flush();
  return 0;
}
