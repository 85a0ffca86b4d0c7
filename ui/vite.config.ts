// Vite build of Keel's web UI. `npm run build` writes ui/dist, which the keel-ui crate embeds.
// `vite preview` (used while developing pages) proxies the API to the keel at $KEEL_URL.
import { defineConfig } from 'vite';

const keel = process.env.KEEL_URL ?? 'http://127.0.0.1:5000';
const apiPaths = ['/ajax-api', '/api', '/get-artifact', '/model-versions', '/health'];
const proxy = Object.fromEntries(apiPaths.map((p) => [p, { target: keel }]));

// Built files are served under /static-files/, below the prefix the server may be mounted at
// (`keel server --static-prefix /mlflow`): the files scripts load are found at run time through
// `__keelAsset` (api/client.ts, which reads the prefix the server writes into index.html), and
// CSS refers to its files relatively.
export default defineConfig({
  base: '/static-files/',
  experimental: {
    renderBuiltUrl(filename, { hostType }) {
      if (hostType === 'js') return { runtime: `__keelAsset(${JSON.stringify(filename)})` };
      return { relative: true };
    },
  },
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
