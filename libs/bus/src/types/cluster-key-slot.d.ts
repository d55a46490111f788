// cluster-key-slot (ioredis' own slot function) ships no types: its one export, as documented in its README.
declare module "cluster-key-slot" {
  /** The Redis Cluster slot (0–16383) of a key: CRC16 of its hash tag, or of the whole key when it has none. */
  function generate(key: string | Buffer): number;
  export default generate;
}
