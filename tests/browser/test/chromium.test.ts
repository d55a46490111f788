import { expect, it } from "vitest";
import { findChromium } from "./chromium.js";

it("without a Chromium the tests fail saying what to install, rather than being skipped", () => {
  expect(() => findChromium(["/nonexistent/chromium"])).toThrow(/Chromium is not installed.*apt-get install chromium.*npm test/s);
});
