/**
 * Where the header fields of a pcap or pcapng file are, so the fuzzer can aim at
 * them (a random flip rarely lands on a block length). Reads well-formed input
 * only: it is run on the committed samples before they are mutated.
 */

export interface CaptureField {
  readonly at: number;
  readonly size: 1 | 2 | 4;
  readonly littleEndian: boolean;
  readonly what: string;
}

export function captureFields(b: Uint8Array): CaptureField[] {
  if (b.length < 4) return [];
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const be = view.getUint32(0, false);
  if (be === 0x0a0d0d0a) return pcapngFields(b, view);
  const le = view.getUint32(0, true);
  const magics = [0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34];
  if (magics.includes(le)) return pcapFields(b, view, true, le === 0xa1b2cd34 ? 24 : 16);
  if (magics.includes(be)) return pcapFields(b, view, false, be === 0xa1b2cd34 ? 24 : 16);
  return [];
}

function pcapFields(b: Uint8Array, view: DataView, le: boolean, recordHeader: number): CaptureField[] {
  const out: CaptureField[] = [
    { at: 0, size: 4, littleEndian: le, what: "pcap magic" },
    { at: 4, size: 2, littleEndian: le, what: "pcap version major" },
    { at: 6, size: 2, littleEndian: le, what: "pcap version minor" },
    { at: 16, size: 4, littleEndian: le, what: "pcap snaplen" },
    { at: 20, size: 4, littleEndian: le, what: "pcap link type" },
  ];
  let pos = 24;
  let n = 0;
  while (pos + recordHeader <= b.length) {
    n++;
    out.push(
      { at: pos, size: 4, littleEndian: le, what: `record ${n} ts_sec` },
      { at: pos + 4, size: 4, littleEndian: le, what: `record ${n} ts_frac` },
      { at: pos + 8, size: 4, littleEndian: le, what: `record ${n} caplen` },
      { at: pos + 12, size: 4, littleEndian: le, what: `record ${n} origlen` },
    );
    pos += recordHeader + view.getUint32(pos + 8, le);
  }
  return out;
}

function pcapngFields(b: Uint8Array, view: DataView): CaptureField[] {
  const out: CaptureField[] = [];
  let pos = 0;
  let le = true;
  let n = 0;
  while (pos + 12 <= b.length) {
    n++;
    const beType = view.getUint32(pos, false);
    if (beType === 0x0a0d0d0a) le = view.getUint32(pos + 8, true) === 0x1a2b3c4d;
    const type = view.getUint32(pos, le);
    const length = view.getUint32(pos + 4, le);
    if (length < 12 || pos + length > b.length) break;
    out.push(
      { at: pos, size: 4, littleEndian: le, what: `block ${n} type` },
      { at: pos + 4, size: 4, littleEndian: le, what: `block ${n} length` },
      { at: pos + length - 4, size: 4, littleEndian: le, what: `block ${n} trailing length` },
    );
    if (type === 0x0a0d0d0a) {
      out.push(
        { at: pos + 8, size: 4, littleEndian: le, what: `SHB ${n} byte-order magic` },
        { at: pos + 12, size: 2, littleEndian: le, what: `SHB ${n} major version` },
      );
    } else if (type === 1) {
      out.push(
        { at: pos + 8, size: 2, littleEndian: le, what: `IDB ${n} link type` },
        { at: pos + 12, size: 4, littleEndian: le, what: `IDB ${n} snaplen` },
      );
      // Options: code, length, value (the if_tsresol byte is the interesting one).
      let opt = pos + 16;
      while (opt + 4 <= pos + length - 4) {
        const code = view.getUint16(opt, le);
        const optLength = view.getUint16(opt + 2, le);
        out.push(
          { at: opt, size: 2, littleEndian: le, what: `IDB ${n} option code` },
          { at: opt + 2, size: 2, littleEndian: le, what: `IDB ${n} option length` },
        );
        if (code === 9) out.push({ at: opt + 4, size: 1, littleEndian: le, what: `IDB ${n} if_tsresol` });
        if (code === 0) break;
        opt += 4 + ((optLength + 3) & ~3);
      }
    } else if (type === 6) {
      out.push(
        { at: pos + 8, size: 4, littleEndian: le, what: `EPB ${n} interface id` },
        { at: pos + 12, size: 4, littleEndian: le, what: `EPB ${n} timestamp high` },
        { at: pos + 16, size: 4, littleEndian: le, what: `EPB ${n} timestamp low` },
        { at: pos + 20, size: 4, littleEndian: le, what: `EPB ${n} caplen` },
        { at: pos + 24, size: 4, littleEndian: le, what: `EPB ${n} origlen` },
      );
    } else if (type === 3) {
      out.push({ at: pos + 8, size: 4, littleEndian: le, what: `SPB ${n} origlen` });
    }
    pos += length;
  }
  return out;
}

/** Byte offsets of the start of each pcap record / pcapng block (truncation targets). */
export function recordStarts(b: Uint8Array): number[] {
  return captureFields(b)
    .filter((f) => /(ts_sec|block \d+ type)$/.test(f.what))
    .map((f) => f.at);
}
