/** A UTF-16 surrogate that is not part of a pair. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * `String.prototype.isWellFormed` where the runtime has it (Node 20, browsers since 2023), a
 * regular expression elsewhere: the catalog is also loaded by the client SDK, and React
 * Native's Hermes and older browsers lack the method.
 */
export function isWellFormed(s: string): boolean {
  return typeof s.isWellFormed === "function" ? s.isWellFormed() : !LONE_SURROGATE.test(s);
}
