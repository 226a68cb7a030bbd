/**
 * `summary --json -V` with its render thread (ui/render-ring.ts) must write exactly
 * the bytes the one-thread run writes: on every sample, with a user's .x, with slots
 * so small that bodies cross from one slot to the next and some lines do not fit one
 * (written by the main thread then), and on a capture where the thread starts in the
 * middle of the run. Line entries (a line's parts, written by the render thread) must
 * give the line writeSummaryJsonLine gives, also when their pieces' numbers come round
 * again. A reader that
 * goes away ends output quietly; a render thread that fails is reported, not waited
 * for. writeJsonString's fast path (one native copy, then a byte scan) must write
 * what jsonSafeStringify writes.
 */
import { spawn, spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../bench/generate-capture.js";
import { nfs3Exchange } from "../../bench/nfs-workload.js";
import { buildIpv4Udp, wrapEthernet } from "../../capture/packet-builder.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { writeJsonString } from "../../ui/body-json.js";
import { GrowingPieces } from "../../ui/line-writer.js";
import { RenderThreadWriter, WRITE_HELD_BODY, type RenderThreadOptions } from "../../ui/render-ring.js";
import { jsonSafeStringify } from "../../ui/text-safety.js";
import { CLI, runCli } from "../hostile/cli-run.js";
import { bodySampleCaptures, DEMO_SPEC, ROOT } from "../sample-files.js";
import { rng } from "../specs/xdr-generate.js";
import { analyzeCapture, detachAnalyzed, type AnalyzedMessage } from "../../ui/analyze.js";
import { LineBuilder } from "../../ui/line-writer.js";
import { namesFor } from "../../ui/names.js";
import { loadRegistry } from "../../ui/spec-loader.js";
import {
  jsonLineParts, jsonLineStartMaxBytes, LineCache, newJsonLineParts, writeJsonLineStart, writeSummaryJsonLine,
  type JsonLineParts,
} from "../../ui/summary-format.js";
import type { XdrType } from "../../dissect/xdr-types.js";

const LIBVIRT_SPEC = join(ROOT, "samples", "libvirt", "libvirt-fixture.x");

function specsFor(file: string): string[] {
  if (file.includes("demo-service")) return ["--spec", DEMO_SPEC];
  if (file.includes("libvirt")) return ["--spec", LIBVIRT_SPEC];
  return [];
}

describe("summary --json -V through the render thread", () => {
  for (const file of bodySampleCaptures()) {
    const name = file.slice(ROOT.length + 1);
    it(`${name}: the same bytes as on one thread (thread from the first message; 512 KiB and 300-byte slots)`, () => {
      const args = ["summary", "--json", "-V", ...specsFor(file), file];
      const alone = runCli(args, { env: { RPCSCOPE_RENDER_THREAD: "off" } });
      for (const env of [{ RPCSCOPE_RENDER_THREAD: "0" }, { RPCSCOPE_RENDER_THREAD: "0", RPCSCOPE_RENDER_SLOT_BYTES: "300" }]) {
        const threaded = runCli(args, { env });
        expect(threaded.stderr).toBe(alone.stderr);
        expect(threaded.status).toBe(alone.status);
        expect(threaded.stdout.equals(alone.stdout), JSON.stringify(env)).toBe(true);
      }
    });
  }

  let dir = "";
  let capture = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "rpcscope-render-"));
    capture = join(dir, "nfs.pcap");
    // About 11 MB, with READs and WRITEs up to 64 KiB: bodies larger than small slots.
    generate(capture, 4000, 64, 11);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("a generated NFS capture: the same bytes with the thread started at once, after 2,000 messages, and with 4 KiB slots", () => {
    const args = ["summary", "--json", "-V", capture];
    const alone = runCli(args, { env: { RPCSCOPE_RENDER_THREAD: "off" } });
    expect(alone.status).toBe(0);
    expect(alone.stdout.length).toBeGreaterThan(15_000_000);
    for (const env of [
      { RPCSCOPE_RENDER_THREAD: "0" },
      // Started in the middle: lines written before go straight out, the rest through the thread.
      { RPCSCOPE_RENDER_THREAD: "2000" },
      { RPCSCOPE_RENDER_THREAD: "0", RPCSCOPE_RENDER_SLOT_BYTES: "4096" },
      // The default: this capture (8,000 messages) is too small to start the thread.
      {},
    ]) {
      const threaded = runCli(args, { env });
      expect(threaded.stderr, JSON.stringify(env)).toBe("");
      expect(threaded.status).toBe(0);
      expect(threaded.stdout.equals(alone.stdout), JSON.stringify(env)).toBe(true);
    }
  });

  it("a call held behind more than the held-lines budget is written early at the same line as on one thread", () => {
    // A GETATTR call, 1,100 READs of 32 KiB over UDP (their lines count twice their bytes:
    // more than the 64 MiB that may be held), then the call's reply.
    const frames: Uint8Array[] = [];
    const udp = (sport: number, dport: number, payload: Uint8Array): void => {
      frames.push(wrapEthernet(buildIpv4Udp({ src: "127.0.0.1", dst: "127.0.0.1", sport, dport, payload })));
    };
    const held = nfs3Exchange("GETATTR", 1, 7, 0, 1_700_000_000, false);
    udp(800, 2049, held.call);
    for (let i = 0; i < 1100; i++) {
      const read = nfs3Exchange("READ", 1000 + i, 10 + (i % 50), 32 * 1024, 1_700_000_000, false);
      udp(801, 2049, read.call);
      udp(2049, 801, read.reply);
    }
    udp(2049, 800, held.reply);
    const path = join(dir, "held.pcap");
    writeFileSync(path, pcapOf(frames));
    // About 75 MB of output: more than runCli takes.
    const run = (thread: string) => spawnSync(process.execPath, [CLI, "summary", "--json", "-V", path], {
      env: { ...process.env, RPCSCOPE_RENDER_THREAD: thread, RPCSCOPE_SPEC_PATH: "" }, maxBuffer: 256 * 1024 * 1024, timeout: 60_000,
    });
    const alone = run("off");
    const threaded = run("0");
    expect(alone.status).toBe(0);
    expect(threaded.status).toBe(0);
    const first = alone.stdout.subarray(0, alone.stdout.indexOf(0x0a)).toString("utf8");
    // The budget was reached: the call went out before its reply was seen.
    expect(first).toContain('"peerFrame":null');
    expect(threaded.stdout.equals(alone.stdout)).toBe(true);
  });

  it("the held-lines budget bounds memory, one thread or two, when bodies take far more as JSON than as bytes", () => {
    // A .x whose element has a 300-character field name: 350 elements take 1.4 KB as
    // bytes and about 108 KB as JSON. A call waits while 3,000 such bodies go by (about
    // 320 MB of JSON). On one thread, which holds the JSON, its line must go out early
    // (peerFrame null) once the budget is spent; the render thread holds the bodies'
    // bytes (about 4 MB). Either way memory stays far below what holding all of the JSON
    // would take. (So at the budget's edge the two ways may write a line early at
    // different points: the README says so.)
    const spec = join(dir, "wide.x");
    writeFileSync(spec, `struct welem { int f${"x".repeat(299)}; };\ntypedef welem welems<>;\n` +
      "program WIDEP { version WIDEV { int PING(welem) = 1; int BULK(welems) = 2; } = 1; } = 0x2000077b;\n");
    const rpcCall = (xid: number, proc: number, body: Uint8Array): Uint8Array => {
      const h = Buffer.alloc(40);
      h.writeUInt32BE(xid, 0);
      h.writeUInt32BE(2, 8);
      h.writeUInt32BE(0x2000077b, 12);
      h.writeUInt32BE(1, 16);
      h.writeUInt32BE(proc, 20);
      return Buffer.concat([h, body]);
    };
    const rpcReply = (xid: number): Uint8Array => {
      const h = Buffer.alloc(28);
      h.writeUInt32BE(xid, 0);
      h.writeUInt32BE(1, 4);
      return h;
    };
    const frames: Uint8Array[] = [];
    const udp = (toServer: boolean, port: number, payload: Uint8Array): void => {
      frames.push(wrapEthernet(buildIpv4Udp({
        src: toServer ? "127.0.0.1" : "127.0.0.2", dst: toServer ? "127.0.0.2" : "127.0.0.1",
        sport: toServer ? 800 : port, dport: toServer ? port : 800, payload,
      })));
    };
    udp(true, 6000, rpcCall(1, 1, Buffer.alloc(4)));
    const bulk = Buffer.alloc(4 + 4 * 350);
    bulk.writeUInt32BE(350, 0);
    for (let i = 0; i < 3000; i++) {
      udp(true, 6001, rpcCall(100 + i, 2, bulk));
      udp(false, 6001, rpcReply(100 + i));
    }
    udp(false, 6000, rpcReply(1));
    const path = join(dir, "wide.pcap");
    writeFileSync(path, pcapOf(frames));
    for (const thread of ["off", "0"]) {
      const outPath = join(dir, `wide-${thread}.ndjson`);
      const out = openSync(outPath, "w");
      const r = spawnSync("/usr/bin/time", ["-f", "maxrss %M", process.execPath, CLI, "summary", "--json", "-V", "--spec", spec, path], {
        env: { ...process.env, RPCSCOPE_RENDER_THREAD: thread, RPCSCOPE_SPEC_PATH: "" }, stdio: ["ignore", out, "pipe"], timeout: 120_000,
      });
      closeSync(out);
      expect(r.status, r.stderr?.toString()).toBe(0);
      const rssKb = Number(/maxrss (\d+)/.exec(r.stderr.toString())?.[1]);
      expect(rssKb, `thread=${thread}`).toBeLessThan(300 * 1024);
      const head = readFileSync(outPath).subarray(0, 400).toString("latin1");
      if (thread === "off") expect(head).toContain('"procName":"PING","status":null,"peerFrame":null');
      rmSync(outPath);
    }
  });

  it("a reader that goes away (| head) ends the run quietly, with status 0", async () => {
    const child = spawn(process.execPath, [CLI, "summary", "--json", "-V", capture], {
      env: { ...process.env, RPCSCOPE_RENDER_THREAD: "0", RPCSCOPE_SPEC_PATH: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString("utf8")));
    let got = 0;
    await new Promise<void>((resolve) => {
      child.stdout.on("data", (d: Buffer) => {
        got += d.length;
        // Enough to be sure the thread is writing; then the reader is gone.
        if (got > 200_000) {
          child.stdout.destroy();
          resolve();
        }
      });
    });
    const status = await new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    expect(status).toBe(0);
    expect(stderr).toBe("");
  });
});

/** The built worker module (the thread loads JavaScript). */
const WORKER_URL = new URL(`file://${join(ROOT, "dist", "ui", "json-render-worker.js")}`);

/** Runs `write` against a started writer whose output goes to a file; returns what the file holds. */
async function throughThread(slotBytes: number, write: (w: RenderThreadWriter) => void): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "rpcscope-ring-"));
  const path = join(dir, "out");
  const fd = openSync(path, "w");
  try {
    const writer = new RenderThreadWriter(DEFAULT_LIMITS, { slotBytes, workerUrl: WORKER_URL, outputFd: fd });
    writer.start();
    write(writer);
    await writer.finish();
    return readFileSync(path, "utf8");
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

const UINT: XdrType = { kind: "uint" };
const OPAQUE: XdrType = { kind: "opaque", max: 0xffffffff };
const word = (v: number): Uint8Array => Uint8Array.of(v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
const WRITE_TEXT = Buffer.from(WRITE_HELD_BODY).toString("latin1");

describe("the render thread's slots", () => {
  it("a line longer than a slot is not cut inside a write entry, wherever the entry falls", async () => {
    for (let at = 50; at < 70; at++) {
      const text = "x".repeat(at) + WRITE_TEXT + "y".repeat(40);
      const got = await throughThread(64, (w) => {
        w.holdBody(UINT, word(at));
        w.line(text);
      });
      expect(got).toBe(`${"x".repeat(at)}${at}${"y".repeat(40)}\n`);
    }
  });

  it("bodies longer than a slot go on in the next ones; the n-th write entry takes the n-th body held", async () => {
    const bodies = [40, 3, 200, 0, 61].map((n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff));
    const wire = bodies.map((b) => {
      const padded = new Uint8Array(4 + Math.ceil(b.length / 4) * 4);
      padded.set(word(b.length));
      padded.set(b, 4);
      return padded;
    });
    const got = await throughThread(64, (w) => {
      for (const b of wire) w.holdBody(OPAQUE, b);
      w.line(`a${WRITE_TEXT}`);
      w.reserve(200);
      w.ascii("b");
      w.bytes(WRITE_HELD_BODY);
      w.endLine();
      for (let i = 2; i < wire.length; i++) w.line(`c${i}${WRITE_TEXT}`);
    });
    const hex = bodies.map((b) => `"${Buffer.from(b).toString("hex")}"`);
    expect(got).toBe(`a${hex[0]}\nb${hex[1]}\n${hex.slice(2).map((h, i) => `c${i + 2}${h}\n`).join("")}`);
  });
});

describe("line entries", () => {
  it("give writeSummaryJsonLine's line for every sample message, pieces sent once and again after their numbers came round", async () => {
    // Lines with every kind of part (frames, mismatch, authStat, issues), from the samples.
    const messages: AnalyzedMessage[] = [];
    const registry = await loadRegistry({ userSpecs: [DEMO_SPEC], defines: new Map() });
    for (const file of bodySampleCaptures()) {
      await analyzeCapture({ kind: "file", path: file }, { limits: DEFAULT_LIMITS, registry, decodeBodies: false }, {
        message(m) {
          messages.push(detachAnalyzed(m));
        },
      });
    }
    const cache = new LineCache(namesFor(registry));
    const expected: string[] = [];
    for (const m of messages) {
      const line = new LineBuilder(jsonLineStartMaxBytes(jsonLineParts(m, cache, newJsonLineParts())) + 16);
      writeSummaryJsonLine(m, cache, line, TAIL);
      expected.push(line.text());
    }
    // 9,000 made-up endpoint pieces between two passes: more than the numbers there are.
    const filler = Array.from({ length: 9000 }, (_, i) => Buffer.from(`,"src":"10.0.${i >> 8}.${i & 255}","xid":`, "latin1"));
    const parts = newJsonLineParts();
    const got = await throughThread(4096, (w) => {
      for (const pass of [0, 1]) {
        for (const m of messages) expect(w.jsonLine(jsonLineParts(m, cache, parts), TAIL)).toBe(true);
        if (pass === 0) {
          for (const piece of filler) {
            parts.endpointPiece = piece;
            expect(w.jsonLine(parts, null)).toBe(true);
          }
        }
      }
    });
    const lines = got.split("\n");
    expect(lines.length).toBe(2 * messages.length + filler.length + 1);
    expect(lines.slice(0, messages.length)).toEqual(expected);
    expect(lines.slice(messages.length + filler.length, -1)).toEqual(expected);
    expect(lines[messages.length + 8999]).toContain('"src":"10.0.35.39"');
  });

  it("a piece sent never takes the number of the other piece of its line, whichever of the two is new", async () => {
    // 30,000 lines over small slots: new and known endpoint and procedure pieces in every
    // combination while the numbers come round several times.
    const piece = (text: string): Uint8Array => Buffer.from(text, "latin1");
    const knownEndpoints = [piece(',"src":"a","xid":'), piece(',"src":"b","xid":')];
    const knownProcedures = [piece(',"kind":"call","p":1,"peerFrame":'), piece(',"kind":"call","p":2,"peerFrame":')];
    const lines: JsonLineParts[] = [];
    for (let i = 0; i < 30_000; i++) {
      const p = newJsonLineParts();
      p.frame = i + 1;
      p.time = i / 1000;
      p.length = 100;
      p.endpointPiece = i % 3 === 0 ? piece(`,"src":"10.${i}","xid":`) : knownEndpoints[i % 2]!;
      p.procedurePiece = i % 2 === 0 ? piece(`,"kind":"call","p":${i},"peerFrame":`) : knownProcedures[(i >> 1) % 2]!;
      p.xid = i;
      lines.push(p);
    }
    const expected = lines.map((p) => {
      const line = new LineBuilder(jsonLineStartMaxBytes(p) + 2);
      writeJsonLineStart(p, line);
      line.ascii("}");
      return line.text();
    });
    const got = await throughThread(600, (w) => {
      for (const p of lines) expect(w.jsonLine(p, null)).toBe(true);
    });
    const gotLines = got.split("\n").slice(0, -1);
    expect(gotLines.length).toBe(expected.length);
    const wrong = gotLines.flatMap((l, i) => (l === expected[i] ? [] : [`${i}: ${l}`]));
    expect(wrong.slice(0, 3)).toEqual([]);
  });

  it("when the numbers come round onto a piece of the line itself, that piece is neither overwritten nor sent again without room", async () => {
    const piece = (text: string, size: number): Uint8Array => Buffer.from(text.padEnd(size, " "), "latin1");
    const lineOf = (i: number, endpoint: Uint8Array, procedure: Uint8Array): JsonLineParts => {
      const p = newJsonLineParts();
      p.frame = i + 1;
      p.length = 10;
      p.endpointPiece = endpoint;
      p.procedurePiece = procedure;
      return p;
    };
    // Room in a slot for a line and one new 100-byte piece, not two.
    const slot = 55 + 4 + (10 + 100) + (10 + 100) - 1;
    const E = piece("E", 20);
    const P = piece("P", 100);
    // The first line takes numbers 0 and 1, the next 8,190 lines' new procedures 2 to 8191.
    const warmUp = (): JsonLineParts[] => [lineOf(0, E, P), ...Array.from({ length: 8190 }, (_, i) => lineOf(i + 1, E, piece(`q${i}`, 20)))];
    const cases: [string, JsonLineParts[]][] = [
      // Number 0 comes round while the line's endpoint (known) holds it and its procedure is new.
      ["known endpoint, new procedure", [...warmUp(), lineOf(8191, E, piece("new", 20)), lineOf(8192, E, P)]],
      // Number 1 comes round while the line's procedure (known) holds it and its endpoint is new.
      ["new endpoint, known procedure", [...warmUp(), lineOf(8191, piece("N1", 100), P), lineOf(8192, piece("N2", 100), P)]],
    ];
    for (const [name, lines] of cases) {
      const expected = lines.map((p) => {
        const line = new LineBuilder(jsonLineStartMaxBytes(p) + 2);
        writeJsonLineStart(p, line);
        line.ascii("}");
        return line.text();
      });
      const got = await throughThread(slot, (w) => {
        for (const p of lines) expect(w.jsonLine(p, null), name).toBe(true);
      });
      expect(got.split("\n").slice(-3, -1), name).toEqual(expected.slice(-2));
      expect(got.split("\n").length - 1, name).toBe(expected.length);
    }
  });

  it("a line entry larger than a slot is refused (the caller writes the line)", async () => {
    const parts = newJsonLineParts();
    parts.frames = Array.from({ length: 100 }, (_, i) => i + 1);
    await throughThread(512, (w) => {
      expect(w.jsonLine(parts, null)).toBe(false);
    });
  });
});

/** A classic pcap (Ethernet, microseconds) of these frames, 10 µs apart. */
function pcapOf(frames: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(262144, 16);
  header.writeUInt32LE(1, 20);
  parts.push(header);
  frames.forEach((f, i) => {
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000, 0);
    rec.writeUInt32LE(i * 10, 4);
    rec.writeUInt32LE(f.length, 8);
    rec.writeUInt32LE(f.length, 12);
    parts.push(rec, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

/**
 * Starts a writer on a fixture thread (test/ui/fixtures/NAME) and writes far more than
 * the four slots hold, so that the main thread has to wait for the thread.
 */
function fillSlotsOf(name: string, options: RenderThreadOptions = {}): void {
  const fd = openSync("/dev/null", "w");
  const writer = new RenderThreadWriter(DEFAULT_LIMITS, {
    ...options, slotBytes: 4096, outputFd: fd, workerUrl: new URL(`file://${join(ROOT, "test", "ui", "fixtures", name)}`),
  });
  try {
    writer.start();
    for (let i = 0; i < 100_000; i++) writer.line("x".repeat(100));
  } finally {
    writer.abort();
    closeSync(fd);
  }
}

/** A -V tail without bodies. */
const TAIL = Buffer.from(',"info":"x"', "latin1");

describe("the render thread's failures", () => {
  it("a line that asks for a body never handed over fails the thread, and finish() reports it instead of waiting", async () => {
    const writer = new RenderThreadWriter(DEFAULT_LIMITS, { slotBytes: 4096, workerUrl: WORKER_URL });
    writer.start();
    expect(writer.started).toBe(true);
    writer.raw(WRITE_HELD_BODY);
    await expect(writer.finish()).rejects.toThrow(/render thread failed/);
  });

  it("a thread that ends by process.exit (not through its catch) still stops the main thread from waiting for a slot", () => {
    expect(() => fillSlotsOf("render-worker-exits.mjs")).toThrow(/render thread failed/);
  });

  it("a thread whose module does not load is given up when the main thread waits for a slot, not waited for forever", () => {
    expect(() => fillSlotsOf("render-worker-broken.mjs", { startTimeoutMs: 1000 })).toThrow(/did not start/);
  });

  it("without a thread to be had, the writer stays on one thread and writes everything itself", () => {
    const dir = mkdtempSync(join(tmpdir(), "rpcscope-nothread-"));
    const path = join(dir, "out");
    const fd = openSync(path, "w");
    try {
      // A URL a Worker refuses at once, as it would refuse a thread the system will not give.
      const writer = new RenderThreadWriter(DEFAULT_LIMITS, { workerUrl: new URL("http://127.0.0.1/none.js"), outputFd: fd });
      writer.line("before");
      writer.start();
      expect(writer.started).toBe(false);
      writer.start();
      writer.line("after");
      writer.flush();
      expect(readFileSync(path, "utf8")).toBe("before\nafter\n");
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("holdBody before the thread is started is a programming error, not output", () => {
    const writer = new RenderThreadWriter(DEFAULT_LIMITS);
    expect(() => writer.holdBody({ kind: "void" }, new Uint8Array(0))).toThrow(/before the render thread was started/);
  });
});

describe("writeJsonString", () => {
  const alphabet = [
    "a", "Z", "0", " ", "~", '"', "\\", "/", "\n", "\t", "\u0000", "\u001f", "\u007f", "\u0080", "\u009f", "é", "€",
    "\u2028", "\u202e", "\ud83d\ude00", "\ud800", "\udfff",
  ];
  it("writes what jsonSafeStringify writes, for 20,000 strings of 0-200 characters (short and long paths alike)", () => {
    const random = rng(20261206);
    const out = new GrowingPieces(1024);
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const length = Math.floor(random() * 200);
      // Mostly printable ASCII (the fast path), with some of everything else.
      const plain = random() < 0.5;
      let s = "";
      for (let k = 0; k < length; k++) {
        s += plain && random() < 0.97
          ? String.fromCharCode(0x20 + Math.floor(random() * 95))
          : alphabet[Math.floor(random() * alphabet.length)]!;
      }
      writeJsonString(out, s);
      const got = Buffer.from(out.take()).toString("utf8");
      if (got !== jsonSafeStringify(s)) wrong.push(`${JSON.stringify(s)} → ${got}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});
