// The native modules' own jest mocks, as their documentation prescribes.
jest.mock("@react-native-async-storage/async-storage", () => require("@react-native-async-storage/async-storage/jest"));
jest.mock("@react-native-community/netinfo", () => require("@react-native-community/netinfo/jest/netinfo-mock.js"));
