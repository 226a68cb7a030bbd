/**
 * ui/spill-file: every record reads back byte for byte, whether its bytes are still
 * pending, being written in the background, written, or spread over all three; records
 * larger than the buffer; reads past the end; close with writes in flight.
 */
import { describe, expect, it } from "vitest";
import { write } from "node:fs";
import { SpillFile, type BackgroundWrite } from "../../ui/spill-file.js";

/** A record of `n` bytes whose content depends on `seed` and the position. */
function record(seed: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 131 + i * 7) & 0xff;
  return b;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A spill file whose background writes are held back until released (what a slow
 * disk or a busy thread pool does), each then writing only half of what it was
 * asked (a short write), with 40 records appended.
 */
function spillWithHeldWrites() {
  const held: (() => void)[] = [];
  const heldWrite: BackgroundWrite = (fd, buf, offset, length, position, done) => {
    const first = length > 1 ? length >> 1 : length;
    held.push(() => write(fd, buf, offset, first, position, (err, n) => done(err, n)));
  };
  const spill = new SpillFile(1000, heldWrite);
  const stored: { offset: number; bytes: Uint8Array }[] = [];
  for (let i = 0; i < 40; i++) {
    const bytes = record(i, 100 + ((i * 53) % 400));
    stored.push({ offset: spill.append(bytes), bytes });
  }
  return { spill, held, stored };
}

describe("SpillFile", () => {
  it("reads every record back at once and after the background writes finish", async () => {
    const spill = new SpillFile(4096);
    const stored: { offset: number; bytes: Uint8Array }[] = [];
    for (let i = 0; i < 2000; i++) {
      // Mostly small, some spanning buffers, a few larger than the buffer itself.
      const n = i % 97 === 0 ? 9000 : i % 13 === 0 ? 3000 : (i * 37) % 700;
      const bytes = record(i, n);
      stored.push({ offset: spill.append(bytes), bytes });
      // Read back while writes are in flight, every few records.
      if (i % 50 === 0) {
        for (const s of stored.slice(-30)) expect(spill.read(s.offset, s.bytes.length)).toEqual(Buffer.from(s.bytes));
      }
      if (i % 400 === 0) await turn();
    }
    let offset = 0;
    for (const s of stored) {
      expect(s.offset).toBe(offset);
      offset += s.bytes.length;
    }
    expect(spill.size).toBe(offset);
    for (const s of stored) expect(spill.read(s.offset, s.bytes.length)).toEqual(Buffer.from(s.bytes));
    for (let i = 0; i < 20; i++) await turn();
    for (const s of stored) expect(spill.read(s.offset, s.bytes.length)).toEqual(Buffer.from(s.bytes));
    // A read spanning many records, and one running past the end.
    const all = Buffer.concat(stored.map((s) => s.bytes));
    expect(spill.read(100, 50_000)).toEqual(all.subarray(100, 50_100));
    expect(spill.read(offset - 10, 100)).toEqual(all.subarray(offset - 10));
    spill.close();
  });

  it("serves bytes whose background write has not happened yet, or has happened only in part", () => {
    const { spill, held, stored } = spillWithHeldWrites();
    expect(held.length).toBeGreaterThan(3);
    for (const s of stored) expect(spill.read(s.offset, s.bytes.length)).toEqual(Buffer.from(s.bytes));
    spill.close();
  });

  it("finishes short writes in the background", async () => {
    const { spill, held, stored } = spillWithHeldWrites();
    expect(spill.writesInFlight).toBeGreaterThan(0);
    // Release until every write is done: each short write queues the rest of its buffer.
    for (let waited = 0; spill.writesInFlight > 0 && waited < 2000; waited += 5) {
      for (const release of held.splice(0)) release();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(spill.writesInFlight).toBe(0);
    expect(held).toHaveLength(0);
    // Nothing is in memory but the pending buffer now: the rest comes from the file.
    for (const s of stored) expect(spill.read(s.offset, s.bytes.length)).toEqual(Buffer.from(s.bytes));
    spill.close();
  });

  it("reads nothing past the end, and stores nothing after close()", () => {
    const spill = new SpillFile(64);
    spill.append(record(1, 10));
    expect(spill.read(20, 4)).toHaveLength(0);
    expect(spill.read(10, 4)).toHaveLength(0);
    expect(spill.read(8, 4)).toEqual(Buffer.from(record(1, 10).subarray(8)));
    spill.close();
    // The loader may still be appending when the TUI quits.
    expect(() => spill.append(record(2, 100))).not.toThrow();
    expect(spill.size).toBe(10);
  });

  it("closes with writes still in flight without losing them to a reused descriptor", async () => {
    const spill = new SpillFile(1024);
    for (let i = 0; i < 64; i++) spill.append(record(i, 1000));
    spill.close();
    spill.close(); // twice is harmless
    for (let i = 0; i < 20; i++) await turn();
  });
});
