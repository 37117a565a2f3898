// Vite builds the app from TypeScript sources. The workspace packages are taken from
// their sources too (as jest does), so the bundle gets ES modules to tree-shake
// rather than the CommonJS that `tsc -b` emits for Node.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const workspacePackage = (name: string) =>
  fileURLToPath(new URL(`../../packages/${name}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@parley/client': workspacePackage('client'),
      '@parley/contracts': workspacePackage('contracts'),
    },
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2022',
    // One small app: a single chunk loads in one round trip.
    chunkSizeWarningLimit: 200,
    reportCompressedSize: true,
  },
  server: { port: 5173 },
});
