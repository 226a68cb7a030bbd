/**
 * Selection and scroll arithmetic of a list that may hold millions of rows of
 * which only `height` are on screen. Pure numbers: no rows are read here.
 */
export class ListWindow {
  private countValue = 0;
  private heightValue = 1;
  private topValue = 0;
  private selectedValue = 0;

  /** Rows in the list. */
  get count(): number {
    return this.countValue;
  }
  /** Rows that fit on screen. */
  get height(): number {
    return this.heightValue;
  }
  /** First row on screen. */
  get top(): number {
    return this.topValue;
  }
  /** Selected row; meaningless when the list is empty (see `hasSelection`). */
  get selected(): number {
    return this.selectedValue;
  }
  get hasSelection(): boolean {
    return this.countValue > 0;
  }
  get atEnd(): boolean {
    return this.countValue === 0 || this.selectedValue === this.countValue - 1;
  }

  /** The rows to draw: [start, end). */
  visibleRange(): { start: number; end: number } {
    return { start: this.topValue, end: Math.min(this.countValue, this.topValue + this.heightValue) };
  }

  setHeight(height: number): void {
    this.heightValue = Math.max(1, Math.floor(height));
    this.clamp();
    this.keepSelectionVisible();
  }

  setCount(count: number): void {
    this.countValue = Math.max(0, Math.floor(count));
    this.clamp();
    this.keepSelectionVisible();
  }

  select(row: number): void {
    this.selectedValue = row;
    this.clamp();
    this.keepSelectionVisible();
  }

  moveBy(delta: number): void {
    this.select(this.selectedValue + delta);
  }

  /** Page down: the selection moves a screenful and the window follows (less/Wireshark). */
  pageDown(): void {
    const step = Math.max(1, this.heightValue - 1);
    this.topValue += step;
    this.selectedValue += step;
    this.clamp();
    this.keepSelectionVisible();
  }

  pageUp(): void {
    const step = Math.max(1, this.heightValue - 1);
    this.topValue -= step;
    this.selectedValue -= step;
    this.clamp();
    this.keepSelectionVisible();
  }

  home(): void {
    this.select(0);
  }

  end(): void {
    this.select(this.countValue - 1);
  }

  /** Scroll the window without moving the selection unless it would leave the screen (mouse wheel). */
  scrollBy(delta: number): void {
    this.topValue += delta;
    this.clamp();
    if (this.selectedValue < this.topValue) this.selectedValue = this.topValue;
    const last = this.topValue + this.heightValue - 1;
    if (this.selectedValue > last) this.selectedValue = Math.min(last, this.countValue - 1);
    this.clamp();
  }

  /** Put a row in the middle of the screen if it is not visible (jumps: n/N, filter). */
  center(row: number): void {
    this.selectedValue = row;
    this.clamp();
    const { start, end } = this.visibleRange();
    if (this.selectedValue < start || this.selectedValue >= end) {
      this.topValue = this.selectedValue - Math.floor(this.heightValue / 2);
      this.clamp();
    }
  }

  /** Row at a screen line of the list, or null below the last row. */
  rowAtLine(line: number): number | null {
    const row = this.topValue + line;
    return line >= 0 && line < this.heightValue && row < this.countValue ? row : null;
  }

  private clamp(): void {
    const maxTop = Math.max(0, this.countValue - this.heightValue);
    if (this.topValue > maxTop) this.topValue = maxTop;
    if (this.topValue < 0) this.topValue = 0;
    if (this.selectedValue > this.countValue - 1) this.selectedValue = this.countValue - 1;
    if (this.selectedValue < 0) this.selectedValue = 0;
  }

  private keepSelectionVisible(): void {
    if (this.selectedValue < this.topValue) this.topValue = this.selectedValue;
    else if (this.selectedValue >= this.topValue + this.heightValue) {
      this.topValue = this.selectedValue - this.heightValue + 1;
    }
    this.clamp();
  }
}
