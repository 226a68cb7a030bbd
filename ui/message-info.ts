/**
 * The short "info" text of a row.
 *
 * `MessageInfoContext` (one per capture, fed every message in frame order) gives
 * NFS and MOUNT messages their file context: `READ /export/hello.txt 4096@0`,
 * `PUTFH(/export/sub) OPEN("a.txt") GETFH`, `LOOKUP /export "missing.txt" NFS3ERR_NOENT`
 * (see dissect/nfs-context.ts); other programs get the stateless `messageInfo`.
 *
 * `messageInfo(args, res)` alone: the operations of an NFSv4 COMPOUND
 * ("SEQUENCE PUTFH READ"), or the name a call is about (a LOOKUP's file name).
 */
import type { DecodedField } from "../dissect/xdr-types.js";
import type { RpcCall, RpcReply } from "../dissect/rpc-types.js";
import type { Limits } from "../capture/limits.js";
import { isNfsContextProgram, NFS_PROGRAM, NfsContext, nfsReplyBodyNeeded, type NfsContextOptions } from "../dissect/nfs-context.js";
import {
  isNfs3FactsProcedure, NFS3_PROC_LOOKUP, readNfs3CallFacts, readNfs3LookupCall, readNfs3LookupReply,
} from "../dissect/nfs3-call-facts.js";
import type { ProgramRegistry } from "../dissect/registry.js";
import type { AnalyzedMessage } from "./analyze.js";

/**
 * Whether the info text needs this body decoded: NFS and MOUNT calls, and the
 * replies the file-name context learns from (LOOKUP, CREATE…). Of the other
 * replies (READ, GETATTR…) it needs only the status word: see statusWordCall.
 */
export function infoNeedsBody(call: RpcCall, kind: "call" | "reply"): boolean {
  return isNfsContextProgram(call.prog, call.vers) && (kind === "call" || nfsReplyBodyNeeded(call.prog, call.vers, call.proc));
}

/**
 * For a reply left undecoded whose status word the info text wants (an NFS reply
 * it learns nothing from): its call, to read the word with (BodyStatusReader);
 * null otherwise. `info` then takes the status read as its `bodyStatus`.
 */
export function statusWordCall(m: AnalyzedMessage): RpcCall | null {
  const h = m.msg.header;
  const call = m.msg.exchange?.call?.header;
  if (m.res !== null || h?.kind !== "reply" || call?.kind !== "call") return null;
  return isNfsContextProgram(call.prog, call.vers) && !nfsReplyBodyNeeded(call.prog, call.vers, call.proc) ? call : null;
}

const NAME_FIELD = /^(name|filename|dirpath|path|linkname|objname)$/i;

/** Enum names of the discriminants of an `argarray`/`resarray` of unions, OP_ prefix removed. */
function compoundOps(root: DecodedField, arrayName: string): string | null {
  if (root.value.kind !== "struct") return null;
  const arr = root.value.fields.find((f) => f.name === arrayName);
  if (!arr || arr.value.kind !== "array") return null;
  const ops: string[] = [];
  for (const el of arr.value.elements) {
    if (el.value.kind !== "union") continue;
    const d = el.value.disc.value;
    if (d.kind === "enum") ops.push(d.name ? d.name.replace(/^OP_/, "") : String(d.value));
    if (ops.length >= 16) {
      ops.push("…");
      break;
    }
  }
  return ops.length ? ops.join(" ") : null;
}

/** The first name-like string within a few levels of the arguments. */
function firstName(root: DecodedField): string | null {
  const queue: { f: DecodedField; depth: number }[] = [{ f: root, depth: 0 }];
  for (let i = 0; i < queue.length && i < 64; i++) {
    const { f, depth } = queue[i]!;
    if (f.value.kind === "string" && NAME_FIELD.test(f.name)) return f.value.text;
    if (depth >= 3) continue;
    if (f.value.kind === "struct") for (const c of f.value.fields) queue.push({ f: c, depth: depth + 1 });
    else if (f.value.kind === "union" && f.value.arm) queue.push({ f: f.value.arm, depth: depth + 1 });
  }
  return null;
}

export function messageInfo(args: DecodedField | null, res: DecodedField | null): string {
  if (args) {
    const ops = compoundOps(args, "argarray");
    if (ops) return ops;
    const name = firstName(args);
    if (name !== null) return `"${name}"`;
  }
  void res;
  return "";
}

/**
 * Info texts with memory: create one per capture and call `info` for every
 * message, in frame order (retransmitted calls and unmatched replies included),
 * at the time it is analysed (not later: a reply's text needs its call's facts,
 * and what a path is depends on what came before).
 */
export class MessageInfoContext {
  readonly nfs: NfsContext;

  constructor(options: NfsContextOptions = {}) {
    this.nfs = new NfsContext(options);
  }

  /**
   * The info text of a message; a reply's text describes its whole exchange.
   * `bodyStatus`: for a reply left undecoded (nfsReplyBodyNeeded), its body
   * status when an error, else null.
   */
  info(m: AnalyzedMessage, bodyStatus?: string | null): string {
    const h = m.msg.header;
    if (!h) return "";
    if (h.kind === "call") {
      const text = this.nfs.process({
        kind: "call", prog: h.prog, vers: h.vers, proc: h.proc, args: m.args, res: null, pairing: m.msg.exchange,
      });
      return text ?? messageInfo(m.args, null);
    }
    const call = m.msg.exchange?.call?.header;
    if (!call || call.kind !== "call") return messageInfo(null, m.res);
    const text = this.nfs.process({
      kind: "reply", prog: call.prog, vers: call.vers, proc: call.proc, args: null, res: m.res, pairing: m.msg.exchange,
      ...(bodyStatus !== undefined ? { bodyStatus } : {}),
    });
    return text ?? messageInfo(null, m.res);
  }

  /**
   * The info text of a call left undecoded because nfs3FactsCall said so, read from
   * its bytes: the same text `info` gives it decoded. When its arguments are anything
   * but clean and complete they are decoded after all: then the message comes back
   * as decoding gives it (arguments and body issues), else as it was.
   */
  infoFromBytes(
    m: AnalyzedMessage, call: RpcCall, record: Uint8Array, truncatedAt: number | null,
    registry: ProgramRegistry, limits: Limits,
  ): { readonly m: AnalyzedMessage; readonly info: string } {
    if (truncatedAt === null) {
      if (call.proc === NFS3_PROC_LOOKUP) {
        const type = registry.argumentsTypeOf(call);
        const facts = type ? readNfs3LookupCall(record, call.bodyOffset, type, limits) : null;
        if (facts) return { m, info: this.nfs.processNfs3LookupCall(facts, m.msg.exchange) };
      } else {
        const facts = readNfs3CallFacts(record, call.bodyOffset, call.proc, limits);
        if (facts) return { m, info: this.nfs.processNfs3CallFacts(call.proc, facts, m.msg.exchange) };
      }
    }
    const d = registry.decodeCall(call, record, limits, truncatedAt ?? undefined);
    const decoded: AnalyzedMessage = { ...m, args: d.args, bodyIssues: d.issues };
    return { m: decoded, info: this.info(decoded) };
  }

  /**
   * The info text of a reply left undecoded because nfs3ReplyFactsCall said so (an
   * NFSv3 LOOKUP's), read from its bytes: the same text, and the same learning, as
   * `info` with its results decoded. A reply that is anything but clean is decoded
   * after all and comes back as decoding gives it.
   */
  replyInfoFromBytes(
    m: AnalyzedMessage, call: RpcCall, reply: RpcReply, record: Uint8Array, truncatedAt: number | null,
    registry: ProgramRegistry, limits: Limits,
  ): { readonly m: AnalyzedMessage; readonly info: string } {
    // Only an accepted SUCCESS reply has results to decode (RFC 5531 §9).
    if (reply.status === "SUCCESS" && truncatedAt === null) {
      const type = registry.resultTypeOf(call);
      const facts = type ? readNfs3LookupReply(record, reply.bodyOffset, type, limits) : null;
      if (facts) return { m, info: this.nfs.processNfs3LookupReply(facts, m.msg.exchange) };
    }
    const d = registry.decodeReply(call, reply, record, limits, truncatedAt ?? undefined);
    const decoded: AnalyzedMessage = { ...m, res: d.res, bodyIssues: d.issues };
    return { m: decoded, info: this.info(decoded) };
  }
}

/** Whether a reply to this call may be read as facts (readNfs3LookupReply): an NFSv3 LOOKUP of the built-in spec. */
export function nfs3ReplyFactsCall(call: RpcCall, registry: ProgramRegistry): boolean {
  return call.prog === NFS_PROGRAM && call.vers === 3 && call.proc === NFS3_PROC_LOOKUP &&
    registry.lookup(call.prog, call.vers, call.proc)?.specSource === "builtin";
}

/**
 * Whether the arguments of this call may be read as facts (readNfs3CallFacts,
 * readNfs3LookupCall) for the info text instead of being decoded: an NFSv3 GETATTR,
 * LOOKUP, ACCESS, READ, WRITE or COMMIT whose specification is the built-in one (a
 * user's `.x` for NFSv3 may say otherwise).
 */
export function nfs3FactsCall(call: RpcCall, registry: ProgramRegistry): boolean {
  return call.prog === NFS_PROGRAM && call.vers === 3 && (isNfs3FactsProcedure(call.proc) || call.proc === NFS3_PROC_LOOKUP) &&
    registry.lookup(call.prog, call.vers, call.proc)?.specSource === "builtin";
}

