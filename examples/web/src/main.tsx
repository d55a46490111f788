import { createRoot } from "react-dom/client";
import { App } from "./views/app.js";
import "./style.css";

createRoot(document.querySelector<HTMLElement>("#app")!).render(<App />);
