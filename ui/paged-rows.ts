/**
 * Rows of a fixed number of numbers, kept in pages of a fixed number of rows: a row
 * past the last page adds one page, and nothing is ever copied. The TUI's stores
 * (ui/row-store.ts, ui/message-store.ts) grew one typed array by half as much again
 * instead: loading 1,000,000 exchanges, the later growths each stopped the event loop
 * for 31–114 ms (allocating and copying up to 100 MB), and the old and new arrays
 * were both alive while they ran.
 */

/** Rows per page unless told: pages of 0.2–0.7 MB for the stores' widths. */
export const DEFAULT_PAGE_ROWS = 16_384;

type NumberArray = Float64Array | Uint32Array | Uint16Array | Uint8Array;

export class PagedRows<A extends NumberArray> {
  private readonly pages: A[] = [];
  private readonly shift: number;
  private readonly mask: number;

  /**
   * `newPage(n)` makes a zeroed array of n numbers (`(n) => new Float64Array(n)`);
   * `width`: numbers per row; `pageRows`: a power of two.
   */
  constructor(private readonly newPage: (length: number) => A, private readonly width: number, pageRows = DEFAULT_PAGE_ROWS) {
    const shift = Math.log2(pageRows);
    if (!Number.isInteger(shift) || shift < 0 || shift > 24) throw new RangeError(`page of ${pageRows} rows: not a power of two up to 2^24`);
    this.shift = shift;
    this.mask = pageRows - 1;
  }

  /** Rows there is room for. */
  get capacity(): number {
    return this.pages.length * (this.mask + 1);
  }

  /** Makes room for row `row` (rows are added in order, so this adds a page at most now and then). */
  reserve(row: number): void {
    while (row >= this.capacity) this.pages.push(this.newPage(this.width * (this.mask + 1)));
  }

  /** Number `column` of row `row` (which reserve() made room for). */
  get(row: number, column: number): number {
    return this.pages[row >>> this.shift]![(row & this.mask) * this.width + column]!;
  }

  set(row: number, column: number, value: number): void {
    this.pages[row >>> this.shift]![(row & this.mask) * this.width + column] = value;
  }
}
