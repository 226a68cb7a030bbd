/**
 * ui/row-store: what goes in comes back out, field by field, across growth; the
 * setters change one field of one row only; nulls stay null; edge values keep.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_PAGE_ROWS } from "../../ui/paged-rows.js";
import { RowStore, type NewRow, type RowId } from "../../ui/row-store.js";
import type { RowKind } from "../../ui/tui/data-source.js";

const KINDS: readonly RowKind[] = ["exchange", "unmatched-call", "orphan-reply", "malformed", "gap"];

/** A row's fields, with its endpoints as texts (the store takes them as numbers). */
function newRow(i: number) {
  return {
    kind: KINDS[i % KINDS.length]! as RowKind,
    libvirt: i % 6 === 0,
    firstFrame: i * 3 + 1,
    time: i * 0.000_123,
    transport: (i % 4 === 0 ? "udp" : "tcp") as "udp" | "tcp",
    xid: i % 9 === 0 ? null : (i * 2_654_435_761) >>> 0,
    status: ["waiting", "SUCCESS", "NFS3ERR_NOENT", "malformed", "gap"][i % 5]!,
    isError: i % 7 === 0,
    info: i % 3 === 0 ? "" : `READ fh ${i}`,
    conversation: `tcp 10.0.0.${i % 50}:${700 + (i % 13)} 10.0.0.2:2049`,
    client: `10.0.0.${i % 50}:${700 + (i % 13)}`,
    server: "10.0.0.2:2049",
  };
}

function add(store: RowStore, r: ReturnType<typeof newRow>): RowId {
  const { conversation, client, server, ...rest } = r;
  const row: NewRow = { ...rest, endpoints: store.endpointsOf(conversation, client, server) };
  return store.add(row);
}

/** The row as NewRow's fields plus the ones set later, read back through the getters. */
function read(store: RowStore, r: RowId) {
  return {
    kind: store.kind(r), libvirt: store.libvirt(r), firstFrame: store.firstFrame(r), time: store.time(r),
    transport: store.transport(r), xid: store.xid(r), status: store.status(r), isError: store.isError(r),
    info: store.info(r), conversation: store.conversation(r), client: store.client(r), server: store.server(r),
    prog: store.prog(r), vers: store.vers(r), proc: store.proc(r), rtt: store.rtt(r), retransmits: store.retransmits(r),
    call: store.call(r), reply: store.reply(r),
  };
}

describe("RowStore", () => {
  it("gives every row back as it was added, through several growths, with nothing set later yet", () => {
    const store = new RowStore();
    for (let i = 0; i < 5000; i++) expect(add(store, newRow(i))).toBe(i);
    expect(store.size).toBe(5000);
    for (let i = 0; i < 5000; i++) {
      expect(read(store, i)).toEqual({
        ...newRow(i), prog: null, vers: null, proc: null, rtt: null, retransmits: 0, call: null, reply: null,
      });
    }
  });

  it("gives every row back across pages, small ones and the default size", () => {
    for (const [pageRows, rows] of [[64, 5000], [DEFAULT_PAGE_ROWS, 2 * DEFAULT_PAGE_ROWS + 5]] as const) {
      const store = new RowStore(1_000_000, pageRows);
      for (let i = 0; i < rows; i++) expect(add(store, newRow(i))).toBe(i);
      // Set later, on every row: page by page, each row keeps its own.
      for (let i = 0; i < rows; i++) {
        store.setProcedure(i, 100_003, 3, i % 22);
        store.setRtt(i, i * 1e-6);
        store.setCall(i, 2 * i + 1);
        store.setReply(i, 2 * i + 2);
        store.setRetransmits(i, i % 3);
      }
      for (let i = 0; i < rows; i++) {
        expect(read(store, i), `row ${i} of pages of ${pageRows}`).toEqual({
          ...newRow(i), prog: 100_003, vers: 3, proc: i % 22, rtt: i * 1e-6, retransmits: i % 3, call: 2 * i + 1, reply: 2 * i + 2,
        });
      }
      expect(() => store.kind(rows)).toThrow(RangeError);
    }
  });

  it("changes only the field and the row a setter names", () => {
    const store = new RowStore();
    for (let i = 0; i < 3000; i++) add(store, newRow(i));
    const before = Array.from({ length: 3000 }, (_, i) => read(store, i));
    const r = 1234;
    store.setKind(r, "exchange");
    store.setProcedure(r, 100003, 3, 6);
    store.setStatus(r, "NFS3ERR_IO");
    store.setError(r, true);
    store.setRtt(r, 0.000_25);
    store.setRetransmits(r, 2);
    store.setInfo(r, "a new text");
    store.setCall(r, 77);
    store.setReply(r, 78);
    expect(read(store, r)).toEqual({
      ...before[r]!, kind: "exchange", prog: 100003, vers: 3, proc: 6, status: "NFS3ERR_IO", isError: true,
      rtt: 0.000_25, retransmits: 2, info: "a new text", call: 77, reply: 78,
    });
    store.setError(r, false);
    store.setRtt(r, null);
    expect(store.isError(r)).toBe(false);
    expect(store.rtt(r)).toBeNull();
    for (let i = 0; i < 3000; i++) if (i !== r) expect(read(store, i)).toEqual(before[i]);
  });

  it("keeps values at the edges of each column", () => {
    const store = new RowStore();
    const r = add(store, { ...newRow(1), xid: 0xffff_ffff, firstFrame: 2 ** 40, time: -0.5 });
    store.setProcedure(r, 0xffff_ffff, 0, 0xffff_ffff);
    store.setRtt(r, 0);
    store.setCall(r, 2 ** 32 - 1);
    expect(store.xid(r)).toBe(0xffff_ffff);
    expect(store.firstFrame(r)).toBe(2 ** 40);
    expect(store.time(r)).toBe(-0.5);
    expect([store.prog(r), store.vers(r), store.proc(r)]).toEqual([0xffff_ffff, 0, 0xffff_ffff]);
    expect(store.rtt(r)).toBe(0); // zero is a time, not "none"
    expect(store.call(r)).toBe(2 ** 32 - 1);
    expect(store.xid(add(store, { ...newRow(1), xid: 0 }))).toBe(0); // xid 0 is an xid
  });

  it("keeps texts past the deduplication limit, and refuses rows it never gave", () => {
    const store = new RowStore(4);
    // More distinct texts than the store deduplicates: every one still reads back.
    for (let i = 0; i < 20; i++) add(store, { ...newRow(i), client: `c${i}`, server: `s${i}`, conversation: `k${i}` });
    for (let i = 0; i < 20; i++) expect([store.client(i), store.server(i), store.conversation(i)]).toEqual([`c${i}`, `s${i}`, `k${i}`]);
    for (const id of [-1, 20, 1.5, NaN]) expect(() => store.kind(id)).toThrow(RangeError);
  });
});
