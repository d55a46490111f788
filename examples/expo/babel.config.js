// Expo's Babel preset: what Metro uses on a device, and what jest-expo transforms tests with.
module.exports = function (api) {
  api.cache(true);
  return { presets: ["babel-preset-expo"] };
};
