/**
 * The full-screen terminal UI on blessed. Everything the UI does lives in
 * TuiController; this file only connects it to the terminal: blessed key and
 * mouse events in, one full-screen box painted with the controller's lines out
 * (blessed diffs the screen, so repainting the box writes only what changed).
 */
import blessed from "blessed";
import type { TuiDataSource } from "./data-source.js";
import { TuiController, type TuiOptions } from "./controller.js";
import type { KeyPress } from "./panel.js";
import { toSgr } from "./styled-line.js";

export interface RunTuiOptions extends TuiOptions {
  /** A screen to draw on (tests, embedding); by default one on stdin/stdout is created and destroyed. */
  readonly screen?: blessed.Widgets.Screen;
  /** Least time between two repaints caused by new data (live capture, loading). Default 100 ms. */
  readonly dataRepaintMs?: number;
}

const NAMED_KEYS = new Set([
  "up", "down", "left", "right", "pageup", "pagedown", "home", "end", "insert",
  "enter", "escape", "tab", "backspace", "delete", "space",
]);

/**
 * blessed's key event → KeyPress. Returns null for events to ignore: blessed
 * reports Enter twice ("return" then a synthetic "enter"); only "enter" is kept.
 */
export function keyFromBlessed(ch: string | undefined, key: Partial<blessed.Widgets.Events.IKeyEventArg> | undefined): KeyPress | null {
  const rawName = key?.name;
  if (rawName === "return") return null;
  const ctrl = key?.ctrl ?? false;
  const shift = key?.shift ?? false;
  const typed = ch !== undefined && ch.length > 0 && ch.charCodeAt(0) >= 0x20 && ch !== "\x7f" ? ch : null;
  if (rawName === "linefeed") return { name: "enter", ch: null, ctrl: false, shift: false };
  if (rawName !== undefined && NAMED_KEYS.has(rawName)) return { name: rawName, ch: typed, ctrl, shift };
  if (typed !== null && !ctrl) return { name: typed, ch: typed, ctrl: false, shift };
  if (rawName !== undefined && rawName !== "") return { name: rawName, ch: null, ctrl, shift };
  return null;
}

/** Run the TUI until the user quits. */
export async function runTui(source: TuiDataSource, opts: RunTuiOptions = {}): Promise<void> {
  const ownScreen = opts.screen === undefined;
  const screen = opts.screen ?? blessed.screen({
    smartCSR: true,
    fullUnicode: false,
    autoPadding: false,
    warnings: false,
    dockBorders: false,
  });
  const canvas = blessed.box({ parent: screen, top: 0, left: 0, width: "100%", height: "100%", tags: false, wrap: false });
  const controller = new TuiController(source, opts);

  const paint = (): void => {
    controller.resize(Number(screen.width), Number(screen.height));
    canvas.setContent(controller.render().map(toSgr).join("\n"));
    screen.render();
  };

  // Data can arrive thousands of times a second: repaint at most every dataRepaintMs.
  let dataTimer: ReturnType<typeof setTimeout> | null = null;
  const onData = (): void => {
    if (dataTimer !== null) return;
    dataTimer = setTimeout(() => {
      dataTimer = null;
      controller.dataChanged();
      paint();
    }, opts.dataRepaintMs ?? 100);
  };
  const unsubscribe = source.onChange(onData);
  controller.onRedraw = paint;

  return new Promise<void>((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      unsubscribe();
      if (dataTimer !== null) clearTimeout(dataTimer);
      controller.dispose();
      screen.removeListener("keypress", onKey);
      screen.removeListener("mouse", onMouse);
      screen.removeListener("resize", paint);
      canvas.destroy();
      if (ownScreen) screen.destroy();
      resolve();
    };

    const onKey = (ch: string | undefined, key: blessed.Widgets.Events.IKeyEventArg | undefined): void => {
      const press = keyFromBlessed(ch, key);
      if (press === null) return;
      if (controller.handleKey(press) === "quit") finish();
      else paint();
    };

    const onMouse = (data: blessed.Widgets.Events.IMouseEventArg): void => {
      // blessed also reports "wheelup"/"wheeldown", which its type definitions leave out.
      const action: string = data.action;
      const result = action === "mousedown"
        ? controller.handleMouse({ kind: "click", x: data.x, y: data.y })
        : action === "wheelup" || action === "wheeldown"
          ? controller.handleMouse({ kind: "wheel", x: data.x, y: data.y, delta: action === "wheelup" ? -3 : 3 })
          : "not-handled";
      if (result === "handled") paint();
    };

    screen.on("keypress", onKey);
    screen.on("mouse", onMouse);
    screen.on("resize", paint);
    screen.enableMouse();
    paint();
  });
}
