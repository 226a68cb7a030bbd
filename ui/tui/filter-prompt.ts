/**
 * The display-filter prompt (`/`): a one-line editor. On Enter the controller
 * applies the expression; when the source rejects it, the prompt stays open and
 * marks the column of the error under the text.
 */
import type { KeyPress } from "./panel.js";
import { STYLES, fitLine, plainLine, type Segment, type StyledLine } from "./styled-line.js";
import { escapeForTerminal, truncateEnd } from "./terminal-text.js";

export type PromptOutcome =
  | { readonly kind: "editing" }
  | { readonly kind: "submit"; readonly text: string }
  | { readonly kind: "cancel" };

const LABEL = "Filter: ";
const HISTORY_LIMIT = 50;

/**
 * Each character as shown, and the screen column where each index starts: a
 * pasted control character shows as its escape (several columns), not as itself.
 */
function displayOf(text: string): { shown: string[]; columns: number[] } {
  const shown: string[] = [];
  const columns: number[] = [];
  let column = 0;
  for (const ch of text) {
    // Code-point iteration: a surrogate pair is one character, spanning two indexes.
    const piece = ch === "\\" ? "\\" : escapeForTerminal(ch);
    for (let u = 0; u < ch.length; u++) {
      columns.push(column);
      shown.push(u === 0 ? piece : "");
    }
    column += piece.length;
  }
  columns.push(column);
  return { shown, columns };
}

export class FilterPrompt {
  private textValue = "";
  private cursorValue = 0;
  private errorValue: { column: number; message: string } | null = null;
  private readonly history: string[] = [];
  private historyIndex = 0;

  get text(): string {
    return this.textValue;
  }
  get cursor(): number {
    return this.cursorValue;
  }
  get error(): { column: number; message: string } | null {
    return this.errorValue;
  }

  open(initial: string): void {
    this.textValue = initial;
    this.cursorValue = initial.length;
    this.errorValue = null;
    this.historyIndex = this.history.length;
  }

  /** The source rejected the expression: show where, stay open. */
  setError(column: number, message: string): void {
    this.errorValue = { column: Math.max(0, Math.min(column, this.textValue.length)), message };
    this.cursorValue = this.errorValue.column;
  }

  /** Remember an applied expression for Up/Down. */
  remember(text: string): void {
    if (text === "" || this.history[this.history.length - 1] === text) return;
    this.history.push(text);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
  }

  handleKey(key: KeyPress): PromptOutcome {
    const t = this.textValue;
    const c = this.cursorValue;
    if (key.name === "enter") return { kind: "submit", text: t };
    if (key.name === "escape" || (key.ctrl && key.name === "g")) return { kind: "cancel" };
    if (key.name === "left" || (key.ctrl && key.name === "b")) this.cursorValue = Math.max(0, c - 1);
    else if (key.name === "right" || (key.ctrl && key.name === "f")) this.cursorValue = Math.min(t.length, c + 1);
    else if (key.name === "home" || (key.ctrl && key.name === "a")) this.cursorValue = 0;
    else if (key.name === "end" || (key.ctrl && key.name === "e")) this.cursorValue = t.length;
    else if (key.name === "backspace" || (key.ctrl && key.name === "h")) {
      if (c > 0) this.edit(t.slice(0, c - 1) + t.slice(c), c - 1);
    } else if (key.name === "delete" || (key.ctrl && key.name === "d")) {
      if (c < t.length) this.edit(t.slice(0, c) + t.slice(c + 1), c);
    } else if (key.ctrl && key.name === "u") this.edit(t.slice(c), 0);
    else if (key.ctrl && key.name === "k") this.edit(t.slice(0, c), c);
    else if (key.ctrl && key.name === "w") {
      let start = c;
      while (start > 0 && t[start - 1] === " ") start--;
      while (start > 0 && t[start - 1] !== " ") start--;
      this.edit(t.slice(0, start) + t.slice(c), start);
    } else if (key.name === "up") this.recall(-1);
    else if (key.name === "down") this.recall(1);
    else if (!key.ctrl && key.ch !== null && key.ch.length > 0 && isTypable(key.ch)) {
      this.edit(t.slice(0, c) + key.ch + t.slice(c), c + key.ch.length);
    }
    return { kind: "editing" };
  }

  private edit(text: string, cursor: number): void {
    this.textValue = text;
    this.cursorValue = cursor;
    this.errorValue = null; // the error was about the old text
  }

  private recall(direction: 1 | -1): void {
    const next = this.historyIndex + direction;
    if (next < 0 || next > this.history.length) return;
    this.historyIndex = next;
    this.edit(this.history[next] ?? "", (this.history[next] ?? "").length);
  }

  /** Two lines: the prompt with its cursor, then the error (caret under its column) or a hint. */
  draw(width: number): readonly StyledLine[] {
    const { shown, columns } = displayOf(this.textValue);
    const room = Math.max(1, width - LABEL.length - 1);
    const cursorColumn = columns[this.cursorValue] ?? 0;
    // Scroll the text horizontally so that the cursor (and the error mark) stay visible.
    const focusColumn = this.errorValue ? (columns[this.errorValue.column] ?? cursorColumn) : cursorColumn;
    const scroll = Math.max(0, Math.max(cursorColumn, focusColumn) - room + 1);
    const full = shown.join("");
    const visible = full.slice(scroll, scroll + room);
    const cursorAt = cursorColumn - scroll;
    const segments: Segment[] = [
      { text: LABEL, style: STYLES.key },
      { text: visible.slice(0, cursorAt), style: STYLES.normal },
      { text: visible.slice(cursorAt, cursorAt + 1) || " ", style: STYLES.cursor },
      { text: visible.slice(cursorAt + 1), style: STYLES.normal },
    ];
    const first = fitLine(segments, width);
    let second: StyledLine;
    if (this.errorValue) {
      const at = LABEL.length + (columns[this.errorValue.column] ?? 0) - scroll;
      const message = escapeForTerminal(this.errorValue.message);
      const caretLine = at + 2 + message.length <= width
        ? " ".repeat(at) + "^ " + message
        : " ".repeat(Math.max(0, at)) + "^";
      second = caretLine.length <= width
        ? plainLine(caretLine, width, STYLES.promptError)
        : plainLine(truncateEnd("^ " + message, width), width, STYLES.promptError);
      if (caretLine.length <= width && at + 2 + message.length > width) {
        // The message does not fit after the caret: put it before, right-aligned to the caret.
        const before = truncateEnd(message, Math.max(0, at - 1));
        second = plainLine(" ".repeat(Math.max(0, at - 1 - before.length)) + before + " ^", width, STYLES.promptError);
      }
    } else {
      second = plainLine("Enter: apply   Esc: cancel   empty: clear the filter   Up/Down: history", width, STYLES.dim);
    }
    return [first, second];
  }
}

function isTypable(ch: string): boolean {
  for (let i = 0; i < ch.length; i++) {
    const code = ch.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return false;
  }
  return true;
}
