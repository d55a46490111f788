// Printing for a terminal: colour only when stdout is one (and NO_COLOR is unset), so the
// demo's output reads the same in a log file or a test's captured output.
const useColour = process.stdout.isTTY === true && !process.env.NO_COLOR;
const colour = (code: string) => (text: string) => (useColour ? `\x1b[${code}m${text}\x1b[0m` : text);

export const bold = colour("1");
export const dim = colour("2");
export const green = colour("32");
export const red = colour("31");
export const yellow = colour("33");
export const cyan = colour("36");

export const print = (text: string): void => void process.stdout.write(`${text}\n`);
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Local wall-clock time of an ISO timestamp, `?` when there is none. */
export const clock = (iso: string | undefined): string => (iso ? new Date(iso).toTimeString().slice(0, 8) : "?");
