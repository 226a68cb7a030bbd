/**
 * IP address text forms: IPv4 dotted quad and IPv6 in the RFC 5952 compressed form
 * (lower-case hex, no leading zeros, the longest run of two or more zero groups
 * shortened to "::", the first such run on a tie), as tshark prints them.
 *
 * Formatting reads straight from the packet bytes so the decoder never copies an
 * address just to print it; it formats once per flow (TCP) or through a small
 * cache (UDP), never per byte.
 */

/** "a.b.c.d" from 4 bytes at `offset`. */
export function formatIpv4(bytes: Uint8Array, offset: number): string {
  return `${bytes[offset] ?? 0}.${bytes[offset + 1] ?? 0}.${bytes[offset + 2] ?? 0}.${bytes[offset + 3] ?? 0}`;
}

/** RFC 5952 text of the 16 bytes at `offset`. */
export function formatIpv6(bytes: Uint8Array, offset: number): string {
  const words = new Array<number>(8);
  for (let i = 0; i < 8; i++) words[i] = ((bytes[offset + 2 * i] ?? 0) << 8) | (bytes[offset + 2 * i + 1] ?? 0);
  // RFC 5952 §4.2.2/§4.2.3: the longest run of >= 2 zero words, the first one on a tie.
  let bestStart = -1;
  let bestLen = 0;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    const zero = i < 8 && words[i] === 0;
    if (zero) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      const len = i - runStart;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
      runStart = -1;
    }
  }
  if (bestLen < 2) bestStart = -1;
  // RFC 5952 §5 (and inet_ntop): IPv4-mapped ::ffff:a.b.c.d and IPv4-compatible ::a.b.c.d
  // keep the dotted quad for the last 32 bits.
  const embedV4 = bestStart === 0 && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff));
  let out = "";
  const lastWord = embedV4 ? 6 : 8;
  for (let i = 0; i < lastWord; i++) {
    if (i === bestStart) {
      out += "::";
      i += bestLen - 1;
      continue;
    }
    if (out.length > 0 && !out.endsWith(":")) out += ":";
    out += (words[i] ?? 0).toString(16);
  }
  if (embedV4) {
    if (!out.endsWith(":")) out += ":";
    out += formatIpv4(bytes, offset + 12);
  }
  return out;
}

/** Parses "a.b.c.d"; throws on anything else (used by builders and tests, not on packet data). */
export function parseIpv4(text: string): Uint8Array {
  const parts = text.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${text}`);
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i] ?? "";
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) throw new Error(`not an IPv4 address: ${text}`);
    out[i] = Number(part);
  }
  return out;
}

/** Parses an IPv6 address in any RFC 4291 §2.2 text form; throws on anything else. */
export function parseIpv6(text: string): Uint8Array {
  const out = new Uint8Array(16);
  let head = text;
  let tailV4: Uint8Array | null = null;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".")) {
    tailV4 = parseIpv4(text.slice(lastColon + 1));
    head = text.slice(0, lastColon + 1);
    // Keep a trailing "::" (it stands for zero words); drop a single separator colon.
    if (!head.endsWith("::")) head = head.slice(0, -1);
  }
  const maxWords = tailV4 ? 6 : 8;
  const halves = head.split("::");
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${text}`);
  const parseWords = (s: string): number[] =>
    s === "" ? [] : s.split(":").map((w) => {
      if (!/^[0-9a-fA-F]{1,4}$/.test(w)) throw new Error(`not an IPv6 address: ${text}`);
      return parseInt(w, 16);
    });
  const left = parseWords(halves[0] ?? "");
  const right = halves.length === 2 ? parseWords(halves[1] ?? "") : [];
  if (halves.length === 1 && left.length !== maxWords) throw new Error(`not an IPv6 address: ${text}`);
  if (left.length + right.length > maxWords - (halves.length === 2 ? 1 : 0)) throw new Error(`not an IPv6 address: ${text}`);
  const words = new Array<number>(maxWords).fill(0);
  left.forEach((w, i) => (words[i] = w));
  right.forEach((w, i) => (words[maxWords - right.length + i] = w));
  words.forEach((w, i) => {
    out[2 * i] = w >>> 8;
    out[2 * i + 1] = w & 0xff;
  });
  if (tailV4) out.set(tailV4, 12);
  return out;
}

/** Parses either family: IPv6 when the text contains ':'. */
export function parseIpAddress(text: string): Uint8Array {
  return text.includes(":") ? parseIpv6(text) : parseIpv4(text);
}

/**
 * A bounded cache of address strings keyed by the address bytes, so the UDP path
 * (which has no flow table) does not build a string per datagram.
 */
export class AddressTextCache {
  private readonly v4 = new Map<number, string>();
  private readonly v6 = new Map<string, string>();

  constructor(private readonly maxEntries = 65_536) {}

  ipv4(bytes: Uint8Array, offset: number): string {
    const key =
      (((bytes[offset] ?? 0) << 24) | ((bytes[offset + 1] ?? 0) << 16) | ((bytes[offset + 2] ?? 0) << 8) | (bytes[offset + 3] ?? 0)) >>> 0;
    let text = this.v4.get(key);
    if (text === undefined) {
      if (this.v4.size >= this.maxEntries) this.v4.clear();
      text = formatIpv4(bytes, offset);
      this.v4.set(key, text);
    }
    return text;
  }

  ipv6(bytes: Uint8Array, offset: number): string {
    // A latin1 key of the 16 bytes: cheaper than formatting, and exact.
    let key = "";
    for (let i = 0; i < 16; i += 2) key += String.fromCharCode(((bytes[offset + i] ?? 0) << 8) | (bytes[offset + i + 1] ?? 0));
    let text = this.v6.get(key);
    if (text === undefined) {
      if (this.v6.size >= this.maxEntries) this.v6.clear();
      text = formatIpv6(bytes, offset);
      this.v6.set(key, text);
    }
    return text;
  }
}
