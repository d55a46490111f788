import { registerRootComponent } from "expo";
import { App } from "./src/App";

// Expo's entry: registers the root component with React Native (AppRegistry).
registerRootComponent(App);
