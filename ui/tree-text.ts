/**
 * The tree lines of `summary -V` (forEachTreeLine in body-format.ts) written piece
 * by piece into the output buffer: no string per line, per description or per
 * number. On a capture of NFS READs and GETATTRs those strings were most of what
 * the heap held between collections (RSS 165 MB on 679 MB). A test checks both give
 * the same bytes for every body of every sample.
 */
import type { DecodedField, DecodedValue } from "../dissect/xdr-types.js";
import { childrenOf, treeLine } from "./body-format.js";
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
  const fields: DecodedField[] = [root];
  const depths: number[] = [0];
  while (fields.length > 0) {
    const field = fields.pop()!;
    const depth = depths.pop()!;
    const name = NAMES.get(field.name);
    const type = NAMES.get(field.typeName);
    const value = field.value;
    const disc = value.kind === "union" ? value.disc : null;
    const max = LINE_FIXED + indent.length + 2 * depth + name.length + type.length + variableText(value) +
      (disc ? NAMES.get(disc.name).length + variableText(disc.value) : 0);
    if (out.reserve(max)) {
      out.ascii(indent);
      for (let i = 0; i < depth; i++) out.ascii("  ");
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
    const children = childrenOf(value);
    for (let i = children.length - 1; i >= 0; i--) {
      fields.push(children[i]!);
      depths.push(depth + 1);
    }
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

/** `N bytes <hex of the first 32>[…]` and, when mostly printable, `  "<text>[…]"`. */
function writeOpaque(out: TreeLineSink, bytes: Uint8Array): void {
  out.int(bytes.length);
  out.ascii(" bytes ");
  const shown = Math.min(bytes.length, 32);
  let hex = "";
  for (let i = 0; i < shown; i++) hex += HEX_DIGITS[bytes[i]! >> 4]! + HEX_DIGITS[bytes[i]! & 15]!;
  out.ascii(hex);
  if (shown < bytes.length) out.bytes(ELLIPSIS);
  const n = Math.min(bytes.length, 48);
  if (n === 0) return;
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b >= 0x20 && b < 0x7f) printable++;
  }
  if (printable * 4 < n * 3) return;
  let text = "";
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    text += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
  }
  out.ascii('  "');
  out.ascii(text);
  if (n < bytes.length) out.bytes(ELLIPSIS);
  out.ascii('"');
}
