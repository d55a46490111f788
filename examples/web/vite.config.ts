import { defineConfig, type Plugin } from "vite";
import { devRoutes } from "./server/dev-routes.js";
import { loadWebConfig } from "./server/web-config.js";

/** `npm run dev -w @parley/web`: the same /config.json and /dev/token as the built app's server. */
function parleyDevRoutes(): Plugin {
  return {
    name: "parley-dev-routes",
    apply: "serve",
    configureServer(server) {
      // Refuses NODE_ENV=production like serve.ts; gateways: the local cluster of `npm start`.
      const config = loadWebConfig([], process.env);
      server.middlewares.use(devRoutes({ token: config.token, gateways: config.gateways, onError: (error) => server.config.logger.error(String(error)) }));
    },
  };
}

export default defineConfig({
  plugins: [parleyDevRoutes()],
  // One React for the page and @parley/react (a second copy breaks every hook).
  resolve: { dedupe: ["react", "react-dom"] },
  build: { outDir: "dist/public", emptyOutDir: true, sourcemap: true },
  server: { port: 5173 },
});
