/**
 * JSON as simreal writes scenario files and the files that carry a scenario (a dataset's
 * meta/simreal.json, a JSON-lines dataset's meta.json): indented like `JSON.stringify(v, null,
 * indent)`, except that an array of numbers, or of arrays of numbers, stands on one line, so a
 * range reads `"friction": [0.6, 1]` and a union of ranges `[[0.5, 0.6], [1, 1.2]]`.
 */

const INLINE = '\u0000inline:';

function isNumbers(v: unknown): boolean {
  return Array.isArray(v) && v.every((x) => typeof x === 'number');
}

/** `value` as indented JSON with its number arrays (ranges) on one line; parses back to the same value. */
export function formatJson(value: unknown, indent: number | string = 2): string {
  const inline: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (Array.isArray(v) && v.length > 0 && (isNumbers(v) || v.every(isNumbers))) {
      inline.push(JSON.stringify(v).replaceAll(',', ', '));
      return `${INLINE}${inline.length - 1}`;
    }
    return v;
  }, indent);
  return text.replace(/"\\u0000inline:(\d+)"/g, (_m, i: string) => inline[Number(i)]);
}
