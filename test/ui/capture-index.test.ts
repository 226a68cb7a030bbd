/**
 * The TUI's data source over real captures: rows, statuses, details and the filter,
 * for ONC-RPC (NFSv4) and for libvirt's own framing.
 */
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { analyzeCapture } from "../../ui/analyze.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import { namesFor } from "../../ui/names.js";
import { CaptureIndex, flatText } from "../../ui/capture-index.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { ROOT } from "../sample-files.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { buildEthernetIpv4Udp } from "../../capture/packet-builder.js";
import { MemorySink, PcapWriter } from "../../capture/capture-writer.js";

async function indexOf(file: string, specs: string[] = []): Promise<CaptureIndex> {
  const registry = await loadRegistry({ userSpecs: specs, defines: new Map() });
  const index = new CaptureIndex({ title: file, live: false, registry, names: namesFor(registry), limits: DEFAULT_LIMITS });
  await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, ...index.decodeOptions() }, index.handlers());
  index.finished();
  return index;
}

function rows(index: CaptureIndex) {
  return Array.from({ length: index.rowCount() }, (_, i) => index.row(i));
}

describe("capture index", () => {
  it("libvirt: one row per call with its reply, events as rows, the ERROR reply with its text", async () => {
    const index = await indexOf(join(ROOT, "samples/libvirt/libvirt-test.pcap"), [join(ROOT, "samples/libvirt/libvirt-fixture.x")]);
    const all = rows(index);
    expect(index.progress().counts.exchanges).toBe(171);
    expect(all.filter((r) => r.kind === "exchange" && r.callBytes > 0 && r.replyBytes > 0)).toHaveLength(171);
    expect(all.filter((r) => r.status === "event")).toHaveLength(8);
    const errors = all.filter((r) => r.isError);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ procedure: "DOMAIN_LOOKUP_BY_NAME", status: "ERROR", info: "Domain not found", firstFrame: 160 });
    const detail = await index.detail(errors[0]!.index);
    expect(detail.bytes.map((b) => [b.message, b.bytes.length, b.frames])).toEqual([["call", 48, [160]], ["reply", 112, [161]]]);
    expect(JSON.stringify(detail.tree)).toContain("Domain not found");
    index.close();
  });

  it("NFSv4: info names the files, the error row carries the NFS status, filters select rows", async () => {
    const index = await indexOf(join(ROOT, "samples/nfs/nfsv4.pcap"));
    const all = rows(index);
    expect(all).toHaveLength(39);
    const err = all.filter((r) => r.isError);
    expect(err.map((r) => r.status)).toEqual(["NFS4ERR_NOENT"]);
    expect(all.filter((r) => /^PUTFH\(\S+\) READ/.test(r.info))).toHaveLength(2);
    expect(index.setFilter("op == READ")).toEqual({ ok: true });
    await new Promise((r) => setTimeout(r, 50));
    expect(index.rowCount()).toBe(2);
    const bad = index.setFilter("rtt >");
    expect(bad.ok).toBe(false);
    index.close();
  });

  it("n/N visit exactly the error rows; a conversation view holds exactly that conversation's rows", async () => {
    const index = await indexOf(join(ROOT, "samples/rpcbind/rpcinfo-tcp-udp.pcap"));
    const all = rows(index);
    expect(all).toHaveLength(23);
    const errorPositions = all.flatMap((r, p) => (r.isError ? [p] : []));
    expect(errorPositions.length).toBeGreaterThan(1);
    const forward: number[] = [];
    for (let p = index.nextError(-1, 1); p !== null; p = index.nextError(p, 1)) forward.push(p);
    expect(forward).toEqual(errorPositions);
    const backward: number[] = [];
    for (let p = index.nextError(all.length, -1); p !== null; p = index.nextError(p, -1)) backward.push(p);
    expect(backward).toEqual([...errorPositions].reverse());

    // Rows keep what they were built with: numbers, nulls and texts.
    for (const r of all) {
      expect(r.index).toBe(all.indexOf(r) + 1);
      expect(r.transport === "tcp" || r.transport === "udp").toBe(true);
      if (r.kind === "exchange") expect(r.rtt).toBeGreaterThan(0);
      else expect(r.rtt).toBeNull();
    }
    const udp = all.filter((r) => r.transport === "udp");
    expect(udp.length).toBeGreaterThan(0);

    const pick = udp[udp.length - 1]!;
    const same = all.filter((r) => r.transport === pick.transport &&
      ((r.client === pick.client && r.server === pick.server) || (r.client === pick.server && r.server === pick.client)));
    index.setConversation(pick.index);
    await new Promise((r) => setTimeout(r, 20));
    expect(rows(index).map((r) => r.index)).toEqual(same.map((r) => r.index));
    index.setConversation(null);
    await new Promise((r) => setTimeout(r, 20));
    expect(index.rowCount()).toBe(all.length);
    index.close();
  });

  it("flatText gives back the same text, whatever it holds", () => {
    const texts = [
      "short", "READ fh 0x" + "0123456789abcdef" + " 8KiB@" + 4096, // ASCII, made by concatenation
      "LOOKUP " + "cafe\u0301.txt", // not NFC: normalize() would change it
      "LOOKUP " + "caf\u00e9.txt", "name \ud800 lone " + "surrogate", "tab\there " + "\u001b[31m escape",
      "emoji \u{1f600} " + "x".repeat(40),
    ];
    for (const t of texts) expect(flatText(t)).toBe(t);
  });

  it("header-only filters (which read only the header's bytes back) agree with the rows: size, kind, frame", async () => {
    const index = await indexOf(join(ROOT, "samples/nfs/nfsv3.pcap"));
    const all = rows(index);
    const viewOf = async (filter: string): Promise<number[]> => {
      expect(index.setFilter(filter)).toEqual({ ok: true });
      await new Promise((r) => setTimeout(r, 30));
      return rows(index).map((r) => r.index);
    };
    // Records longer than a header are in this capture: the size is their declared length, not what was read.
    expect(all.some((r) => r.replyBytes > 1000)).toBe(true);
    expect(await viewOf("size > 1000")).toEqual(all.filter((r) => r.callBytes + r.replyBytes > 1000).map((r) => r.index));
    expect(await viewOf("kind == reply")).toEqual(all.filter((r) => r.replyBytes > 0).map((r) => r.index));
    const frame = all[Math.floor(all.length / 2)]!.firstFrame;
    expect(await viewOf(`frame == ${frame}`)).toContain(all.find((r) => r.firstFrame === frame)!.index);
    index.close();
  });

  it("body issues of replies not decoded while loading show in the detail and select rows by `issue`", async () => {
    // No spec for the demo program: every body of it is "body-undecoded".
    const index = await indexOf(join(ROOT, "samples/demo-service/demo-tcp-udp.pcap"));
    const all = rows(index);
    const withIssue = { call: new Set<number>(), reply: new Set<number>() };
    for (const r of all) {
      const detail = await index.detail(r.index);
      let side: "call" | "reply" = "call";
      for (const node of detail.tree) {
        if (/^Results|Reply/.test(node.label)) side = "reply";
        if (node.key !== "issues") continue;
        // Each once: a body decoded while loading has its issues found again, not kept twice.
        expect(new Set(node.children.map((c) => c.label)).size).toBe(node.children.length);
        if (node.children.some((c) => c.label.startsWith("body-undecoded: "))) withIssue[side].add(r.index);
      }
    }
    expect(withIssue.reply.size).toBeGreaterThan(10);
    expect(index.setFilter("issue == body-undecoded")).toEqual({ ok: true });
    await new Promise((r) => setTimeout(r, 30));
    expect(rows(index).map((r) => r.index)).toEqual(all.map((r) => r.index).filter((i) => withIssue.call.has(i) || withIssue.reply.has(i)));
    index.close();
  });

  it("a duplicate reply (a row with no call) keeps the issues of its body, found while loading", async () => {
    const words = (...ws: number[]): Uint8Array => {
      const out = Buffer.alloc(ws.length * 4);
      ws.forEach((w, i) => out.writeUInt32BE(w >>> 0, i * 4));
      return out;
    };
    const sink = new MemorySink();
    const w = new PcapWriter(sink, { linkType: 1 });
    let t = 0;
    const udp = (fromClient: boolean, payload: Uint8Array): void => {
      w.writeFrame({
        tsSec: 1_700_000_000, tsNsec: (t += 1000),
        bytes: buildEthernetIpv4Udp({
          src: fromClient ? "127.0.0.1" : "127.0.0.2", dst: fromClient ? "127.0.0.2" : "127.0.0.1",
          sport: fromClient ? 800 : 2049, dport: fromClient ? 2049 : 800, payload,
        }),
      });
    };
    // NFSv3 READ of 4 bytes; its reply; the reply again, with a word too many after the results.
    const results = [0, 0, 4, 1, 4, 0x61626364];
    udp(true, words(0x77, 0, 2, 100003, 3, 6, 0, 0, 0, 0, 8, 0x01020304, 9, 0, 0, 4));
    udp(false, words(0x77, 1, 0, 0, 0, 0, ...results));
    udp(false, words(0x77, 1, 0, 0, 0, 0, ...results, 0xdeadbeef));
    w.flush();
    const dir = mkdtempSync(join(tmpdir(), "rpcscope-dup-"));
    try {
      const file = join(dir, "duplicate-reply.pcap");
      writeFileSync(file, sink.bytes());
      const index = await indexOf(file);
      const all = rows(index);
      expect(all.map((r) => r.kind)).toEqual(["exchange", "orphan-reply"]);
      const detail = await index.detail(all[1]!.index);
      const issues = detail.tree.find((n) => n.key === "issues");
      expect(issues?.children.map((c) => c.label.split(":")[0])).toContain("trailing-bytes");
      expect(index.setFilter("issue == trailing-bytes")).toEqual({ ok: true });
      await new Promise((r) => setTimeout(r, 30));
      expect(rows(index).map((r) => r.index)).toEqual([all[1]!.index]);
      index.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
