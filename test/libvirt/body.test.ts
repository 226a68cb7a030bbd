import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { ProgramRegistry } from "../../dissect/registry.js";
import { loadSchema } from "../../dissect/xdr/load-schema.js";
import { bindLibvirtProcedures, registerLibvirtBuiltins } from "../../dissect/libvirt/binding.js";
import { decodeLibvirtBody } from "../../dissect/libvirt/body.js";
import { decodeLibvirtHeader } from "../../dissect/libvirt/header.js";
import { LIBVIRT_DEFINES } from "../../dissect/libvirt/constants.js";
import { RpcPipeline } from "../../dissect/rpc-pipeline.js";
import { registerLibvirt } from "../../dissect/libvirt/libvirt-framing.js";
import { toJsonValue } from "../../ui/body-format.js";
import { namesFor } from "../../ui/names.js";
import { analyzeLibvirtMessage, libvirtSummaryJson, libvirtSummaryLine } from "../../ui/libvirt-format.js";
import { chunk, connection, LibvirtSink, lv, u32, xdrString } from "./helpers.js";

const SPEC = `
typedef string remote_nonnull_string<64>;
struct remote_domain_get_os_type_args { remote_nonnull_string name; };
struct remote_domain_get_os_type_ret { remote_nonnull_string type; };
struct remote_domain_event_reboot_msg { int callbackID; };
const REMOTE_PROGRAM = 0x20008086;
const REMOTE_PROTOCOL_VERSION = 1;
enum remote_procedure { REMOTE_PROC_DOMAIN_GET_OS_TYPE = 19, REMOTE_PROC_DOMAIN_EVENT_REBOOT = 169, REMOTE_PROC_CONNECT_CLOSE = 2 };
`;

function registry(): ProgramRegistry {
  const r = new ProgramRegistry();
  bindLibvirtProcedures(loadSchema([{ path: "r.x", text: SPEC }], { headerConstants: LIBVIRT_DEFINES }), r, { source: "user" });
  registerLibvirtBuiltins(r);
  return r;
}

function decode(bytes: Uint8Array, truncatedAt: number | null = null, r: ProgramRegistry | null = registry()) {
  const out = decodeLibvirtBody(decodeLibvirtHeader(bytes), bytes, truncatedAt, r, DEFAULT_LIMITS);
  return { ...out, json: out.body ? toJsonValue(out.body.value) : undefined };
}

/** remote_error with a message and everything else absent. */
function errorBody(text: string): number[] {
  return [...u32(42), ...u32(12), ...u32(1), ...xdrString(text), ...u32(2), ...u32(0), ...u32(0), ...u32(0), ...u32(0),
    ...u32(0xffffffff), ...u32(0xffffffff), ...u32(0)];
}

describe("libvirt bodies by type and status", () => {
  it("CALL → _args, REPLY OK → _ret, MESSAGE → _msg, with offsets from the length word", () => {
    const call = decode(lv({ proc: 19, body: xdrString("vm1") }));
    expect([call.role, call.json, call.issues]).toEqual(["args", { name: "vm1" }, []]);
    expect(call.body).toMatchObject({ offset: 28, length: 8 });
    expect(decode(lv({ proc: 19, type: 1, body: xdrString("hvm") })).json).toEqual({ type: "hvm" });
    expect(decode(lv({ proc: 169, type: 2, body: u32(3) }))).toMatchObject({ role: "msg", json: { callbackID: 3 } });
  });

  it("a procedure without _args or _ret has an empty body; bytes there are trailing", () => {
    expect(decode(lv({ proc: 2 }))).toMatchObject({ role: "args", json: null, issues: [] });
    expect(decode(lv({ proc: 2, type: 1, body: u32(5) })).issues).toMatchObject([{ code: "trailing-bytes", offset: 28 }]);
  });

  it("an ERROR reply is remote_error whatever the procedure, even with no registry", () => {
    for (const r of [registry(), null]) {
      const out = decode(lv({ proc: 999, type: 1, status: 1, body: errorBody("Domain not found") }), null, r);
      expect(out.role).toBe("error");
      expect(out.json).toMatchObject({ code: 42, domain: 12, message: "Domain not found", level: 2, dom: null, int1: -1 });
      expect(out.issues).toEqual([]);
    }
  });

  it("a truncated ERROR reply decodes up to the cut and says 'truncated'", () => {
    const full = lv({ type: 1, status: 1, body: errorBody("Domain not found") });
    const out = decode(full.subarray(0, 44), 44);
    expect(out.role).toBe("error");
    expect(out.issues).toMatchObject([{ code: "truncated" }]);
    expect(JSON.stringify(out.json)).toContain('"code":42');
  });

  it("an unknown procedure with a body is undecoded (named), without one needs nothing", () => {
    expect(decode(lv({ proc: 400, body: u32(1) })).issues).toMatchObject([{ code: "body-undecoded", offset: 28 }]);
    expect(decode(lv({ proc: 400 }))).toMatchObject({ role: "args", body: null, issues: [] });
    expect(decode(lv({ proc: 400, type: 1, body: u32(1) }), null, null).issues).toMatchObject([{ code: "body-undecoded" }]);
  });

  it("stream data is counted, not decoded; an aborted stream carries remote_error; a hole its length", () => {
    expect(decode(lv({ proc: 209, type: 3, status: 2, body: new Array<number>(10).fill(1) }))).toMatchObject({ role: "data", body: null, dataBytes: 10 });
    expect(decode(lv({ proc: 209, type: 3, status: 0 }))).toMatchObject({ role: "data", issues: [] });
    expect(decode(lv({ proc: 209, type: 3, status: 1, body: errorBody("stream aborted") }))).toMatchObject({ role: "error", json: { message: "stream aborted" } });
    expect(decode(lv({ proc: 209, type: 6, body: [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0] }))).toMatchObject({ role: "hole", json: { length: "4294967296", flags: 0 } });
  });

  it("keepalive PING and PONG need no spec; CALL_WITH_FDS bodies start after the nfds word", () => {
    expect(decode(lv({ prog: 0x6b656570, type: 2, proc: 1 }))).toMatchObject({ role: "msg", issues: [] });
    const fds = decode(lv({ proc: 19, type: 4, body: [...u32(1), ...xdrString("vm2")] }));
    expect(fds).toMatchObject({ role: "args", json: { name: "vm2" }, issues: [] });
    expect(fds.body).toMatchObject({ offset: 32 });
  });
});

describe("libvirt formatting of synthetic messages", () => {
  function messages(parts: Uint8Array[], dirs: (0 | 1)[], cut?: number) {
    const sink = new LibvirtSink();
    const p = new RpcPipeline(DEFAULT_LIMITS, sink);
    registerLibvirt(p);
    const c = connection(41000, 16509, "10.1.1.1", "10.1.1.2");
    parts.forEach((b, i) => p.tcpData(chunk(c, dirs[i]!, i + 1, b, { ts: 100 + i * 0.5 })));
    if (cut !== undefined) p.tcpClose({ conn: c, frame: parts.length + 1, reason: "fin", undelivered: [0, 0] });
    p.finish();
    const r = registry();
    return sink.messages.map((m, i) => analyzeLibvirtMessage(m, sink.bytes[i]!, sink.truncated[i]!, i * 0.5, r, DEFAULT_LIMITS, true));
  }

  it("a call and its reply name each other's frames; the reply has the round trip", () => {
    const [call, reply] = messages([lv({ proc: 19, serial: 4, body: xdrString("vm1") }), lv({ proc: 19, serial: 4, type: 1, body: xdrString("hvm") })], [0, 1]);
    const names = namesFor(registry());
    expect(libvirtSummaryJson(call!, names, true)).toEqual({
      protocol: "libvirt", frame: 1, time: 0, src: "10.1.1.1", dst: "10.1.1.2", sport: 41000, dport: 16509, transport: "tcp",
      prog: 0x20008086, vers: 1, proc: 19, progName: "libvirt", procName: "DOMAIN_GET_OS_TYPE", msgType: "CALL", serial: 4,
      status: "OK", peerFrame: 2, rtt: null, length: 36, args: { name: "vm1" },
    });
    expect(libvirtSummaryJson(reply!, names, false)).toMatchObject({ peerFrame: 1, rtt: 0.5, msgType: "REPLY" });
    expect(libvirtSummaryJson(reply!, names, false)).not.toHaveProperty("res");
    expect(libvirtSummaryLine(call!, names)).toBe("     1      0.000000  10.1.1.1:41000 → 10.1.1.2:16509  TCP  serial=4  Call   libvirt v1 DOMAIN_GET_OS_TYPE");
    expect(libvirtSummaryLine(reply!, names)).toBe("     2      0.500000  10.1.1.2:16509 → 10.1.1.1:41000  TCP  serial=4  Reply  libvirt v1 DOMAIN_GET_OS_TYPE  OK  call #1 rtt 500.000ms");
  });

  it("stream data, issues and a message cut short before its header", () => {
    const [data, cut] = messages([lv({ proc: 209, serial: 1, type: 3, status: 2, body: new Array<number>(8).fill(9) }), lv({ serial: 2 }).subarray(0, 20)], [1, 0], 20);
    const names = namesFor(registry());
    expect(libvirtSummaryJson(data!, names, true)).toMatchObject({ msgType: "STREAM", status: "CONTINUE", dataBytes: 8, stream: { messages: 1, dataBytes: 8, holes: 0, end: null } });
    expect(libvirtSummaryLine(data!, names)).toContain("Stream libvirt v1 proc-209  CONTINUE 8 bytes");
    expect(libvirtSummaryJson(cut!, names, true)).toMatchObject({
      msgType: null, prog: null, length: 28, issues: [{ code: "truncated" }, { code: "malformed" }],
    });
    expect(libvirtSummaryLine(cut!, names)).toMatch(/TCP {2}MALFORMED only 20 of 28 bytes captured; fewer than the 28 header bytes captured$/);
  });

  it("text from the packet is escaped in the summary line", () => {
    const [err] = messages([lv({ type: 1, status: 1, serial: 9, body: errorBody("bad\x1b[2Jname") })], [1]);
    const line = libvirtSummaryLine(err!, namesFor(registry()));
    expect(line).not.toContain("\x1b");
    expect(line).toContain("(no call seen)");
    expect(line).toContain('"bad');
    expect(line).toMatch(/\[unpaired-reply\]$/);
  });
});
