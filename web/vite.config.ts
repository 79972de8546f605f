// Vite builds the app into ../build/web (never committed; `make` runs this). The typed API
// client is the clients/ts package, compiled in from source; openapi-fetch is deduped so
// it resolves from this folder's node_modules. VITE_API_URL, when set at build time, is the
// default API origin (public/config.js still wins at run time).
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

export default defineConfig({
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  resolve: {
    alias: { '@vidzo/client': fileURLToPath(new URL('../clients/ts/src/index.ts', import.meta.url)) },
    dedupe: ['openapi-fetch'],
  },
  build: {
    outDir: fileURLToPath(new URL('../build/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2020',
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    // `npm run dev`: the API of a local `make run` behind Vite's dev server
    proxy: { '/v1': 'http://localhost:8080', '/socket.io': { target: 'http://localhost:8080', ws: true } },
  },
});
