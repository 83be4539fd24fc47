/** `kommo-status` → `KommoStatus`, for readable construct ids and logical ids. */
export const pascalCase = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_match, _dash, letter: string) => letter.toUpperCase());

/** The entry of `map` under `key`, or an error naming what the manifest declared but the stack lacks. */
export function declared<K extends string, V>(map: ReadonlyMap<K, V>, kind: string, key: K): V {
  const value = map.get(key);
  if (value === undefined) throw new Error(`The manifest names ${kind} "${key}" but the stack does not declare it`);
  return value;
}
