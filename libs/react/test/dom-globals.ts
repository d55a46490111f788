import { Window } from "happy-dom";

// react-dom renders into a happy-dom document. Only `window`, `document` and `navigator`
// (react-dom reads its user agent; the SDK its `onLine`, true here) become globals:
// the SDK keeps running on Node's own fetch and WebSocket (as the vitest "node" environment
// has them), so what it says to the cluster is what a Node client says, not a simulation.
const window = new Window({ url: "http://localhost/" });
Object.assign(globalThis, { window, document: window.document });
Object.defineProperty(globalThis, "navigator", { value: window.navigator, configurable: true, writable: true });
// Updates come from the server, not from a test's act(): React schedules them as in an app.
Object.assign(globalThis, { IS_REACT_ACT_ENVIRONMENT: false });
