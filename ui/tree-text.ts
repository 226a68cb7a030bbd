/**
 * The tree lines of `summary -V` (forEachTreeLine in body-format.ts) written piece
 * by piece into the output buffer: no string per line, per description or per
 * number. On a capture of NFS READs and GETATTRs those strings were most of what
 * the heap held between collections (RSS 165 MB on 679 MB). A test checks both give
 * the same bytes for every body of every sample.
 */
import type { DecodedField, DecodedValue } from "../dissect/xdr-types.js";
import { treeLine } from "./body-format.js";
import { EncodedCache, type BytePieces } from "./line-writer.js";
import { escapeForTerminal } from "./text-safety.js";

/** A line writer that can take a line piece by piece (LineWriter). */
export interface TreeLineSink extends BytePieces {
  reserve(maxBytes: number): boolean;
  endLine(): void;
  line(text: string): void;
}

/** UTF-8 of escapeForTerminal(text), for names that repeat (field and type names, enum names). */
const NAMES = new EncodedCache((text) => Buffer.from(escapeForTerminal(text), "utf8"));
const ascii = (text: string): Uint8Array => Buffer.from(text, "latin1");
const COLON = ascii(": ");
const EQUALS = ascii(" = ");
const OPEN = ascii("  [");
const PLUS = ascii("+");
const CLOSE = ascii("]");
const TWO_SPACES = ascii("  ");
const ELLIPSIS = Buffer.from("…", "utf8");
const HEX_DIGITS = "0123456789abcdef";

/** Room for a line whose variable text is at most `text` UTF-16 units, beyond names and numbers. */
const LINE_FIXED = 256;

/** UTF-16 units of text of the value that is not bounded by a constant (strings, messages). */
function variableText(value: DecodedValue): number {
  switch (value.kind) {
    case "string": return value.text.length * 4;
    case "malformed": return value.error.message.length * 4;
    case "hyper": return 24;
    case "enum": return value.name?.length ?? 0;
    default: return 0;
  }
}

/**
 * Writes the tree lines of `root` (each `indent` + two spaces a level, then
 * `name: type = description  [offset+length]`) as forEachTreeLine makes them.
 */
export function writeTreeLines(out: TreeLineSink, root: DecodedField, indent: string): void {
  // The fields still to write, deepest-first order kept by a stack; module-level so
  // that the stacks are not allocated (and grown) again for every body.
  const base = stackTop;
  pushField(root, 0);
  try {
    while (stackTop > base) {
      stackTop--;
      const field = fieldStack[stackTop]!;
      const depth = depthStack[stackTop]!;
      fieldStack[stackTop] = null;
      writeTreeLine(out, field, depth, indent);
      const value = field.value;
      switch (value.kind) {
        case "struct":
          for (let i = value.fields.length - 1; i >= 0; i--) pushField(value.fields[i]!, depth + 1);
          break;
        case "array":
          for (let i = value.elements.length - 1; i >= 0; i--) pushField(value.elements[i]!, depth + 1);
          break;
        case "union":
          if (value.arm) pushField(value.arm, depth + 1);
          break;
        case "optional":
          if (value.value) pushField(value.value, depth + 1);
          break;
        default:
          break;
      }
    }
  } finally {
    // A writer that threw (a closed pipe) leaves nothing behind for the next body.
    while (stackTop > base) fieldStack[--stackTop] = null;
  }
}

const fieldStack: (DecodedField | null)[] = [];
const depthStack: number[] = [];
let stackTop = 0;

function pushField(field: DecodedField, depth: number): void {
  fieldStack[stackTop] = field;
  depthStack[stackTop] = depth;
  stackTop++;
}

function writeTreeLine(out: TreeLineSink, field: DecodedField, depth: number, indent: string): void {
  const name = NAMES.get(field.name);
  const type = NAMES.get(field.typeName);
  const value = field.value;
  const disc = value.kind === "union" ? value.disc : null;
  const max = LINE_FIXED + indent.length + 2 * depth + name.length + type.length + variableText(value) +
    (disc ? NAMES.get(disc.name).length + variableText(disc.value) : 0);
  if (out.reserve(max)) {
    out.ascii(indent);
    for (let i = 0; i < depth; i++) out.bytes(TWO_SPACES);
    out.raw(name);
    out.bytes(COLON);
    out.raw(type);
    writeDescription(out, value);
    out.bytes(OPEN);
    out.int(field.offset);
    out.bytes(PLUS);
    out.int(field.length);
    out.bytes(CLOSE);
    out.endLine();
  } else {
    // Longer than the output buffer: the string form, which the writer copes with.
    out.line(treeLine(field, indent + "  ".repeat(depth)));
  }
}

/** ` = description` as describeValue gives it; nothing for a struct (its description is empty). */
function writeDescription(out: TreeLineSink, value: DecodedValue): void {
  if (value.kind === "struct") return;
  out.bytes(EQUALS);
  writeDescribed(out, value);
}

function writeDescribed(out: TreeLineSink, value: DecodedValue): void {
  switch (value.kind) {
    case "int":
    case "float":
      out.int(value.value);
      return;
    case "hyper":
      out.ascii(value.value.toString());
      return;
    case "bool":
      out.ascii(value.raw === 0 || value.raw === 1 ? String(value.value) : `${value.value} (raw ${value.raw}, invalid)`);
      return;
    case "enum":
      if (value.name) {
        out.raw(NAMES.get(value.name));
        out.ascii(" (");
        out.int(value.value);
        out.ascii(")");
      } else {
        out.ascii("UNKNOWN(");
        out.int(value.value);
        out.ascii(")");
      }
      return;
    case "opaque":
      writeOpaque(out, value.bytes);
      return;
    case "string":
      out.ascii('"');
      writeUtf8(out, escapeForTerminal(value.text));
      out.ascii('"');
      return;
    case "struct":
      return;
    case "union":
      out.raw(NAMES.get(value.disc.name));
      out.bytes(EQUALS);
      writeDescribed(out, value.disc.value);
      return;
    case "array":
      out.int(value.count);
      out.ascii(value.count === 1 ? " element" : " elements");
      return;
    case "optional":
      out.ascii(value.value ? "present" : "absent");
      return;
    case "void":
      out.ascii("void");
      return;
    case "malformed":
      out.ascii("MALFORMED: ");
      writeUtf8(out, escapeForTerminal(value.error.message));
      return;
  }
}

function writeUtf8(out: TreeLineSink, text: string): void {
  out.raw(Buffer.from(text, "utf8"));
}

/** Hex digits and the printable preview of an opaque are written here, then copied out. */
const SCRATCH = new Uint8Array(64);
/** SCRATCH's first n bytes, for each n: a copy without a view made per value. */
const SCRATCH_PREFIX = Array.from({ length: SCRATCH.length + 1 }, (_, n) => SCRATCH.subarray(0, n));
const HEX_CODES = Buffer.from(HEX_DIGITS, "latin1");
const DOT = 0x2e;

/** `N bytes <hex of the first 32>[…]` and, when mostly printable, `  "<text>[…]"`. */
function writeOpaque(out: TreeLineSink, bytes: Uint8Array): void {
  out.int(bytes.length);
  out.ascii(" bytes ");
  const shown = Math.min(bytes.length, 32);
  for (let i = 0; i < shown; i++) {
    const b = bytes[i]!;
    SCRATCH[2 * i] = HEX_CODES[b >> 4]!;
    SCRATCH[2 * i + 1] = HEX_CODES[b & 15]!;
  }
  out.bytes(SCRATCH_PREFIX[2 * shown]!);
  if (shown < bytes.length) out.bytes(ELLIPSIS);
  const n = Math.min(bytes.length, 48);
  if (n === 0) return;
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b >= 0x20 && b < 0x7f) printable++;
  }
  if (printable * 4 < n * 3) return;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    SCRATCH[i] = b >= 0x20 && b < 0x7f ? b : DOT;
  }
  out.ascii('  "');
  out.bytes(SCRATCH_PREFIX[n]!);
  if (n < bytes.length) out.bytes(ELLIPSIS);
  out.ascii('"');
}
