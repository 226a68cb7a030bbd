/**
 * The detail pane: call and reply of the selected exchange as one collapsible tree
 * (Wireshark's packet details). Moving the cursor reports the byte range of the
 * node so the bytes pane can highlight it.
 *
 * Keys: up/down/j/k, PgUp/PgDn, g/G; Enter or Space open/close; Right opens (or
 * goes to the first child); Left closes (or goes to the parent); * opens all below.
 */
import type { ByteRange, Detail } from "./data-source.js";
import { ListWindow } from "./list-window.js";
import { isDown, isEnd, isHome, isPageDown, isPageUp, isUp, type KeyPress, type KeyResult, type Panel } from "./panel.js";
import { STYLES, fitLine, overlayLine, plainLine, type Segment, type StyledLine } from "./styled-line.js";
import { escapeForTerminal } from "./terminal-text.js";
import { ExpansionMemory, TreeModel, type FlatNode } from "./tree-model.js";

export type DetailState =
  | { readonly kind: "empty"; readonly text: string }
  | { readonly kind: "loading"; readonly title: string }
  | { readonly kind: "error"; readonly title: string; readonly message: string }
  | { readonly kind: "tree"; readonly title: string; readonly detail: Detail };

const INDENT = 2;

export class DetailTreePanel implements Panel {
  private readonly window = new ListWindow();
  private readonly memory = new ExpansionMemory();
  private model: TreeModel | null = null;
  private state: DetailState = { kind: "empty", text: "(no exchange selected)" };
  private width = 80;
  private height = 2;
  private lastRange: ByteRange | null = null;

  /** Called with the byte range of the node under the cursor whenever it changes. */
  onHighlight: (range: ByteRange | null) => void = () => {};

  get cursorLine(): FlatNode | undefined {
    return this.model?.line(this.window.selected);
  }

  get treeModel(): TreeModel | null {
    return this.model;
  }

  setState(state: DetailState): void {
    this.state = state;
    if (state.kind === "tree") {
      this.model = new TreeModel(state.detail.tree, this.memory);
      this.window.setCount(this.model.lines.length);
      this.window.home();
    } else {
      this.model = null;
      this.window.setCount(0);
    }
    this.lastRange = null;
    this.reportHighlight(true);
  }

  resize(width: number, height: number): void {
    this.width = Math.max(1, width);
    this.height = Math.max(1, height);
    this.window.setHeight(Math.max(1, this.height - 1));
  }

  draw(focused: boolean): readonly StyledLine[] {
    const titleStyle = focused ? STYLES.titleFocused : STYLES.title;
    const lines: StyledLine[] = [plainLine(" Detail: " + this.titleText(), this.width, titleStyle)];
    if (this.model === null) {
      const text = this.state.kind === "empty" ? this.state.text
        : this.state.kind === "loading" ? "loading..."
        : this.state.kind === "error" ? "could not read this exchange: " + escapeForTerminal(this.state.message)
        : "";
      lines.push(plainLine(" " + text, this.width, this.state.kind === "error" ? STYLES.error : STYLES.dim));
    } else {
      const { start, end } = this.window.visibleRange();
      for (let i = start; i < end; i++) {
        const flat = this.model.line(i);
        if (!flat) break;
        const selected = i === this.window.selected;
        let line = this.formatLine(flat, selected);
        if (selected) line = overlayLine(line, focused ? STYLES.selectedFocused : STYLES.selectedBlurred);
        lines.push(fitLine(line, this.width));
      }
    }
    while (lines.length < this.height) lines.push(plainLine("", this.width));
    return lines.slice(0, this.height);
  }

  private titleText(): string {
    switch (this.state.kind) {
      case "empty": return "";
      case "loading":
      case "error":
      case "tree": return escapeForTerminal(this.state.title);
    }
  }

  private formatLine(flat: FlatNode, selected: boolean): StyledLine {
    // Deep bodies would push text off screen: indentation stops at half the width.
    const indent = Math.min(flat.depth * INDENT, Math.floor(this.width / 2));
    const marker = flat.expandable ? (flat.expanded ? "- " : "+ ") : "  ";
    const style = flat.node.isError ? STYLES.error : STYLES.normal;
    const segments: Segment[] = [
      { text: (selected ? ">" : " ") + " ".repeat(indent) + marker, style },
      { text: escapeForTerminal(flat.node.label), style },
    ];
    return segments;
  }

  handleKey(key: KeyPress): KeyResult {
    const model = this.model;
    if (model === null) return "not-handled";
    const cursor = this.window.selected;
    const line = model.line(cursor);
    if (isDown(key)) this.window.moveBy(1);
    else if (isUp(key)) this.window.moveBy(-1);
    else if (isPageDown(key)) this.window.pageDown();
    else if (isPageUp(key)) this.window.pageUp();
    else if (isHome(key)) this.window.home();
    else if (isEnd(key)) this.window.end();
    else if (key.name === "enter" || key.name === "space") this.apply(() => model.toggle(cursor));
    else if (key.name === "right" || key.name === "l") {
      if (line?.expandable && !line.expanded) this.apply(() => model.expand(cursor));
      else if (line?.expandable) this.window.moveBy(1);
    } else if (key.name === "left" || key.name === "h") {
      if (line?.expandable && line.expanded) this.apply(() => model.collapse(cursor));
      else if (line && line.parent >= 0) this.window.select(line.parent);
    } else if (key.name === "*") this.apply(() => model.expandAll(cursor));
    else return "not-handled";
    this.reportHighlight(false);
    return "handled";
  }

  handleClick(x: number, line: number): KeyResult {
    if (this.model === null || line < 1) return "not-handled";
    const index = this.window.top + line - 1;
    const flat = this.model.line(index);
    if (!flat) return "not-handled";
    const markerX = 1 + Math.min(flat.depth * INDENT, Math.floor(this.width / 2));
    // A click on the +/- mark, or on the line already selected, opens or closes it.
    if (flat.expandable && (index === this.window.selected || (x >= markerX && x < markerX + 2))) {
      this.window.select(index);
      const model = this.model;
      this.apply(() => model.toggle(index));
    } else {
      this.window.select(index);
    }
    this.reportHighlight(false);
    return "handled";
  }

  handleWheel(delta: number): KeyResult {
    if (this.model === null) return "not-handled";
    this.window.scrollBy(delta);
    this.reportHighlight(false);
    return "handled";
  }

  /** Run a structural change and keep the window in step with the new line count. */
  private apply(change: () => void): void {
    const cursor = this.window.selected;
    change();
    this.window.setCount(this.model?.lines.length ?? 0);
    this.window.select(cursor);
  }

  private reportHighlight(force: boolean): void {
    const range = this.cursorLine?.node.range ?? null;
    if (!force && sameRange(range, this.lastRange)) return;
    this.lastRange = range;
    this.onHighlight(range);
  }
}

function sameRange(a: ByteRange | null, b: ByteRange | null): boolean {
  if (a === null || b === null) return a === b;
  return a.message === b.message && a.offset === b.offset && a.length === b.length;
}
