/**
 * The page's files, built in memory when the server starts: the app (viewer/app/main.ts with
 * three.js, the scene builder and the protocols) is bundled by esbuild, once per process, and
 * served from memory with index.html and style.css. Nothing is written to disk, so a fresh clone
 * runs `simreal view` with no build step.
 */
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const APP_DIR = fileURLToPath(new URL('../app/', import.meta.url));

export interface Asset {
  type: string;
  body: Buffer;
}

let cached: Promise<Map<string, Asset>> | null = null;

async function buildAssets(): Promise<Map<string, Asset>> {
  const result = await build({
    entryPoints: [`${APP_DIR}main.ts`],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox121', 'safari17'],
    write: false,
    outdir: '/',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'silent',
    // The app runs in browsers: a Node built-in in its graph is a mistake to catch here.
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const assets = new Map<string, Asset>();
  for (const f of result.outputFiles) {
    const name = f.path.slice(f.path.lastIndexOf('/') + 1);
    const type = name.endsWith('.map') ? 'application/json' : name.endsWith('.css') ? 'text/css; charset=utf-8' : 'text/javascript; charset=utf-8';
    assets.set(`/${name}`, { type, body: Buffer.from(f.contents) });
  }
  assets.set('/', { type: 'text/html; charset=utf-8', body: fs.readFileSync(`${APP_DIR}index.html`) });
  assets.set('/style.css', { type: 'text/css; charset=utf-8', body: fs.readFileSync(`${APP_DIR}style.css`) });
  return assets;
}

/** The page's files by URL path (`/`, `/main.js`, `/main.js.map`, `/style.css`), built once per process. */
export function viewerAssets(): Promise<Map<string, Asset>> {
  if (!cached) {
    cached = buildAssets();
    cached.catch(() => { cached = null; });
  }
  return cached;
}
