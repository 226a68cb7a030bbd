/**
 * Decoded XDR bodies for people (indented tree lines) and for tools (plain JSON
 * values). Both escape everything that came from a packet.
 */
import type { DecodedField, DecodedValue } from "../dissect/xdr-types.js";
import { escapeForTerminal, jsonSafeString } from "./text-safety.js";

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function hex(bytes: Uint8Array, max = Infinity): string {
  const n = Math.min(bytes.length, max);
  let out = "";
  for (let i = 0; i < n; i++) out += HEX[bytes[i]!]!;
  return n < bytes.length ? `${out}…` : out;
}

/**
 * JSON shape of a decoded body (documented in the README):
 * struct → object; union → object with the discriminant's name and the arm's name;
 * array → array; optional → value or null; enum → its name (number when unknown);
 * opaque → hex string; string → string; hyper → decimal string; void → null;
 * a malformed field → {"$malformed": "reason"} and decoding stopped there.
 */
export function toJsonValue(value: DecodedValue): JsonValue {
  switch (value.kind) {
    case "int":
    case "float":
      return value.value;
    case "hyper":
      return value.value.toString();
    case "bool":
      return value.value;
    case "enum":
      return value.name ?? value.value;
    case "opaque":
      return hex(value.bytes);
    case "string":
      return jsonSafeString(value.text);
    case "struct": {
      const obj: { [key: string]: JsonValue } = {};
      for (const f of value.fields) obj[f.name] = toJsonValue(f.value);
      return obj;
    }
    case "union": {
      const obj: { [key: string]: JsonValue } = { [value.disc.name]: toJsonValue(value.disc.value) };
      if (value.arm) obj[value.arm.name] = toJsonValue(value.arm.value);
      return obj;
    }
    case "array":
      return value.elements.map((e) => toJsonValue(e.value));
    case "optional":
      return value.value ? toJsonValue(value.value.value) : null;
    case "void":
      return null;
    case "malformed":
      return { $malformed: value.error.message };
  }
}

/** One-line rendering of a leaf value; containers get a short description. */
export function describeValue(value: DecodedValue): string {
  switch (value.kind) {
    case "int":
    case "float":
      return String(value.value);
    case "hyper":
      return value.value.toString();
    case "bool":
      return value.raw === 0 || value.raw === 1 ? String(value.value) : `${value.value} (raw ${value.raw}, invalid)`;
    case "enum":
      return value.name ? `${escapeForTerminal(value.name)} (${value.value})` : `UNKNOWN(${value.value})`;
    case "opaque": {
      const text = printableOrNull(value.bytes);
      return `${value.bytes.length} bytes ${hex(value.bytes, 32)}${text ? `  "${text}"` : ""}`;
    }
    case "string":
      return `"${escapeForTerminal(value.text)}"`;
    case "struct":
      return "";
    case "union":
      return `${value.disc.name} = ${describeValue(value.disc.value)}`;
    case "array":
      return `${value.count} element${value.count === 1 ? "" : "s"}`;
    case "optional":
      return value.value ? "present" : "absent";
    case "void":
      return "void";
    case "malformed":
      return `MALFORMED: ${escapeForTerminal(value.error.message)}`;
  }
}

/** Short printable rendering of opaque data when it is mostly text, else null. */
function printableOrNull(bytes: Uint8Array): string | null {
  if (bytes.length === 0) return null;
  const n = Math.min(bytes.length, 48);
  let printable = 0;
  let out = "";
  for (let i = 0; i < n; i++) {
    const b = bytes[i]!;
    if (b >= 0x20 && b < 0x7f) {
      printable++;
      out += String.fromCharCode(b);
    } else out += ".";
  }
  return printable * 4 >= n * 3 ? out + (n < bytes.length ? "…" : "") : null;
}

/** Indentation by depth, made once each. */
const PADS: string[] = [];
function padFor(indent: string, depth: number): string {
  if (indent !== "          ") return indent + "  ".repeat(depth);
  return (PADS[depth] ??= indent + "  ".repeat(depth));
}

/**
 * Indented tree lines, as `summary -V` prints them, handed to `emit` one by one.
 * Iterative (depth comes from the packet), with the pending fields and their
 * depths in two arrays rather than an object each.
 */
export function forEachTreeLine(root: DecodedField, indent: string, emit: (line: string) => void): void {
  const fields: DecodedField[] = [root];
  const depths: number[] = [0];
  while (fields.length > 0) {
    const field = fields.pop()!;
    const depth = depths.pop()!;
    emit(treeLine(field, padFor(indent, depth)));
    const children = childrenOf(field.value);
    for (let i = children.length - 1; i >= 0; i--) {
      fields.push(children[i]!);
      depths.push(depth + 1);
    }
  }
}

/** One field's line, after `pad`: `name: type = description  [offset+length]`. */
export function treeLine(field: DecodedField, pad: string): string {
  const desc = describeValue(field.value);
  return `${pad}${escapeForTerminal(field.name)}: ${escapeForTerminal(field.typeName)}${desc ? ` = ${desc}` : ""}  [${field.offset}+${field.length}]`;
}

/** The same lines as an array. */
export function treeLines(root: DecodedField, indent: string): string[] {
  const lines: string[] = [];
  forEachTreeLine(root, indent, (line) => lines.push(line));
  return lines;
}

export function childrenOf(value: DecodedValue): readonly DecodedField[] {
  switch (value.kind) {
    case "struct":
      return value.fields;
    case "union":
      return value.arm ? [value.arm] : [];
    case "array":
      return value.elements;
    case "optional":
      return value.value ? [value.value] : [];
    default:
      return [];
  }
}
