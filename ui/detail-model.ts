/**
 * The call and the reply of one exchange as one tree of labelled nodes with byte
 * ranges (the TUI's detail pane, and anything else that wants Wireshark's packet
 * details). Pure: strings stay raw here; the views escape them.
 */
import type { Auth, RpcCall, RpcReply } from "../dissect/rpc-types.js";
import type { DecodedField } from "../dissect/xdr-types.js";
import { authFlavorName, gssProcName, gssServiceName } from "../dissect/rpc-names.js";
import type { ByteRange, TreeNode } from "./tui/data-source.js";
import { childrenOf, describeValue } from "./body-format.js";
import type { Names } from "./summary-format.js";

type Side = "call" | "reply";

function node(label: string, side: Side, offset: number, length: number, children: TreeNode[] = [], key?: string): TreeNode {
  const range: ByteRange = { message: side, offset, length };
  return { label, children, range, ...(key ? { key } : {}) };
}

const pad4 = (n: number) => (n + 3) & ~3;

function authNode(title: string, auth: Auth, side: Side, key: string): TreeNode {
  const total = 8 + pad4(auth.length);
  const children: TreeNode[] = [
    node(`Flavor: ${authFlavorName(auth.flavor)} (${auth.flavor})`, side, auth.offset, 4),
    node(`Length: ${auth.length}`, side, auth.offset + 4, 4),
  ];
  let p = auth.offset + 8;
  switch (auth.kind) {
    case "sys": {
      children.push(node(`Stamp: 0x${auth.stamp.toString(16).padStart(8, "0")}`, side, p, 4));
      p += 4;
      const nameLen = pad4(Buffer.byteLength(auth.machinename, "utf8"));
      children.push(node(`Machine name: ${auth.machinename}`, side, p, 4 + nameLen));
      p += 4 + nameLen;
      children.push(node(`UID: ${auth.uid}`, side, p, 4));
      children.push(node(`GID: ${auth.gid}`, side, p + 4, 4));
      children.push(node(`Auxiliary GIDs (${auth.gids.length}): ${auth.gids.join(", ")}`, side, p + 8, 4 + 4 * auth.gids.length));
      break;
    }
    case "gss":
      if (auth.version !== undefined) {
        children.push(node(`GSS version: ${auth.version}`, side, p, 4));
        children.push(node(`GSS procedure: ${gssProcName(auth.gssProc ?? 0)}`, side, p + 4, 4));
        children.push(node(`Sequence number: ${auth.seqNum}`, side, p + 8, 4));
        children.push(node(`Service: ${gssServiceName(auth.service ?? 0)}`, side, p + 12, 4));
        children.push(node(`Context handle: ${auth.handle?.length ?? 0} bytes`, side, p + 16, 4 + pad4(auth.handle?.length ?? 0)));
      } else children.push(node(`Checksum: ${auth.body.length} bytes`, side, p, auth.length));
      break;
    case "dh":
      if (auth.netname !== undefined) children.push(node(`Net name: ${auth.netname}`, side, p + 4, auth.length - 4));
      else if (auth.nickname !== undefined) children.push(node(`Nickname: ${auth.nickname}`, side, p + 4, 4));
      break;
    case "none":
      break;
    default:
      if (auth.length > 0) children.push(node(`Body: ${auth.length} bytes`, side, p, auth.length));
  }
  return node(`${title}: ${authFlavorName(auth.flavor)}`, side, auth.offset, total, children, key);
}

/** A decoded body as tree nodes; iterative, since nesting comes from the packet. */
export function fieldTree(root: DecodedField, side: Side, keyPrefix: string): TreeNode {
  interface Work {
    field: DecodedField;
    out: TreeNode[];
    key: string;
  }
  const top: TreeNode[] = [];
  const stack: Work[] = [{ field: root, out: top, key: keyPrefix }];
  while (stack.length > 0) {
    const { field, out, key } = stack.pop()!;
    const desc = describeValue(field.value);
    const children: TreeNode[] = [];
    const n: TreeNode = {
      label: `${field.name}: ${field.typeName}${desc ? ` = ${desc}` : ""}`,
      children,
      key,
      range: { message: side, offset: field.offset, length: field.length },
      ...(field.value.kind === "malformed" ? { isError: true } : {}),
    };
    out.push(n);
    const kids = childrenOf(field.value);
    // Pushed in reverse so the first child is popped (and appended) first.
    for (let i = kids.length - 1; i >= 0; i--) stack.push({ field: kids[i]!, out: children, key: `${key}.${kids[i]!.name}` });
  }
  return top[0]!;
}

export interface MessageContext {
  readonly frame: number;
  readonly frames: readonly number[];
  readonly transport: string;
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly length: number;
  readonly time: number;
}

function endpoint(addr: string, port: number): string {
  return addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function frameLabel(side: Side, m: MessageContext): string {
  const frames = m.frames.length > 1 ? `frames ${m.frames.join(", ")}` : `frame ${m.frame}`;
  return `${side === "call" ? "Call" : "Reply"} in ${frames}: ${m.transport.toUpperCase()} ${endpoint(m.src, m.sport)} -> ${endpoint(m.dst, m.dport)}, ${m.length} bytes, t=${m.time.toFixed(6)}`;
}

export function callTree(names: Names, m: MessageContext, h: RpcCall, args: DecodedField | null, argsNote: string | null): TreeNode[] {
  const prog = names.programName(h.prog) ?? String(h.prog);
  const proc = names.procedureName(h.prog, h.vers, h.proc);
  const header = node(`Remote Procedure Call: CALL xid 0x${h.xid.toString(16).padStart(8, "0")}`, "call", 0, h.bodyOffset, [
    node(`XID: 0x${h.xid.toString(16).padStart(8, "0")} (${h.xid})`, "call", 0, 4),
    node("Message type: CALL (0)", "call", 4, 4),
    node(`RPC version: ${h.rpcvers}`, "call", 8, 4),
    node(`Program: ${prog} (${h.prog})`, "call", 12, 4),
    node(`Program version: ${h.vers}`, "call", 16, 4),
    node(`Procedure: ${proc} (${h.proc})`, "call", 20, 4),
    authNode("Credentials", h.cred, "call", "rpc.cred"),
    authNode("Verifier", h.verf, "call", "rpc.verf"),
  ], "rpc.call");
  const out: TreeNode[] = [{ label: frameLabel("call", m), children: [], key: "frame.call" }, header];
  if (args) {
    const t = fieldTree(args, "call", "args");
    out.push({ ...t, label: `${prog} v${h.vers} ${proc} arguments` });
  } else if (argsNote) out.push({ label: `Arguments: ${argsNote}`, children: [], key: "args.note" });
  return out;
}

export function replyTree(
  names: Names,
  m: MessageContext,
  h: RpcReply,
  call: RpcCall | null,
  res: DecodedField | null,
  resNote: string | null,
): TreeNode[] {
  const children: TreeNode[] = [
    node(`XID: 0x${h.xid.toString(16).padStart(8, "0")} (${h.xid})`, "reply", 0, 4),
    node("Message type: REPLY (1)", "reply", 4, 4),
    node(`Reply state: ${h.replyStat === "accepted" ? "MSG_ACCEPTED (0)" : "MSG_DENIED (1)"}`, "reply", 8, 4),
  ];
  if (h.verf) {
    children.push(authNode("Verifier", h.verf, "reply", "rpc.rverf"));
    const at = h.verf.offset + 8 + pad4(h.verf.length);
    children.push(node(`Accept state: ${h.status}`, "reply", at, 4));
    if (h.mismatch) children.push(node(`Supported versions: ${h.mismatch.low} to ${h.mismatch.high}`, "reply", at + 4, 8));
  } else {
    children.push(node(`Reject state: ${h.status}`, "reply", 12, 4));
    if (h.mismatch) children.push(node(`Supported RPC versions: ${h.mismatch.low} to ${h.mismatch.high}`, "reply", 16, 8));
    if (h.authStat !== undefined) children.push(node(`Auth state: ${h.authStat}`, "reply", 16, 4));
  }
  const header = { ...node(`Remote Procedure Call: REPLY xid 0x${h.xid.toString(16).padStart(8, "0")} ${h.status}`, "reply", 0, h.bodyOffset, children, "rpc.reply"), ...(h.status !== "SUCCESS" ? { isError: true } : {}) };
  const out: TreeNode[] = [{ label: frameLabel("reply", m), children: [], key: "frame.reply" }, header];
  if (res && call) {
    const prog = names.programName(call.prog) ?? String(call.prog);
    const proc = names.procedureName(call.prog, call.vers, call.proc);
    const t = fieldTree(res, "reply", "res");
    out.push({ ...t, label: `${prog} v${call.vers} ${proc} results` });
  } else if (resNote) out.push({ label: `Results: ${resNote}`, children: [], key: "res.note" });
  return out;
}
