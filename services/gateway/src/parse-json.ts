/** `JSON.parse` that answers undefined (which no schema accepts) for a frame that is not JSON. */
export function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
