/**
 * The integer key of a search parameter of one resource type in the index tables: a 31-bit FNV-1a hash
 * of `Type.code`. Small keys keep the index B-trees small; a hash (not a counter) gives every process
 * the same id and does not move when a SearchParameter is added. `loadDefinitions` refuses collisions.
 */
export function paramId(type: string, code: string): number {
  const key = `${type}.${code}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 1) & 0x7fffffff;
}
