/** Shared test data for the TUI tests. */
import type { Detail, ExchangeRow, FilterResult, Progress, TuiDataSource } from "../../ui/tui/data-source.js";

export function sampleRow(over: Partial<ExchangeRow> = {}): ExchangeRow {
  return {
    index: 42, kind: "exchange", firstFrame: 83, time: 1.5, client: "192.168.1.10:801", server: "192.168.1.2:2049",
    transport: "tcp", xid: 0x1234abcd, program: "NFS v3", procedure: "LOOKUP", info: "file-1.dat", status: "NFS3_OK",
    isError: false, rtt: 0.00321, callBytes: 180, replyBytes: 33000, retransmits: 0, ...over,
  };
}

/** A source over an array of rows; the filter is a substring of the procedure ("!" is a syntax error). */
export class ArraySource implements TuiDataSource {
  title = "array";
  live = false;
  rowCalls = 0;
  detailCalls: number[] = [];
  filterCalls: (string | null)[] = [];
  conversationCalls: (number | null)[] = [];
  private view: ExchangeRow[];
  private readonly listeners = new Set<() => void>();
  detailImpl: (index: number) => Promise<Detail> = async () => ({ tree: [], bytes: [] });
  stats: readonly string[] = ["stats line 1", "stats line 2"];

  constructor(public rows: ExchangeRow[]) {
    this.view = rows;
  }

  rowCount(): number { return this.view.length; }
  row(position: number): ExchangeRow {
    this.rowCalls++;
    const row = this.view[position];
    if (!row) throw new RangeError(`row ${position}`);
    return row;
  }
  positionOf(exchangeIndex: number): number {
    const at = this.view.findIndex((r) => r.index >= exchangeIndex);
    return at < 0 ? this.view.length : at;
  }
  nextError(position: number, direction: 1 | -1): number | null {
    for (let p = position + direction; p >= 0 && p < this.view.length; p += direction) if (this.view[p]?.isError) return p;
    return null;
  }
  detail(exchangeIndex: number): Promise<Detail> {
    this.detailCalls.push(exchangeIndex);
    return this.detailImpl(exchangeIndex);
  }
  setFilter(expression: string | null): FilterResult {
    this.filterCalls.push(expression);
    if (expression !== null && expression.includes("!")) {
      return { ok: false, column: expression.indexOf("!"), message: "unexpected '!'" };
    }
    this.view = expression === null ? this.rows : this.rows.filter((r) => r.procedure.includes(expression));
    return { ok: true };
  }
  setConversation(exchangeIndex: number | null): void {
    this.conversationCalls.push(exchangeIndex);
    const pivot = this.rows.find((r) => r.index === exchangeIndex);
    this.view = pivot ? this.rows.filter((r) => r.client === pivot.client) : this.rows;
  }
  progress(): Progress {
    const errors = this.rows.filter((r) => r.isError).length;
    return { done: true, fraction: 1, counts: { exchanges: this.rows.length, errors, unmatched: 0, malformed: 0, gaps: 0 } };
  }
  statsLines(): readonly string[] { return this.stats; }
  slowRtt(): number | null { return null; }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  /** Append rows as a live capture would. */
  append(rows: ExchangeRow[]): void {
    this.rows = [...this.rows, ...rows];
    this.view = this.rows;
    for (const l of this.listeners) l();
  }
}

export function rowsOf(count: number, over: (i: number) => Partial<ExchangeRow> = () => ({})): ExchangeRow[] {
  return Array.from({ length: count }, (_, i) => sampleRow({ index: i + 1, xid: 0x1000 + i, ...over(i + 1) }));
}

/** Let pending promise callbacks (a detail being "read") run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}
