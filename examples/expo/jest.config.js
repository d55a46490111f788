// jest-expo's preset (React Native's jest environment, native modules mocked) for this
// workspace only: the rest of the repository runs vitest, which has no React Native preset.
/** @type {import('jest').Config} */
module.exports = {
  preset: "jest-expo",
  roots: ["<rootDir>/src"],
  setupFiles: ["<rootDir>/jest.setup.js"],
  // A cold run transforms React Native and Expo first (30 s to over a minute on a busy 2-core
  // machine), much of it inside the first test that renders; a test's own work is a few seconds.
  // The bound is generous, not a speed target.
  testTimeout: 120_000,
  // The workspace packages are ES modules built to dist: transform them as the app's own code.
  transformIgnorePatterns: [
    "node_modules/(?!((jest-)?react-native|@react-native(-community)?|@react-native-async-storage|expo(nent)?|@expo(nent)?/.*|@parley/.*|socket\\.io-client|engine\\.io-client|engine\\.io-parser|socket\\.io-parser|@socket\\.io|xmlhttprequest-ssl|zod))",
  ],
};
