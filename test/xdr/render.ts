/** A compact text form of a decoded tree for table tests: one line per field. */
import type { DecodedField } from "../../dissect/xdr-types.js";

function hexOf(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function render(field: DecodedField): string[] {
  const lines: string[] = [];
  const stack: { f: DecodedField; depth: number }[] = [{ f: field, depth: 0 }];
  while (stack.length) {
    const { f, depth } = stack.pop()!;
    const v = f.value;
    let text: string;
    const children: DecodedField[] = [];
    switch (v.kind) {
      case "int": case "float": text = String(v.value); break;
      case "hyper": text = `${v.value}n`; break;
      case "bool": text = v.raw > 1 ? `${v.value} (raw ${v.raw})` : String(v.value); break;
      case "enum": text = v.name === null ? `UNKNOWN(${v.value})` : `${v.name}(${v.value})`; break;
      case "opaque": text = `0x${hexOf(v.bytes)}`; break;
      case "string": text = JSON.stringify(v.text); break;
      case "void": text = "void"; break;
      case "struct": text = "{"; children.push(...v.fields); break;
      case "union": text = "union"; children.push(v.disc); if (v.arm) children.push(v.arm); break;
      case "array": text = `[${v.count}]`; children.push(...v.elements); break;
      case "optional": text = v.value ? "present" : "absent"; if (v.value) children.push(v.value); break;
      case "malformed": text = `MALFORMED ${v.error.message}`; break;
    }
    lines.push(`${"  ".repeat(depth)}${f.name}: ${f.typeName} @${f.offset}+${f.length} = ${text}`);
    for (let i = children.length - 1; i >= 0; i--) stack.push({ f: children[i]!, depth: depth + 1 });
  }
  return lines;
}
