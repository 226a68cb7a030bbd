/** Program and procedure names for views and filters, backed by the spec registry. */
import type { ProgramRegistry } from "../dissect/registry.js";
import type { NameLookup } from "./filter/fields.js";

export function namesFor(registry: ProgramRegistry): NameLookup {
  let byName: Map<string, number> | null = null;
  return {
    programName: (prog) => registry.programName(prog),
    procedureName: (prog, vers, proc) => registry.procedureName(prog, vers, proc),
    programNumber(name) {
      if (!byName) {
        byName = new Map();
        for (const prog of registry.knownPrograms()) {
          const n = registry.programName(prog);
          if (n) byName.set(n.toLowerCase(), prog);
          const d = registry.programDisplayName(prog);
          if (d) byName.set(d.toLowerCase(), prog);
        }
      }
      return byName.get(name.toLowerCase());
    },
  };
}
