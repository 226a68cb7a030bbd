/**
 * capture/live-capture.ts against a stand-in for the cap binding (same calls, same
 * event, same one shared packet buffer), so batching, numbering, the clock, stopping
 * and the queue limit are checked without privileges; and the capture clock driving
 * timeouts while no packets arrive (analyzeCapture's `now`, PacketDecoder.advanceTime).
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { LinkType, type Frame } from "../../capture/frame.js";
import { withLimits } from "../../capture/limits.js";
import { CAP_SNAPLEN, LiveCapture, type CapModule } from "../../capture/live-capture.js";
import { buildIpv4Tcp, buildIpv4Udp, TcpConversation, wrapEthernet } from "../../capture/packet-builder.js";
import { PacketDecoder } from "../../capture/packet-decoder.js";
import type { TcpClose, TransportSink } from "../../capture/transport.js";
import type { Exchange } from "../../dissect/rpc-types.js";
import { analyzeCapture } from "../../ui/analyze.js";
import { call, record } from "../dissect/helpers.js";

class FakeCap extends EventEmitter {
  static last: FakeCap | null = null;
  static deviceList() {
    return [{ name: "lo", addresses: [{ addr: "127.0.0.1", netmask: "255.0.0.0" }], flags: "PCAP_IF_LOOPBACK" }];
  }
  static findDevice() {
    return "lo";
  }
  buffer: Buffer | null = null;
  closed = false;
  opened: { device: string; filter: string } | null = null;
  constructor() {
    super();
    FakeCap.last = this;
  }
  open(device: string, filter: string, _size: number, buffer: Buffer): string {
    this.opened = { device, filter };
    this.buffer = buffer;
    return "ETHERNET";
  }
  close(): void {
    this.closed = true;
  }
  /** As binding.cc's EmitPacket: copy into the one buffer, then emit. */
  deliver(bytes: Uint8Array): void {
    if (this.closed) return;
    this.buffer!.set(bytes.subarray(0, Math.min(bytes.length, this.buffer!.length)));
    this.emit("packet", Math.min(bytes.length, this.buffer!.length), bytes.length > this.buffer!.length);
  }
}

const fake: CapModule = { Cap: FakeCap as unknown as CapModule["Cap"] };

function udpFrame(n: number, size = 60): Uint8Array {
  return wrapEthernet(buildIpv4Udp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 1000 + n, dport: 9, payload: new Uint8Array(size).fill(n) }));
}

async function take(it: AsyncIterator<Frame[]>): Promise<Frame[]> {
  const r = await it.next();
  if (r.done) throw new Error("batches ended");
  return r.value;
}

describe("LiveCapture over a stand-in binding", () => {
  it("packets handed over in one go make one batch: numbered, stamped in order, copied out of the shared buffer", async () => {
    const live = LiveCapture.open({ device: "lo", filter: "udp", cap: fake });
    const cap = FakeCap.last!;
    expect(cap.opened).toEqual({ device: "lo", filter: "udp" });
    expect(live.linkType).toBe(LinkType.ETHERNET);
    const packets = [udpFrame(1), udpFrame(2, 200), udpFrame(3)];
    for (const p of packets) cap.deliver(p);
    const it = live.batches()[Symbol.asyncIterator]();
    const batch = await take(it);
    expect(batch.map((f) => f.no)).toEqual([1, 2, 3]);
    batch.forEach((f, i) => {
      expect(Array.from(f.bytes)).toEqual(Array.from(packets[i]!));
      expect(f.originalLength).toBe(packets[i]!.length);
      expect(f.linkType).toBe(LinkType.ETHERNET);
    });
    for (let i = 1; i < batch.length; i++) {
      const a = batch[i - 1]!, b = batch[i]!;
      expect(b.tsSec * 1e9 + b.tsNsec).toBeGreaterThanOrEqual(a.tsSec * 1e9 + a.tsNsec);
    }
    // The clock is the wall clock, to within a second.
    expect(Math.abs(batch[0]!.tsSec - Date.now() / 1000)).toBeLessThan(2);
    // A later packet in another turn of the event loop is another batch; the earlier bytes stay as they were.
    await new Promise((r) => setTimeout(r, 5));
    cap.deliver(udpFrame(4));
    const next = await take(it);
    expect(next.map((f) => f.no)).toEqual([4]);
    expect(batch[0]!.bytes[batch[0]!.bytes.length - 1]).toBe(1);
    live.stop("test");
    expect(cap.closed).toBe(true);
    expect((await it.next()).done).toBe(true);
    expect(live.stats()).toEqual({ received: 4, receivedBytes: packets.reduce((n, p) => n + p.length, 0) + udpFrame(4).length, queueDrops: 0, cutBySnaplen: 0 });
  });

  it("hands on an empty batch (a clock tick) when no packet came for tickMs", async () => {
    const live = LiveCapture.open({ device: "lo", cap: fake, tickMs: 30 });
    const it = live.batches()[Symbol.asyncIterator]();
    const started = Date.now();
    expect(await take(it)).toEqual([]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    FakeCap.last!.deliver(udpFrame(1));
    expect((await take(it)).length).toBe(1);
    live.stop();
  });

  it("stops by itself after maxPackets; later packets are not taken", async () => {
    const live = LiveCapture.open({ device: "lo", cap: fake, maxPackets: 3 });
    const cap = FakeCap.last!;
    for (let i = 1; i <= 5; i++) cap.deliver(udpFrame(i));
    const frames: Frame[] = [];
    for await (const b of live.batches()) frames.push(...b);
    expect(frames.map((f) => f.no)).toEqual([1, 2, 3]);
    expect(live.stopReason).toBe("count");
    expect(cap.closed).toBe(true);
  });

  it("drops and counts packets beyond maxQueuedBytes when analysis falls behind", async () => {
    const one = udpFrame(1, 1000).length;
    const live = LiveCapture.open({ device: "lo", cap: fake, maxQueuedBytes: one * 3 });
    const cap = FakeCap.last!;
    for (let i = 0; i < 5; i++) cap.deliver(udpFrame(1, 1000));
    await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 5; i++) cap.deliver(udpFrame(1, 1000));
    live.stop();
    let n = 0;
    for await (const b of live.batches()) n += b.length;
    expect(n).toBe(3);
    expect(live.stats().queueDrops).toBe(7);
    expect(live.stats().received).toBe(3);
  });

  it("a frame that fills the 65535-byte snaplen gets its wire length from the IP header", async () => {
    const live = LiveCapture.open({ device: "lo", cap: fake });
    const cap = FakeCap.last!;
    const big = wrapEthernet(buildIpv4Tcp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 1, dport: 2, seq: 1, payload: new Uint8Array(65483) }));
    expect(big.length).toBeGreaterThan(CAP_SNAPLEN);
    // What libpcap hands over: the first 65535 bytes.
    cap.deliver(big.subarray(0, CAP_SNAPLEN));
    live.stop();
    const frames: Frame[] = [];
    for await (const b of live.batches()) frames.push(...b);
    expect(frames[0]!.bytes.length).toBe(CAP_SNAPLEN);
    expect(frames[0]!.originalLength).toBe(big.length);
    expect(live.stats().cutBySnaplen).toBe(1);
  });

  it("an unknown interface name is refused before libpcap is asked", () => {
    expect(() => LiveCapture.open({ device: "eth9", cap: fake })).toThrow(/no interface named 'eth9'/);
  });
});

describe("time passes while no packets arrive", () => {
  const T0 = 1_700_000_000;

  it("a call with no reply is given up on a clock tick, not only at the end or at the next packet", async () => {
    const limits = withLimits({ replyTimeoutSeconds: 5 });
    const events: string[] = [];
    let now = T0;
    const callFrame = wrapEthernet(buildIpv4Udp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 900, dport: 2049, payload: call({ xid: 77, prog: 100003, vers: 3, proc: 0 }) }));
    async function* batches(): AsyncGenerator<Frame[]> {
      yield [{ no: 1, tsSec: T0, tsNsec: 0, linkType: LinkType.ETHERNET, bytes: callFrame, originalLength: callFrame.length, fileOffset: -1, interfaceId: 0 }];
      for (const t of [1, 3, 6, 8]) {
        now = T0 + t;
        events.push(`tick +${t}s`);
        yield [];
      }
      events.push("end");
    }
    await analyzeCapture({ kind: "stdin" }, { limits, registry: null, decodeBodies: false, frames: batches(), now: () => ({ tsSec: now, tsNsec: 0 }) }, {
      message(m) {
        events.push(`message ${m.msg.header?.xid}`);
      },
      exchangeResolved(ex: Exchange) {
        events.push(`resolved ${ex.xid} ${ex.issues.map((i) => i.code).join(",")}`);
      },
    });
    expect(events).toEqual(["message 77", "tick +1s", "tick +3s", "tick +6s", "resolved 77 unanswered", "tick +8s", "end"]);
  });

  it("PacketDecoder.advanceTime closes a TCP flow idle for flowIdleSeconds", () => {
    const limits = withLimits({ flowIdleSeconds: 60 });
    const closes: TcpClose[] = [];
    const sink: TransportSink = { udp() {}, tcpData() {}, tcpClose: (c) => closes.push(c), frameIssue() {} };
    const decoder = new PacketDecoder(limits, sink);
    const conv = new TcpConversation({ client: "127.0.0.1", server: "127.0.0.1", clientPort: 900, serverPort: 2049 });
    const pkts = [...conv.handshake(), conv.send("client", record(call({ xid: 1 })))];
    pkts.forEach((ip, i) => {
      const bytes = wrapEthernet(ip);
      decoder.push({ no: i + 1, tsSec: T0, tsNsec: 0, linkType: LinkType.ETHERNET, bytes, originalLength: bytes.length, fileOffset: -1, interfaceId: 0 });
    });
    decoder.advanceTime(T0 + 30, 0);
    expect(closes).toEqual([]);
    decoder.advanceTime(T0 + 61, 0);
    expect(closes.map((c) => c.reason)).toEqual(["idle"]);
    // Going back in time does nothing.
    decoder.advanceTime(T0, 0);
    expect(closes).toHaveLength(1);
  });
});
