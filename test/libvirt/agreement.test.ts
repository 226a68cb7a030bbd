/**
 * The real capture (libvirtd + virsh over TCP, test driver) against Wireshark's
 * libvirt plugin, and every body decoded with the project's libvirt-style fixture.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { ProgramRegistry } from "../../dissect/registry.js";
import { addSchemaWithLibvirt, registerLibvirtBuiltins } from "../../dissect/libvirt/binding.js";
import { loadSpecFiles } from "../../ui/spec-loader.js";
import { namesFor } from "../../ui/names.js";
import {
  analyzeLibvirtMessage, errorMessageOf, libvirtDetailLines, libvirtSummaryJson, libvirtSummaryLine,
  type AnalyzedLibvirtMessage,
} from "../../ui/libvirt-format.js";
import { runCapture, type CaptureRun } from "./run-capture.js";

const sample = (p: string): string => fileURLToPath(new URL(`../../samples/${p}`, import.meta.url));

interface Ref {
  frame: number;
  prog: number;
  vers: number;
  proc: number;
  type: number;
  serial: number;
  status: number;
  procName: string;
}

const ref: Ref[] = readFileSync(sample("libvirt/libvirt-test.pcap.tshark-libvirt.ndjson"), "utf8")
  .split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l) as Ref);

let run: CaptureRun;
let registry: ProgramRegistry;
let analyzed: AnalyzedLibvirtMessage[];

beforeAll(async () => {
  run = await runCapture(sample("libvirt/libvirt-test.pcap"));
  registry = new ProgramRegistry();
  // As the spec loader does it: libvirt's shipped header constants fill in what the .x leaves undefined, then bind.
  const schema = loadSpecFiles([sample("libvirt/libvirt-fixture.x")], new Map());
  expect(addSchemaWithLibvirt(registry, schema, { source: "user" })).toMatchObject([{ programSpecName: "REMOTE_PROGRAM", procedures: 36 }]);
  registerLibvirtBuiltins(registry);
  const t0 = run.libvirt[0]!.msg;
  analyzed = run.libvirt.map(({ msg, bytes, truncatedAt }) => analyzeLibvirtMessage(
    msg, bytes, truncatedAt, (msg.tsSec - t0.tsSec) + (msg.tsNsec - t0.tsNsec) / 1e9, registry, DEFAULT_LIMITS, true,
  ));
});

describe("libvirt-test.pcap against tshark's libvirt dissector", () => {
  it("finds the same 350 messages: frame, prog, vers, proc, type, serial and status agree", () => {
    expect(ref).toHaveLength(350);
    const ours = run.libvirt.map(({ msg }) => {
      const h = msg.header!;
      return { frame: msg.frame, prog: h.prog, vers: h.vers, proc: h.proc, type: h.type, serial: h.serial, status: h.status };
    });
    expect(ours).toEqual(ref.map(({ procName: _name, ...rest }) => rest));
  });

  it("pairs every call with its reply, and nothing is left over or malformed", () => {
    expect(run.counts).toMatchObject({
      connections: 11, messages: 350, calls: 171, replies: 171, events: 8, keepalives: 2, errors: 1,
      exchanges: 171, answered: 171, unanswered: 0, orphanReplies: 0, malformed: 0, truncated: 0, resyncs: 0,
    });
    expect(run.resolved).toHaveLength(171);
    expect(run.issues).toEqual([]);
    expect(run.rpc).toEqual([]);
    for (const { msg } of run.libvirt) {
      expect(msg.issues).toEqual([]);
      if (msg.header!.kind === "reply") expect(msg.exchange!.call!.header!.serial).toBe(msg.header!.serial);
    }
  });

  it("with the fixture loaded, procedure names agree with tshark's for every message", () => {
    const names = namesFor(registry);
    const json = analyzed.map((m) => libvirtSummaryJson(m, names, false));
    expect(json.map((j) => j["procName"])).toEqual(ref.map((r) => r.procName));
  });

  it("with the fixture loaded, every body decodes: no malformed, no undecoded, no trailing bytes", () => {
    const roles = new Map<string, number>();
    for (const m of analyzed) {
      const body = m.body!;
      expect(body.issues, `frame ${m.msg.frame}`).toEqual([]);
      expect(body.def, `frame ${m.msg.frame}`).toBeDefined();
      expect(body.body, `frame ${m.msg.frame}`).not.toBeNull();
      roles.set(body.role, (roles.get(body.role) ?? 0) + 1);
    }
    expect(Object.fromEntries(roles)).toEqual({ args: 171, res: 170, error: 1, msg: 8 });
  });

  it("the ERROR reply (frame 161) decodes as remote_error with its message text", () => {
    const m = analyzed.find((x) => x.msg.frame === 161)!;
    expect(m.msg.header).toMatchObject({ typeName: "REPLY", statusName: "ERROR", proc: 23, serial: 6 });
    expect(m.body!.role).toBe("error");
    expect(errorMessageOf(m.body)).toBe("Domain not found");
    const names = namesFor(registry);
    const json = libvirtSummaryJson(m, names, true);
    expect(json).toMatchObject({
      protocol: "libvirt", frame: 161, transport: "tcp", sport: 16509, prog: 0x20008086, vers: 1, proc: 23,
      progName: "libvirt", procName: "DOMAIN_LOOKUP_BY_NAME", msgType: "REPLY", serial: 6, status: "ERROR", length: 112,
      error: { code: 42, domain: 12, message: "Domain not found", level: 2, dom: null, str1: "Domain not found", str2: null, str3: null, int1: -1, int2: -1, net: null },
    });
    expect(json["peerFrame"]).toBe(m.msg.exchange!.call!.frame);
    expect(json["rtt"]).toBeGreaterThan(0);
    const line = libvirtSummaryLine(m, names);
    expect(line).toMatch(/^ {3}161 .*127\.0\.0\.1:16509 → 127\.0\.0\.1:\d+ {2}TCP {2}serial=6 {2}Reply {2}libvirt v1 DOMAIN_LOOKUP_BY_NAME {2}ERROR {2}call #\d+ rtt [\d.]+(ms|µs) {2}"Domain not found"$/);
  });

  it("formats a call, a reply with results, an event and a keepalive", () => {
    const names = namesFor(registry);
    const info = analyzed.filter((m) => m.msg.header!.proc === 16);
    const [call, reply] = info.map((m) => libvirtSummaryJson(m, names, true));
    expect(call).toMatchObject({ msgType: "CALL", status: "OK", procName: "DOMAIN_GET_INFO", rtt: null, args: { dom: { name: "test", id: 1 } } });
    expect(call!["peerFrame"]).toBe(info[1]!.msg.frame);
    expect(reply).toMatchObject({ msgType: "REPLY", peerFrame: info[0]!.msg.frame, res: { state: 1, maxMem: "8388608", nrVirtCpu: 2 } });
    const event = analyzed.find((m) => m.msg.header!.proc === 318)!;
    expect(libvirtSummaryJson(event, names, true)).toMatchObject({
      msgType: "MESSAGE", peerFrame: null, msg: { callbackID: 0, msg: { dom: { name: "demo2" }, event: 0, detail: 0 } },
    });
    expect(libvirtSummaryLine(event, names)).toContain("Event  libvirt v1 DOMAIN_EVENT_CALLBACK_LIFECYCLE");
    const ping = analyzed.find((m) => m.msg.header!.prog === 0x6b656570)!;
    expect(libvirtSummaryLine(ping, names)).toMatch(/Event {2}libvirt-keepalive v1 P[IO]NG$/);
    expect(libvirtDetailLines(info[0]!, names)[1]).toContain("proc: 16 (DOMAIN_GET_INFO)");
  });
});
