import { describe, expect, it } from "vitest";
import { LinkType } from "../../capture/frame.js";
import { PacketDecoder } from "../../capture/packet-decoder.js";
import { DEFAULT_LIMITS } from "../../capture/limits.js";
import { formatIpv6, parseIpv4, parseIpv6 } from "../../capture/ip-address.js";
import {
  buildIpv4, buildIpv4Udp, buildIpv6, buildIpv6Udp, buildEthernetIpv4Udp, buildEthernetIpv6Tcp, TcpConversation,
  wrapEthernet, wrapNull, wrapSll, wrapSll2,
} from "../../capture/packet-builder.js";
import { decodeAll, frameOf, RecordingSink } from "./helpers.js";

const PAYLOAD = Uint8Array.of(0xde, 0xad, 0xbe, 0xef, 1, 2, 3);
const udp4 = buildIpv4Udp({ src: "127.0.0.1", dst: "127.0.0.9", sport: 700, dport: 111, payload: PAYLOAD });
const udp6 = buildIpv6Udp({ src: "::1", dst: "::2", sport: 700, dport: 111, payload: PAYLOAD });

function udpSummary(sink: RecordingSink): string[] {
  return sink.udps.map((u) => `${u.frame} ${u.src}:${u.sport} > ${u.dst}:${u.dport} ${Buffer.from(u.payloadCopy).toString("hex")} missing ${u.missingBytes}`);
}

describe("link types", () => {
  const v4 = "1 127.0.0.1:700 > 127.0.0.9:111 deadbeef010203 missing 0";
  const v6 = "1 ::1:700 > ::2:111 deadbeef010203 missing 0";
  const rows: { name: string; linkType: number; frame: Uint8Array; expect: string }[] = [
    { name: "Ethernet IPv4", linkType: LinkType.ETHERNET, frame: wrapEthernet(udp4), expect: v4 },
    { name: "Ethernet IPv6", linkType: LinkType.ETHERNET, frame: wrapEthernet(udp6), expect: v6 },
    { name: "802.1Q", linkType: LinkType.ETHERNET, frame: wrapEthernet(udp4, { vlans: [{ vid: 5 }] }), expect: v4 },
    { name: "QinQ 802.1ad", linkType: LinkType.ETHERNET, frame: wrapEthernet(udp6, { vlans: [{ tpid: 0x88a8, vid: 5 }, { vid: 6 }] }), expect: v6 },
    { name: "8 stacked tags", linkType: LinkType.ETHERNET, frame: wrapEthernet(udp4, { vlans: Array.from({ length: 8 }, (_, i) => ({ tpid: 0x9100, vid: i })) }), expect: v4 },
    { name: "Linux SLL", linkType: LinkType.LINUX_SLL, frame: wrapSll(udp4, { address: Uint8Array.of(1, 2, 3, 4, 5, 6) }), expect: v4 },
    { name: "Linux SLL with a VLAN protocol", linkType: LinkType.LINUX_SLL, frame: wrapSll(wrapEthernet(udp4, { vlans: [{ vid: 9 }] }).subarray(14), { protocol: 0x8100 }), expect: v4 },
    { name: "Linux SLL2", linkType: LinkType.LINUX_SLL2, frame: wrapSll2(udp6), expect: v6 },
    { name: "NULL AF_INET little-endian", linkType: LinkType.NULL, frame: wrapNull(udp4), expect: v4 },
    { name: "NULL AF_INET big-endian", linkType: LinkType.NULL, frame: wrapNull(udp4, { bigEndian: true }), expect: v4 },
    { name: "NULL AF_INET6 = 24", linkType: LinkType.NULL, frame: wrapNull(udp6, { family: 24 }), expect: v6 },
    { name: "NULL AF_INET6 = 28 big-endian", linkType: LinkType.NULL, frame: wrapNull(udp6, { family: 28, bigEndian: true }), expect: v6 },
    { name: "NULL AF_INET6 = 30", linkType: LinkType.NULL, frame: wrapNull(udp6, { family: 30 }), expect: v6 },
    { name: "LOOP (big-endian)", linkType: LinkType.LOOP, frame: wrapNull(udp4, { bigEndian: true }), expect: v4 },
    { name: "LOOP written little-endian", linkType: LinkType.LOOP, frame: wrapNull(udp6, { family: 30 }), expect: v6 },
    { name: "RAW IPv4", linkType: LinkType.RAW, frame: udp4, expect: v4 },
    { name: "RAW IPv6", linkType: LinkType.RAW, frame: udp6, expect: v6 },
    { name: "LINKTYPE_IPV4", linkType: LinkType.IPV4, frame: udp4, expect: v4 },
    { name: "LINKTYPE_IPV6", linkType: LinkType.IPV6, frame: udp6, expect: v6 },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const sink = decodeAll([row.frame], { linkType: row.linkType });
      expect(sink.issues).toEqual([]);
      expect(udpSummary(sink)).toEqual([row.expect]);
      expect(sink.done).toEqual([[1, true]]);
    });
  }

  const issueRows: { name: string; linkType: number; frame: Uint8Array; code: string; detail: RegExp }[] = [
    { name: "unsupported link type", linkType: 147, frame: udp4, code: "unsupported-link", detail: /link type 147/ },
    { name: "ARP", linkType: LinkType.ETHERNET, frame: wrapEthernet(new Uint8Array(28), { etherType: 0x0806 }), code: "not-ip", detail: /EtherType 0x0806/ },
    { name: "802.3 length field", linkType: LinkType.ETHERNET, frame: wrapEthernet(new Uint8Array(40), { etherType: 40 }), code: "not-ip", detail: /802\.3/ },
    { name: "nine VLAN tags", linkType: LinkType.ETHERNET, frame: wrapEthernet(udp4, { vlans: Array.from({ length: 9 }, (_, i) => ({ vid: i })) }), code: "malformed-link", detail: /more than 8 nested VLAN tags/ },
    { name: "short Ethernet", linkType: LinkType.ETHERNET, frame: new Uint8Array(10), code: "malformed-link", detail: /Ethernet header needs 14 bytes, only 10/ },
    { name: "VLAN tag cut", linkType: LinkType.ETHERNET, frame: wrapEthernet(new Uint8Array(0), { etherType: 0x8100 }).subarray(0, 16), code: "malformed-link", detail: /VLAN tag/ },
    { name: "NULL unknown family", linkType: LinkType.NULL, frame: wrapNull(udp4, { family: 7 }), code: "not-ip", detail: /family 7/ },
    { name: "RAW version 5", linkType: LinkType.RAW, frame: Uint8Array.of(0x50, 0, 0, 0), code: "not-ip", detail: /IP version 5/ },
    { name: "short SLL2", linkType: LinkType.LINUX_SLL2, frame: new Uint8Array(19), code: "malformed-link", detail: /SLL2/ },
  ];
  for (const row of issueRows) {
    it(`reports ${row.code}: ${row.name}`, () => {
      const sink = decodeAll([row.frame], { linkType: row.linkType });
      expect(sink.issues.map((i) => i.code)).toEqual([row.code]);
      expect(sink.issues[0]?.detail).toMatch(row.detail);
      expect(sink.issues[0]?.frame).toBe(1);
      expect(sink.udps).toEqual([]);
      expect(sink.done).toEqual([[1, false]]);
    });
  }
});

describe("IPv4, IPv6 and UDP headers", () => {
  function mutated(base: Uint8Array, edit: (b: Uint8Array, v: DataView) => void): Uint8Array {
    const b = base.slice();
    edit(b, new DataView(b.buffer));
    return b;
  }
  const rows: { name: string; packet: Uint8Array; code: string; detail: RegExp; originalLength?: number }[] = [
    { name: "IPv4 header cut", packet: udp4.subarray(0, 12), code: "malformed-ip", detail: /IPv4 header needs 20 bytes, only 12/ },
    { name: "IPv4 header cut by the snaplen", packet: udp4.subarray(0, 12), originalLength: udp4.length, code: "truncated", detail: /snaplen/ },
    { name: "IHL below 5", packet: mutated(udp4, (b) => (b[0] = 0x44)), code: "malformed-ip", detail: /header length 16/ },
    { name: "IHL past the data", packet: mutated(udp4, (b) => (b[0] = 0x4f)).subarray(0, 40), code: "malformed-ip", detail: /IPv4 header with options needs 60/ },
    { name: "total length below the header", packet: mutated(udp4, (_b, v) => v.setUint16(2, 12)), code: "malformed-ip", detail: /total length 12/ },
    { name: "total length beyond the wire", packet: mutated(udp4, (_b, v) => v.setUint16(2, udp4.length + 50)), code: "malformed-ip", detail: /50 bytes more than the frame carried/ },
    { name: "UDP length below 8", packet: mutated(udp4, (_b, v) => v.setUint16(24, 7)), code: "malformed-udp", detail: /UDP length 7/ },
    { name: "UDP length beyond the IP payload", packet: mutated(udp4, (_b, v) => v.setUint16(24, 200)), code: "malformed-udp", detail: /UDP length 200 exceeds/ },
    { name: "UDP header cut", packet: buildIpv4("1.1.1.1", "2.2.2.2", 17, new Uint8Array(5)), code: "malformed-udp", detail: /UDP header needs 8/ },
    { name: "TCP data offset below 5", packet: mutated(buildIpv4("1.1.1.1", "2.2.2.2", 6, new Uint8Array(20)), (b) => (b[32] = 0x40)), code: "malformed-tcp", detail: /data offset 16/ },
    { name: "TCP options past the data", packet: mutated(buildIpv4("1.1.1.1", "2.2.2.2", 6, new Uint8Array(24)), (b) => (b[32] = 0xf0)), code: "malformed-tcp", detail: /TCP header with options needs 60/ },
    { name: "IPv6 header cut", packet: udp6.subarray(0, 30), code: "malformed-ip", detail: /IPv6 header needs 40/ },
    { name: "IPv4 packet on an IPv6 link", packet: buildIpv4("1.1.1.1", "2.2.2.2", 17, new Uint8Array(40)), code: "malformed-ip", detail: /IP version 4 where IPv6/ },
    { name: "IPv6 extension header past the data", packet: buildIpv6("::1", "::2", 0, Uint8Array.of(17, 5, 0, 0, 0, 0, 0, 0)), code: "malformed-ip", detail: /extension header needs 48/ },
    { name: "an endless chain of extension headers", packet: buildIpv6("::1", "::2", 60, new Uint8Array(17 * 8).map((_, i) => (i % 8 === 0 ? 60 : 0))), code: "malformed-ip", detail: /more than 16 IPv6 extension headers/ },
  ];
  for (const row of rows) {
    it(`${row.code}: ${row.name}`, () => {
      const sink = new RecordingSink();
      const decoder = new PacketDecoder(DEFAULT_LIMITS, sink);
      const linkType = row.name.includes("IPv6 link") ? LinkType.IPV6 : LinkType.RAW;
      decoder.push(frameOf(1, row.packet, linkType, row.originalLength === undefined ? {} : { originalLength: row.originalLength }));
      decoder.finish();
      expect(sink.issues.map((i) => i.code)).toContain(row.code);
      expect(sink.issues.find((i) => i.code === row.code)?.detail).toMatch(row.detail);
      expect(decoder.stats().malformed).toBe(1);
    });
  }

  it("trusts min(total length, captured): Ethernet padding is ignored, a snaplen cut is reported as missingBytes", () => {
    const padded = wrapEthernet(Buffer.concat([udp4, new Uint8Array(10)]));
    expect(udpSummary(decodeAll([padded], { linkType: LinkType.ETHERNET }))).toEqual(["1 127.0.0.1:700 > 127.0.0.9:111 deadbeef010203 missing 0"]);
    const sink = new RecordingSink();
    const decoder = new PacketDecoder(DEFAULT_LIMITS, sink);
    decoder.push(frameOf(1, udp4.subarray(0, udp4.length - 3), LinkType.RAW, { originalLength: udp4.length }));
    expect(udpSummary(sink)).toEqual(["1 127.0.0.1:700 > 127.0.0.9:111 deadbeef missing 3"]);
    expect(sink.issues).toEqual([]);
    expect(decoder.stats().truncated).toBe(1);
  });

  it("treats an IPv4 total length of 0 (segmentation offload) as 'whatever was captured'", () => {
    const tso = udp4.slice();
    new DataView(tso.buffer).setUint16(2, 0);
    expect(udpSummary(decodeAll([tso]))).toHaveLength(1);
  });

  it("walks IPv6 hop-by-hop, routing, destination options and AH headers", () => {
    const udp = buildIpv6Udp({ src: "::1", dst: "::2", sport: 5, dport: 6, payload: PAYLOAD }).subarray(40);
    const hbh = Uint8Array.of(43, 0, 1, 4, 0, 0, 0, 0); // → routing, 8 bytes (PadN)
    const routing = Uint8Array.of(60, 0, 0, 0, 0, 0, 0, 0); // → destination options
    const dstopts = Uint8Array.of(51, 1, 1, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0); // 16 bytes → AH
    const ah = Uint8Array.of(17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1); // (1 + 2) · 4 = 12 bytes → UDP
    const packet = buildIpv6("::1", "::2", 0, Buffer.concat([hbh, routing, dstopts, ah, udp]));
    const sink = decodeAll([packet]);
    expect(sink.issues).toEqual([]);
    expect(udpSummary(sink)).toEqual(["1 ::1:5 > ::2:6 deadbeef010203 missing 0"]);
  });

  it("carries nothing and reports nothing for other IP protocols", () => {
    const icmp = buildIpv4("10.0.0.1", "10.0.0.2", 1, new Uint8Array(8));
    const esp = buildIpv6("::1", "::2", 50, new Uint8Array(16));
    const sink = decodeAll([icmp, esp]);
    expect(sink.issues).toEqual([]);
    expect(sink.done).toEqual([[1, false], [2, false]]);
  });

  it("decodes TCP over Ethernet IPv6 and counts everything in stats()", () => {
    const c = new TcpConversation({ client: "::1", server: "::1", clientPort: 1000, serverPort: 111 });
    const sink = new RecordingSink();
    const decoder = new PacketDecoder(DEFAULT_LIMITS, sink);
    const frames = [...c.handshake(), c.send("client", PAYLOAD)].map((ip) => wrapEthernet(ip));
    frames.push(buildEthernetIpv4Udp({ src: "127.0.0.1", dst: "127.0.0.1", sport: 1, dport: 2, payload: PAYLOAD }));
    frames.push(buildEthernetIpv6Tcp({ src: "::1", dst: "::1", sport: 1000, dport: 111, seq: c.nextSeq("client"), payload: PAYLOAD }));
    frames.forEach((f, i) => decoder.push(frameOf(i + 1, f, LinkType.ETHERNET)));
    decoder.finish();
    const st = decoder.stats();
    expect([st.frames, st.carried, st.ipv4, st.ipv6, st.udpDatagrams, st.tcp.segments, st.tcp.connections, st.tcp.bytesDelivered]).toEqual([6, 3, 1, 5, 1, 5, 1, 14]);
    expect(sink.chunks.map((c) => c.bytes.length)).toEqual([7, 7]);
  });
});

describe("address text", () => {
  const rows: [string, string][] = [
    ["0:0:0:0:0:0:0:1", "::1"],
    ["0:0:0:0:0:0:0:0", "::"],
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero word stays
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run wins
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // the first run wins a tie
    ["FE80:0000:0000:0000:0202:B3FF:FE1E:8329", "fe80::202:b3ff:fe1e:8329"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["::ffff:192.0.2.1", "::ffff:192.0.2.1"],
    ["::192.0.2.1", "::192.0.2.1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
  ];
  for (const [input, want] of rows) {
    it(`${input} → ${want}`, () => {
      expect(formatIpv6(parseIpv6(input), 0)).toBe(want);
    });
  }
  it("rejects malformed text in the builders' parsers", () => {
    expect(() => parseIpv4("1.2.3")).toThrow();
    expect(() => parseIpv4("1.2.3.256")).toThrow();
    expect(() => parseIpv6("1::2::3")).toThrow();
    expect(() => parseIpv6("12345::")).toThrow();
    expect(() => parseIpv6("1:2:3")).toThrow();
  });
});
