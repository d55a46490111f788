// Metro in this monorepo (Expo's default config, which watches the workspace root): one
// React for the app and the workspace packages, whose own node_modules hold a React of their
// own for their tests. Two Reacts in one bundle break hooks ("Invalid hook call").
const path = require("node:path");
const { getDefaultConfig } = require("expo/metro-config");

const config = getDefaultConfig(__dirname);
const resolveRequest = config.resolver.resolveRequest;
config.resolver.resolveRequest = (context, moduleName, platform) => {
  if (moduleName === "react" || moduleName.startsWith("react/")) {
    return context.resolveRequest({ ...context, originModulePath: path.join(__dirname, "index.ts") }, moduleName, platform);
  }
  return (resolveRequest ?? context.resolveRequest)(context, moduleName, platform);
};
module.exports = config;
