import { defineConfig, loadEnv } from 'vite';

// The API routes the dashboard calls; `npm run ui:dev` proxies them to a running service
// (UI_API_TARGET, default http://127.0.0.1:7080), so the dev server is same-origin like /ui.
const API_PATHS = '^/(handlers?|tasks?|attempts|audit|dashboard|health)(/|$|\\?)';

// Paths are relative to the repository root: npm scripts run there
// (`vite build --config ui/vite.config.ts`).
export default defineConfig(({ mode }) => {
  const env = loadEnv(mode, 'ui', 'UI_');
  return {
    root: 'ui',
    base: '/ui/',
    publicDir: false,
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      outDir: '../dist/ui',
      emptyOutDir: true,
      target: 'es2022',
      // Everything is same-origin files under /ui; no inline scripts or styles (CSP).
      assetsInlineLimit: 0,
      sourcemap: false,
    },
    server: {
      port: 5173,
      proxy: { [API_PATHS]: { target: env.UI_API_TARGET ?? 'http://127.0.0.1:7080' } },
    },
  };
});
