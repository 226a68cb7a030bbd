/** The help screen (`?`): every key of the TUI. */
import type { KeyPress, KeyResult, Panel } from "./panel.js";
import { STYLES, type StyledLine } from "./styled-line.js";
import { TextPager } from "./text-pager.js";

/** [keys, what they do]; a row with empty keys is a section heading. */
export const KEY_HELP: readonly (readonly [string, string])[] = [
  ["", "Moving"],
  ["Up Down  j k", "previous / next line"],
  ["PgUp PgDn  C-b C-f", "previous / next page"],
  ["g G  Home End", "first / last line (G on a live capture follows new exchanges)"],
  ["Tab  S-Tab", "next / previous pane: exchanges, detail, bytes"],
  ["Enter", "in the list: go to the detail pane"],
  ["mouse", "click selects a row or a tree node; wheel scrolls"],
  ["", "Detail tree"],
  ["Enter Space", "open / close the node"],
  ["Right l", "open the node, or go to its first child"],
  ["Left h", "close the node, or go to its parent"],
  ["*", "open everything below the node"],
  ["", "Views"],
  ["/", "display filter (empty: clear); a bad expression shows where it is wrong"],
  ["c", "only the conversation of the selected exchange (again: all)"],
  ["n N", "next / previous error"],
  ["s", "statistics"],
  ["?", "this help"],
  ["Esc", "close a screen or the filter prompt"],
  ["q  C-c", "quit"],
];

export class HelpScreen implements Panel {
  private readonly pager = new TextPager("Help");

  constructor() {
    const keyWidth = Math.max(...KEY_HELP.map(([k]) => k.length)) + 2;
    const lines: StyledLine[] = [];
    for (const [keys, text] of KEY_HELP) {
      if (keys === "") {
        if (lines.length > 0) lines.push([]);
        lines.push([{ text: " " + text, style: STYLES.columnHeader }]);
      } else {
        lines.push([
          { text: "   " + keys.padEnd(keyWidth), style: STYLES.key },
          { text, style: STYLES.normal },
        ]);
      }
    }
    this.pager.setStyledLines(lines);
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
