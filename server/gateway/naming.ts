export interface Named {
  server: string;
  name: string;
}

/**
 * Exposed names for tools or prompts, `<server><sep><name>`. Pure and deterministic: the input is
 * taken in order (the catalog sorts servers by name); the first holder of a name keeps it, a later
 * one gets `<sep>2`, `<sep>3`, … A server listing the same name twice keeps only the first.
 * Every clash is described in `clashes`.
 */
export function exposeNames(items: Named[], sep: string): { names: Map<string, string>; clashes: string[] } {
  const names = new Map<string, string>();
  const taken = new Map<string, Named>();
  const clashes: string[] = [];
  for (const item of items) {
    const id = `${item.server}\u0000${item.name}`;
    if (names.has(id)) {
      clashes.push(`${item.server} lists "${item.name}" twice; the first is kept`);
      continue;
    }
    const wanted = `${item.server}${sep}${item.name}`;
    let exposed = wanted;
    for (let n = 2; taken.has(exposed); n++) exposed = `${wanted}${sep}${n}`;
    if (exposed !== wanted) {
      const holder = taken.get(wanted)!;
      clashes.push(
        `"${wanted}" is ${holder.server}'s "${holder.name}"; ${item.server}'s "${item.name}" is "${exposed}"`,
      );
    }
    taken.set(exposed, item);
    names.set(id, exposed);
  }
  return { names, clashes };
}
