/**
 * ui/message-store: what goes in comes back out, field by field, across growth,
 * with the values at the edges of each column's range.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_PAGE_ROWS } from "../../ui/paged-rows.js";
import { MessageStore, type StoredMessage } from "../../ui/message-store.js";

function message(i: number): StoredMessage {
  return {
    frame: i + 1,
    frames: i % 5 === 0 ? [i + 1, i + 3, i + 8] : [],
    tsSec: 1_700_000_000 + i,
    tsNsec: (i * 7919) % 1_000_000_000,
    time: i * 0.000123,
    src: `10.0.${i % 7}.1`,
    dst: i % 2 ? "fe80::1" : "10.0.0.2",
    sport: (i * 31) % 65536,
    dport: 2049,
    connId: i % 3 === 0 ? null : i,
    length: 100 + i,
    spillOffset: i * 4096,
    stored: 100 + i - (i % 4),
    issues: i % 11 === 0 ? [`truncated: only ${i} bytes`] : [],
  };
}

describe("MessageStore", () => {
  it("gives every message back as it was stored, through several growths", () => {
    const store = new MessageStore();
    const ids: number[] = [];
    for (let i = 0; i < 5000; i++) ids.push(store.add(message(i)));
    expect(store.size).toBe(5000);
    expect(ids[0]).toBe(1); // ids are truthy
    for (let i = 0; i < 5000; i++) {
      expect(store.get(ids[i]!)).toEqual(message(i));
      expect(store.length(ids[i]!)).toBe(100 + i);
    }
  });

  it("gives every message back across pages, small ones and the default size", () => {
    for (const [pageRows, count] of [[64, 5000], [DEFAULT_PAGE_ROWS, 2 * DEFAULT_PAGE_ROWS + 5]] as const) {
      const store = new MessageStore(pageRows);
      for (let i = 0; i < count; i++) expect(store.add(message(i))).toBe(i + 1);
      for (let i = 0; i < count; i++) {
        expect(store.get(i + 1), `message ${i + 1} of pages of ${pageRows}`).toEqual(message(i));
        expect(store.length(i + 1)).toBe(100 + i);
      }
      expect(() => store.get(count + 1)).toThrow(RangeError);
    }
  });

  it("keeps values at the edges of each column", () => {
    const store = new MessageStore();
    const edge: StoredMessage = {
      frame: 2 ** 40, frames: [], tsSec: 2 ** 33 + 1, tsNsec: 999_999_999, time: -0.5, src: "", dst: "::",
      sport: 65535, dport: 0, connId: 0, length: 0xffff_ffff, spillOffset: 2 ** 45 + 3, stored: 0, issues: [],
    };
    const id = store.add(edge);
    expect(store.get(id)).toEqual(edge);
    expect(store.get(store.add({ ...edge, connId: null })).connId).toBeNull();
  });

  it("refuses ids it never gave and lengths over 32 bits", () => {
    const store = new MessageStore();
    store.add(message(1));
    for (const id of [0, 2, -1, 1.5, NaN]) expect(() => store.get(id)).toThrow(RangeError);
    expect(() => store.add({ ...message(2), length: 2 ** 32 })).toThrow(RangeError);
    expect(store.size).toBe(1);
  });
});
