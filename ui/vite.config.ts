// Vite build of Keel's web UI. `npm run build` writes ui/dist, which the keel-ui crate embeds.
// `vite preview` (used while developing pages) proxies the API to the keel at $KEEL_URL.
import { defineConfig } from 'vite';

const keel = process.env.KEEL_URL ?? 'http://127.0.0.1:5000';
const apiPaths = ['/ajax-api', '/api', '/get-artifact', '/model-versions', '/health'];
const proxy = Object.fromEntries(apiPaths.map((p) => [p, { target: keel }]));

export default defineConfig({
  base: '/static-files/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 200,
  },
  server: { proxy },
  preview: { proxy },
});
