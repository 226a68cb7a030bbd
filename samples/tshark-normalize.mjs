#!/usr/bin/env node
// Turns tshark's decode of a capture into the reference format committed
// beside each sample: one JSON object per line, one line per RPC message
// (or per libvirt message with --libvirt), in frame order.
//
//   node samples/tshark-normalize.mjs [--libvirt] CAPTURE        run tshark, print NDJSON
//   node samples/tshark-normalize.mjs [--libvirt] --pdml < FILE   normalise saved PDML
//   node samples/tshark-normalize.mjs [--libvirt] --command CAPTURE   print the tshark command
//
// PDML rather than `-T json` is read because only PDML carries each field's
// display text: the procedure name tshark knows ("Procedure: GETADDR (3)")
// is in the showname, not the value. Plain ESM JavaScript, no dependencies,
// so it runs without a build step. See samples/README.md for the format.

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** Preferences that make tshark find every RPC message (see samples/README.md). */
export const BASE_TSHARK_ARGS = [
  "-2",
  "-o", "tcp.try_heuristic_first:TRUE",
  "-o", "udp.try_heuristic_first:TRUE",
  "-o", "rpc.dissect_unknown_programs:TRUE",
  "-o", "tcp.desegment_tcp_streams:TRUE",
  "-o", "rpc.desegment_rpc_over_tcp:TRUE",
  "-o", "rpc.defragment_rpc_over_tcp:TRUE",
];

/**
 * Extra tshark arguments for one capture ("Decode As" for programs on
 * ports tshark does not know), read from `<capture>.tshark-args` or, failing
 * that, from `tshark-args` in the capture's folder: whitespace-separated
 * arguments, `#` starts a comment.
 */
export function extraArgsFor(capture) {
  for (const file of [`${capture}.tshark-args`, join(dirname(capture), "tshark-args")]) {
    if (existsSync(file)) {
      return readFileSync(file, "utf8")
        .split("\n")
        .map((line) => line.replace(/#.*/, "").trim())
        .filter((line) => line !== "")
        .flatMap((line) => line.split(/\s+/));
    }
  }
  return [];
}

/** The full tshark argument list used for a reference decode. */
export function tsharkArgs(capture, { libvirt = false } = {}) {
  const layers = libvirt ? "frame libvirt" : "frame rpc nfs";
  const filter = libvirt ? "libvirt" : "rpc";
  return [...BASE_TSHARK_ARGS, ...extraArgsFor(capture), "-r", capture, "-T", "pdml", "-J", layers, "-Y", filter];
}

// RFC 5531 section 9: accept_stat and reject_stat, named as rpcscope prints them.
const ACCEPT_STAT = ["SUCCESS", "PROG_UNAVAIL", "PROG_MISMATCH", "PROC_UNAVAIL", "GARBAGE_ARGS", "SYSTEM_ERR"];
const REJECT_STAT = ["RPC_MISMATCH", "AUTH_ERROR"];

const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
function unescapeXml(s) {
  if (!s.includes("&")) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|\w+);/g, (whole, body) => {
    if (body.startsWith("#x")) return String.fromCodePoint(parseInt(body.slice(2), 16));
    if (body.startsWith("#")) return String.fromCodePoint(parseInt(body.slice(1), 10));
    return ENTITIES[body] ?? whole;
  });
}

const TAG = /<(\/?)(proto|field|packet)\b([^>]*?)(\/?)>/g;
const ATTR = /([\w.:-]+)="([^"]*)"/g;

function attributes(text) {
  const out = {};
  for (const m of text.matchAll(ATTR)) out[m[1]] = unescapeXml(m[2]);
  return out;
}

/**
 * One <packet> element as a list of top-level protocols, each with its
 * fields flattened in document order: [{ name, fields: [{name, show, showname}] }].
 */
function parsePacket(xml) {
  const protos = [];
  let current = null;
  let depth = 0;
  for (const m of xml.matchAll(TAG)) {
    const [, closing, tag, attrText, selfClosing] = m;
    if (tag === "packet") continue;
    if (tag === "proto") {
      if (closing) {
        depth--;
        if (depth === 0) current = null;
        continue;
      }
      const attrs = attributes(attrText);
      if (depth === 0) {
        current = { name: attrs.name ?? "", fields: [] };
        protos.push(current);
      }
      if (!selfClosing) depth++;
      continue;
    }
    if (closing || current === null) continue;
    const attrs = attributes(attrText);
    if (attrs.name) current.fields.push({ name: attrs.name, show: attrs.show ?? "", showname: attrs.showname ?? "" });
  }
  return protos;
}

function first(proto, name) {
  return proto.fields.find((f) => f.name === name);
}
function all(proto, name) {
  return proto.fields.filter((f) => f.name === name);
}
function num(field) {
  if (field === undefined || field.show === "") return null;
  const n = Number(field.show); // handles "0x1a2b" and "12"
  return Number.isFinite(n) ? n : null;
}

/** The name in a showname like "Procedure: GETADDR (3)"; null for tshark's placeholders. */
function procedureName(field) {
  if (field === undefined) return null;
  const m = /^[^:]*:\s*(.*?)\s*\(\d+\)\s*$/.exec(field.showname);
  if (!m || m[1] === "") return null;
  const name = m[1];
  if (/^proc-\d+$/i.test(name) || /^unknown/i.test(name)) return null;
  return name;
}

function rpcMessage(frame, rpc, programLayer) {
  const kind = num(first(rpc, "rpc.msgtyp")) === 1 ? "reply" : "call";
  const procField = first(rpc, "rpc.procedure");
  let status = null;
  let time = null;
  if (kind === "reply") {
    const replyStat = num(first(rpc, "rpc.replystat"));
    if (replyStat === 0) {
      const a = num(first(rpc, "rpc.state_accept"));
      status = a === null ? null : (ACCEPT_STAT[a] ?? `UNKNOWN(${a})`);
    } else if (replyStat === 1) {
      const r = num(first(rpc, "rpc.state_reject"));
      status = r === null ? null : (REJECT_STAT[r] ?? `UNKNOWN(${r})`);
    } else if (replyStat !== null) {
      status = `UNKNOWN(${replyStat})`;
    }
    time = num(first(rpc, "rpc.time"));
  }
  // tshark 4.0 puts "The reply to this request is in frame N" in
  // rpc.reqframe on calls and "This is a reply to a request in frame N" in
  // rpc.repframe on replies; take whichever is there.
  const peer = first(rpc, "rpc.reqframe") ?? first(rpc, "rpc.repframe");
  const msg = {
    frame,
    xid: num(first(rpc, "rpc.xid")),
    kind,
    prog: num(first(rpc, "rpc.program")),
    vers: num(first(rpc, "rpc.programversion")),
    proc: num(procField),
    status,
    peerFrame: num(peer),
    time,
    procName: procedureName(procField),
  };
  if (programLayer !== null && programLayer.name === "nfs") {
    const stat =
      first(programLayer, "nfs.nfsstat4") ?? first(programLayer, "nfs.status3") ?? first(programLayer, "nfs.status2");
    const hashes = all(programLayer, "nfs.fh.hash").map((f) => num(f)).filter((n) => n !== null);
    // NFSv4 COMPOUND: the operations in order ("Opcode: PUTFH (22)", ...).
    const ops = all(programLayer, "nfs.opcode")
      .map((f) => /^[^:]*:\s*([A-Za-z0-9_]+)/.exec(f.showname)?.[1] ?? `op-${f.show}`);
    if (stat !== undefined) msg.nfsStatus = num(stat);
    if (hashes.length > 0) msg.fhHash = hashes;
    if (ops.length > 0) msg.nfsOps = ops;
  }
  return msg;
}

function libvirtMessage(frame, lv) {
  return {
    frame,
    prog: num(first(lv, "libvirt.program")),
    vers: num(first(lv, "libvirt.version")),
    proc: num(first(lv, "libvirt.procedure")),
    type: num(first(lv, "libvirt.type")),
    serial: num(first(lv, "libvirt.serial")),
    status: num(first(lv, "libvirt.status")),
    procName: procedureName(first(lv, "libvirt.procedure")),
  };
}

/** Normalise one <packet>…</packet> element into zero or more messages. */
export function normalizePacket(xml, { libvirt = false } = {}) {
  const protos = parsePacket(xml);
  const frameProto = protos.find((p) => p.name === "frame");
  const frame = num(frameProto && first(frameProto, "frame.number")) ?? num(protos[0] && first(protos[0], "num"));
  const out = [];
  for (let i = 0; i < protos.length; i++) {
    const p = protos[i];
    if (libvirt) {
      if (p.name === "libvirt") out.push(libvirtMessage(frame, p));
      continue;
    }
    // tshark also shows an "rpc" layer for each non-final record fragment
    // ("Remote Procedure Call Fragment"); only the frame that completes the
    // record carries the message header.
    if (p.name !== "rpc" || first(p, "rpc.msgtyp") === undefined) continue;
    // The program's own layer (portmap, nfs, mount, ...) follows its rpc layer.
    const next = protos[i + 1];
    out.push(rpcMessage(frame, p, next !== undefined && next.name !== "rpc" ? next : null));
  }
  return out;
}

/** Normalise a PDML stream (async iterable of string chunks), yielding NDJSON lines. */
export async function* normalizePdml(chunks, options = {}) {
  let buffer = "";
  for await (const chunk of chunks) {
    buffer += chunk;
    let end;
    while ((end = buffer.indexOf("</packet>")) >= 0) {
      const start = buffer.indexOf("<packet>");
      const packet = buffer.slice(start < 0 ? 0 : start, end);
      buffer = buffer.slice(end + "</packet>".length);
      for (const msg of normalizePacket(packet, options)) yield JSON.stringify(msg);
    }
  }
}

async function main(argv) {
  // A closed pipe (e.g. `| head`) ends the output quietly.
  process.stdout.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
  const libvirt = argv.includes("--libvirt");
  const rest = argv.filter((a) => a !== "--libvirt");
  const write = (line) => process.stdout.write(line + "\n");
  if (rest[0] === "--pdml") {
    process.stdin.setEncoding("utf8");
    for await (const line of normalizePdml(process.stdin, { libvirt })) write(line);
    return 0;
  }
  if (rest[0] === "--command" && rest[1]) {
    write(["tshark", ...tsharkArgs(rest[1], { libvirt })].map((a) => (/[\s"']/.test(a) ? JSON.stringify(a) : a)).join(" "));
    return 0;
  }
  if (rest.length !== 1) {
    process.stderr.write("usage: tshark-normalize.mjs [--libvirt] CAPTURE | --pdml < PDML | --command CAPTURE\n");
    return 2;
  }
  const child = spawn("tshark", tsharkArgs(rest[0], { libvirt }), { stdio: ["ignore", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (d) => (stderr += d));
  child.stdout.setEncoding("utf8");
  const exited = new Promise((resolve) => child.on("close", (code) => resolve(code)));
  for await (const line of normalizePdml(child.stdout, { libvirt })) write(line);
  const code = await exited;
  if (code !== 0) {
    process.stderr.write(`tshark failed on ${basename(rest[0])} (exit ${code}):\n${stderr}`);
    return 1;
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (err) => {
      process.stderr.write(String(err && err.stack ? err.stack : err) + "\n");
      process.exitCode = 1;
    },
  );
}
