/**
 * The contract every screen of the TUI follows (sngrep's panels): a small object
 * that knows its size, draws itself as styled lines and says whether it used a key.
 * No panel knows about blessed; app.ts feeds them keys and paints their lines.
 */
import type { StyledLine } from "./styled-line.js";

/** A key press, independent of the terminal library. */
export interface KeyPress {
  /**
   * Named keys: "up", "down", "left", "right", "pageup", "pagedown", "home", "end",
   * "enter", "escape", "tab", "backspace", "delete", "space"; otherwise the
   * character itself ("j", "G", "/", "?").
   */
  readonly name: string;
  /** The character typed, when the key produces one (used by text input). */
  readonly ch: string | null;
  readonly ctrl: boolean;
  readonly shift: boolean;
}

export type KeyResult = "handled" | "not-handled";

export interface Panel {
  /** Give the panel its size in columns and lines (title line included). */
  resize(width: number, height: number): void;
  /** Exactly `height` lines of exactly `width` columns. */
  draw(focused: boolean): readonly StyledLine[];
  handleKey(key: KeyPress): KeyResult;
  /** A click at a line of the panel (0 = its first line). */
  handleClick?(x: number, line: number): KeyResult;
  /** Mouse wheel: negative scrolls up. */
  handleWheel?(delta: number): KeyResult;
}

/** Shorthand used by tests and the key translation. */
export function key(name: string, options: { ch?: string | null; ctrl?: boolean; shift?: boolean } = {}): KeyPress {
  const ch = options.ch !== undefined ? options.ch : name.length === 1 ? name : null;
  return { name, ch, ctrl: options.ctrl ?? false, shift: options.shift ?? false };
}

/** Whether the key moves down/up one line in any list-like panel (arrows and vi keys). */
export function isDown(k: KeyPress): boolean {
  return !k.ctrl && (k.name === "down" || k.name === "j");
}
export function isUp(k: KeyPress): boolean {
  return !k.ctrl && (k.name === "up" || k.name === "k");
}
export function isPageDown(k: KeyPress): boolean {
  return k.name === "pagedown" || (k.ctrl && (k.name === "f" || k.name === "d"));
}
export function isPageUp(k: KeyPress): boolean {
  return k.name === "pageup" || (k.ctrl && (k.name === "b" || k.name === "u"));
}
export function isHome(k: KeyPress): boolean {
  return !k.ctrl && (k.name === "home" || k.name === "g");
}
export function isEnd(k: KeyPress): boolean {
  return !k.ctrl && (k.name === "end" || k.name === "G");
}
