/**
 * A decoded body written as JSON bytes directly, for `summary --json -V`: the
 * same text as `jsonSafeStringify(toJsonValue(value))` (body-format.ts; a test
 * checks they agree on every sample), without building the object, running
 * JSON.stringify and scanning its output, or making a hex string of every
 * opaque: on a capture of NFS READs and WRITEs those were four fifths of the time.
 */
import type { DecodedValue } from "../dissect/xdr-types.js";
import { jsonSafeString, jsonSafeStringify } from "./text-safety.js";
import { EncodedCache, GrowingPieces } from "./line-writer.js";

const QUOTE = 0x22;

/** Whether `s` is printable ASCII with no quote or backslash: JSON and terminal safe as it is. */
function plainAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) return false;
  }
  return true;
}

/** A JSON string literal for `s`, exactly as jsonSafeStringify writes it. */
export function writeJsonString(out: GrowingPieces, s: string): void {
  if (s.length > 32) {
    // Longer texts (info lines, names): one native copy and a byte scan beat a scan of the string's characters.
    out.room(s.length * 3 + 2);
    if (out.asciiJsonString(s)) return;
    out.utf8(jsonSafeStringify(s));
    return;
  }
  if (plainAscii(s)) {
    out.room(s.length + 2);
    out.bytes(QUOTE_BYTE);
    out.ascii(s);
    out.bytes(QUOTE_BYTE);
    return;
  }
  out.utf8(jsonSafeStringify(s));
}

const QUOTE_BYTE = Uint8Array.of(QUOTE);

/** JSON text of a name (a field's, with its colon; an enum's), in bytes. */
const jsonName = (suffix: string) => (name: string): Uint8Array =>
  Buffer.from((plainAscii(name) ? `"${name}"` : jsonSafeStringify(name)) + suffix, "utf8");

const KEYS = new EncodedCache(jsonName(":"));
const ENUM_NAMES = new EncodedCache(jsonName(""));

/** `"name":` as JSON bytes. */
export function keyBytes(name: string): Uint8Array {
  return KEYS.get(name);
}

/** An enum name as a JSON string, in bytes. */
export function enumNameBytes(name: string): Uint8Array {
  return ENUM_NAMES.get(name);
}

function writeName(out: GrowingPieces, bytes: Uint8Array): void {
  out.room(bytes.length);
  out.bytes(bytes);
}

/** A number as JSON.stringify writes it (NaN and ±Infinity as null, -0 as 0). */
export function writeJsonNumber(out: GrowingPieces, n: number): void {
  out.room(32);
  if (!Number.isFinite(n)) out.ascii("null");
  else if (Object.is(n, -0)) out.ascii("0");
  else out.int(n);
}

/** Writes `value` as jsonSafeStringify(toJsonValue(value)) would. */
export function writeBodyJson(out: GrowingPieces, value: DecodedValue): void {
  switch (value.kind) {
    case "int":
    case "float":
      writeJsonNumber(out, value.value);
      return;
    case "hyper":
      writeJsonString(out, value.value.toString());
      return;
    case "bool":
      out.room(5);
      out.ascii(value.value ? "true" : "false");
      return;
    case "enum":
      if (value.name !== null) writeName(out, ENUM_NAMES.get(value.name));
      else writeJsonNumber(out, value.value);
      return;
    case "opaque":
      out.room(2);
      out.ascii('"');
      out.hex(value.bytes);
      out.room(1);
      out.ascii('"');
      return;
    case "string":
      writeJsonString(out, jsonSafeString(value.text));
      return;
    case "struct": {
      // Field names are identifiers, each once per struct (the resolver checks): the keys in order.
      const fields = value.fields;
      out.room(1);
      out.ascii("{");
      for (let i = 0; i < fields.length; i++) {
        const f = fields[i]!;
        if (i > 0) {
          out.room(1);
          out.ascii(",");
        }
        writeKey(out, f.name);
        writeBodyJson(out, f.value);
      }
      out.room(1);
      out.ascii("}");
      return;
    }
    case "union": {
      out.room(1);
      out.ascii("{");
      if (value.arm && value.arm.name === value.disc.name) {
        // One key: the arm's value in the discriminant's place.
        writeKey(out, value.disc.name);
        writeBodyJson(out, value.arm.value);
      } else {
        writeKey(out, value.disc.name);
        writeBodyJson(out, value.disc.value);
        if (value.arm) {
          out.room(1);
          out.ascii(",");
          writeKey(out, value.arm.name);
          writeBodyJson(out, value.arm.value);
        }
      }
      out.room(1);
      out.ascii("}");
      return;
    }
    case "array": {
      out.room(1);
      out.ascii("[");
      const elements = value.elements;
      for (let i = 0; i < elements.length; i++) {
        if (i > 0) {
          out.room(1);
          out.ascii(",");
        }
        writeBodyJson(out, elements[i]!.value);
      }
      out.room(1);
      out.ascii("]");
      return;
    }
    case "optional":
      if (value.value) writeBodyJson(out, value.value.value);
      else {
        out.room(4);
        out.ascii("null");
      }
      return;
    case "void":
      out.room(4);
      out.ascii("null");
      return;
    case "malformed":
      out.room(14);
      out.ascii('{"$malformed":');
      writeJsonString(out, value.error.message);
      out.room(1);
      out.ascii("}");
      return;
  }
}

function writeKey(out: GrowingPieces, name: string): void {
  writeName(out, KEYS.get(name));
}

/** The JSON text of a value (for tests). */
export function bodyJsonText(value: DecodedValue): string {
  const out = new GrowingPieces();
  writeBodyJson(out, value);
  return Buffer.from(out.take()).toString("utf8");
}
