/**
 * The statistics screen (`s`): the source's report (programs, procedures, RTTs,
 * errors), scrollable. Re-read when opened and, while open, when the data change.
 */
import type { TuiDataSource } from "./data-source.js";
import type { KeyPress, KeyResult, Panel } from "./panel.js";
import type { StyledLine } from "./styled-line.js";
import { TextPager } from "./text-pager.js";

export class StatsScreen implements Panel {
  private readonly pager = new TextPager("Statistics");

  constructor(private readonly source: TuiDataSource) {}

  /** Read the report again from the source. */
  refresh(): void {
    const lines = this.source.statsLines();
    this.pager.setText(lines.length > 0 ? lines : ["(no statistics yet)"]);
  }

  resize(width: number, height: number): void {
    this.pager.resize(width, height);
  }

  draw(focused: boolean): readonly StyledLine[] {
    return this.pager.draw(focused);
  }

  handleKey(key: KeyPress): KeyResult {
    return this.pager.handleKey(key);
  }

  handleWheel(delta: number): KeyResult {
    return this.pager.handleWheel(delta);
  }
}
