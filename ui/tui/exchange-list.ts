/**
 * The exchange list (Wireshark's packet list, one line per call/reply pair).
 *
 * Virtualised: only the rows on screen are read from the source, one `row()` call
 * each per draw, whatever the size of the capture. In live mode the selection
 * follows new rows while it sits on the last one (the user scrolling up stops it;
 * G or End starts it again).
 */
import type { ExchangeRow, TuiDataSource } from "./data-source.js";
import { formatHeader, formatRow, layoutColumns, type ColumnLayout } from "./exchange-columns.js";
import { ListWindow } from "./list-window.js";
import { isDown, isEnd, isHome, isPageDown, isPageUp, isUp, type KeyPress, type KeyResult, type Panel } from "./panel.js";
import { STYLES, fitLine, overlayLine, plainLine, type StyledLine } from "./styled-line.js";

export interface ExchangeListOptions {
  /** Slow-exchange threshold in seconds when the source has none. */
  readonly slowRttSeconds: number;
}

export class ExchangeListPanel implements Panel {
  private readonly window = new ListWindow();
  private layout: ColumnLayout = layoutColumns(80);
  private width = 80;
  private height = 2;
  private followingTail: boolean;
  /** The selected row as last read, so asking for it again costs no `row()` call. */
  private selectedCache: { position: number; row: ExchangeRow } | null = null;
  private emptyText = "(no exchanges)";

  constructor(
    private readonly source: TuiDataSource,
    private readonly options: ExchangeListOptions,
  ) {
    this.followingTail = source.live;
    this.window.setCount(source.rowCount());
  }

  get following(): boolean {
    return this.followingTail;
  }

  /** Position of the selected row in the current view, or null when the view is empty. */
  get selectedPosition(): number | null {
    return this.window.hasSelection ? this.window.selected : null;
  }

  get listWindow(): ListWindow {
    return this.window;
  }

  /** Text shown when the view has no rows ("no match for the filter", "loading…"). */
  setEmptyText(text: string): void {
    this.emptyText = text;
  }

  selectedRow(): ExchangeRow | null {
    const position = this.selectedPosition;
    if (position === null) return null;
    if (this.selectedCache?.position !== position) {
      this.selectedCache = { position, row: this.source.row(position) };
    }
    return this.selectedCache.row;
  }

  resize(width: number, height: number): void {
    this.width = Math.max(1, width);
    this.height = Math.max(2, height);
    this.layout = layoutColumns(this.width);
    this.window.setHeight(this.height - 1);
  }

  /** Rows were added or changed in the source. */
  refresh(): void {
    this.selectedCache = null;
    this.window.setCount(this.source.rowCount());
    if (this.followingTail) this.window.end();
  }

  /**
   * The view was replaced (filter, conversation): keep the selection on the same
   * exchange, or the nearest one after it.
   */
  reselect(exchangeIndex: number | null): void {
    this.selectedCache = null;
    this.window.setCount(this.source.rowCount());
    if (exchangeIndex === null) this.window.home();
    else this.window.center(this.source.positionOf(exchangeIndex));
    this.afterMove();
  }

  /** Select a position and bring it to the middle of the screen if it was off screen. */
  jumpTo(position: number): void {
    this.window.center(position);
    this.afterMove();
  }

  draw(focused: boolean): readonly StyledLine[] {
    const lines: StyledLine[] = [formatHeader(this.layout, focused ? STYLES.titleFocused : STYLES.title)];
    const { start, end } = this.window.visibleRange();
    const slowRtt = this.source.slowRtt() ?? this.options.slowRttSeconds;
    for (let position = start; position < end; position++) {
      const row = this.source.row(position);
      const selected = position === this.window.selected;
      let line = formatRow(row, this.layout, slowRtt, selected ? ">" : " ");
      if (selected) {
        this.selectedCache = { position, row };
        line = overlayLine(line, focused ? STYLES.selectedFocused : STYLES.selectedBlurred);
      }
      lines.push(fitLine(line, this.width));
    }
    if (this.window.count === 0) lines.push(plainLine(" " + this.emptyText, this.width, STYLES.dim));
    while (lines.length < this.height) lines.push(plainLine("", this.width));
    return lines.slice(0, this.height);
  }

  handleKey(key: KeyPress): KeyResult {
    if (isDown(key)) this.window.moveBy(1);
    else if (isUp(key)) this.window.moveBy(-1);
    else if (isPageDown(key)) this.window.pageDown();
    else if (isPageUp(key)) this.window.pageUp();
    else if (isHome(key)) this.window.home();
    else if (isEnd(key)) this.window.end();
    else return "not-handled";
    this.afterMove();
    return "handled";
  }

  handleClick(_x: number, line: number): KeyResult {
    const position = this.window.rowAtLine(line - 1);
    if (position === null) return "not-handled";
    this.window.select(position);
    this.afterMove();
    return "handled";
  }

  handleWheel(delta: number): KeyResult {
    this.window.scrollBy(delta);
    this.afterMove();
    return "handled";
  }

  private afterMove(): void {
    // Following the tail is "the selection is on the last row" of a live capture.
    this.followingTail = this.source.live && this.window.atEnd;
  }
}
