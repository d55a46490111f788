export interface ChatOptions {
  /** The scripted tour with checks, instead of the interactive chat. */
  demo: boolean;
  /** alice's gateway. */
  gatewayA: string;
  /** bob's gateway. */
  gatewayB: string;
}

/**
 * `--demo`, `--a=URL`, `--b=URL`; anything else is ignored. Without a terminal on stdin
 * there is no one to type, so the demo runs.
 */
export function parseOptions(args: readonly string[], stdinIsTerminal: boolean): ChatOptions {
  const option = (name: string, fallback: string) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
  return {
    demo: args.includes("--demo") || !stdinIsTerminal,
    gatewayA: option("a", "http://localhost:3000"),
    gatewayB: option("b", "http://localhost:3001"),
  };
}
