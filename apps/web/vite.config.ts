// Vite builds the app from TypeScript sources. The workspace packages are taken from
// their sources too (as jest does), so the bundle gets ES modules to tree-shake
// rather than the CommonJS that `tsc -b` emits for Node.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

const workspacePackage = (name: string) =>
  fileURLToPath(new URL(`../../packages/${name}/src/index.ts`, import.meta.url));

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** Writes .br and .gz beside each text asset, for serve.mjs to send to clients that accept them. */
function precompress(): Plugin {
  let outDir = 'dist';
  return {
    name: 'parley-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = path.resolve(config.root, config.build.outDir);
    },
    async writeBundle(_options, bundle) {
      const names = Object.keys(bundle).filter((name) => /\.(js|css|html|svg|json)$/.test(name));
      await Promise.all(
        names.map(async (name) => {
          const file = path.join(outDir, name);
          const body = await readFile(file);
          await writeFile(`${file}.br`, await brotli(body));
          await writeFile(`${file}.gz`, await gzip(body, { level: 9 }));
        }),
      );
    },
  };
}

export default defineConfig({
  plugins: [precompress()],
  resolve: {
    alias: {
      '@parley/client': workspacePackage('client'),
      '@parley/contracts': workspacePackage('contracts'),
    },
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    target: 'es2022',
    // One small app in one chunk: a single round trip. (The client's lazy `import('ws')`,
    // for Node only, would otherwise split off a runtime and a stub chunk.)
    rolldownOptions: { output: { codeSplitting: false } },
    chunkSizeWarningLimit: 250,
  },
  server: { port: 5173 },
});
