/**
 * The browser side's routes (reference/persona.md §2.4, §9): GET /include.js (the relying party's script),
 * /sign_in (the dialog popup) and /communication_iframe (framed by every site, so frameable).
 *
 * The bundles come from src/browser, built in memory with esbuild at first use when esbuild and the
 * sources are here (a checkout: always current), else from dist-browser/ (`npm run build:browser`, for
 * installs without dev dependencies). The pages inline their script and style, so their CSP allows exactly
 * those by hash and nothing else.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { TierFastify } from '../../http/app.ts';
import type { Runtime } from './runtime.ts';

/** Keep in step with scripts/build-browser.mjs. */
export const BUNDLE_ENTRIES = ['include', 'dialog', 'communication_iframe'] as const;
type Entry = (typeof BUNDLE_ENTRIES)[number];
export type Bundles = Readonly<Record<Entry, string>>;

/** include.js's placeholder for our origin (src/browser/include.ts). */
const ORIGIN_PLACEHOLDER = '__PERSONA_ORIGIN__';

/**
 * Sites load include.js on every page: an hour of caching, then a cheap revalidation by ETag, so a fix
 * reaches every site within the hour.
 */
export const INCLUDE_CACHE_CONTROL = 'public, max-age=3600';
/** The pages: always revalidated (the original's views), answered 304 when unchanged. */
export const PAGE_CACHE_CONTROL = 'public, max-age=0, must-revalidate';

function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('static: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

async function buildInMemory(root: string): Promise<Bundles | undefined> {
  const sources = join(root, 'src', 'browser');
  if (!existsSync(join(sources, 'include.ts'))) return undefined;
  let esbuild: typeof import('esbuild');
  try {
    esbuild = await import('esbuild');
  } catch {
    return undefined; // no dev dependencies: use the prebuilt files
  }
  const result = await esbuild.build({
    entryPoints: BUNDLE_ENTRIES.map((name) => join(sources, `${name}.ts`)),
    outdir: join(root, 'dist-browser'),
    bundle: true,
    minify: true,
    format: 'iife',
    target: ['es2020'],
    charset: 'utf8',
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
  });
  const out = new Map(result.outputFiles.map((file) => [file.path, file.text]));
  return Object.fromEntries(
    BUNDLE_ENTRIES.map((name) => [name, out.get(join(root, 'dist-browser', `${name}.js`)) ?? '']),
  ) as Bundles;
}

function readPrebuilt(root: string): Bundles {
  const dir = join(root, 'dist-browser');
  return Object.fromEntries(
    BUNDLE_ENTRIES.map((name) => {
      const path = join(dir, `${name}.js`);
      if (!existsSync(path))
        throw new Error(`static: ${path} is missing; run \`npm run build:browser\` (or install esbuild)`);
      return [name, readFileSync(path, 'utf8')];
    }),
  ) as Bundles;
}

export async function loadBundles(root = projectRoot()): Promise<Bundles> {
  return (await buildInMemory(root)) ?? readPrebuilt(root);
}

const sha256 = (text: string, encoding: 'base64' | 'hex'): string =>
  createHash('sha256').update(text).digest(encoding);

const STYLE =
  `body{font:16px/1.4 system-ui,sans-serif;margin:2rem;color:#222}button,input{font:inherit;padding:.4rem 1rem}` +
  `label{display:block;margin:.8rem 0 .2rem}input{width:min(100%,22rem);box-sizing:border-box}` +
  `#error{color:#b00020}#error:empty{display:none}form{margin-bottom:1rem}form button{margin-top:.8rem}`;

interface Page {
  readonly body: string;
  readonly etag: string;
  readonly headers: Readonly<Record<string, string>>;
}

function page(options: { title: string; script: string; main: string; head?: string; csp: string[] }): Page {
  if (options.script.includes('</script')) throw new Error('static: a bundle contains </script');
  const body = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.head ?? ''}<title>${options.title}</title>
<style>${STYLE}</style>
</head>
<body>
${options.main}
<script>${options.script}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256(options.script, 'base64')}'`,
    `style-src 'sha256-${sha256(STYLE, 'base64')}'`,
    "base-uri 'none'",
    "form-action 'none'",
    ...options.csp,
  ].join('; ');
  return {
    body,
    etag: `"${sha256(body, 'hex').slice(0, 32)}"`,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': PAGE_CACHE_CONTROL,
      'content-security-policy': csp,
    },
  };
}

interface Assets {
  readonly include: Page;
  readonly dialog: Page;
  readonly iframe: Page;
}

export function assetsFrom(bundles: Bundles, origin: string, testHook: boolean): Assets {
  const include = bundles.include.split(ORIGIN_PLACEHOLDER).join(origin);
  return {
    include: {
      body: include,
      etag: `"${sha256(include, 'hex').slice(0, 32)}"`,
      headers: {
        'content-type': 'application/javascript; charset=utf-8',
        'cache-control': INCLUDE_CACHE_CONTROL,
        // Any site may load it, including sites that require CORP on their subresources.
        'cross-origin-resource-policy': 'cross-origin',
      },
    },
    dialog: page({
      title: 'Sign in — Persona',
      script: bundles.dialog,
      // DEVELOPMENT/TEST ONLY: turns on the dialog's test hook (src/browser/dialog.ts).
      head: testHook ? '<meta name="persona-test-hook" content="development and tests only">\n' : '',
      main: `<main>
<h1>Persona</h1>
<p id="status" role="status" aria-live="polite">Waiting for the site…</p>
<p id="error" role="alert"></p>
<form id="signin" hidden novalidate>
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="username" autofocus required>
<div id="password-row" hidden>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
</div>
<button id="next" type="submit">Next</button>
</form>
<button id="cancel" type="button">Cancel</button>
</main>`,
      // A popup, never framed (X-Frame-Options DENY from the shared app too). connect-src for the wsapi.
      csp: ["connect-src 'self'", "frame-ancestors 'none'"],
    }),
    iframe: page({
      title: 'Persona',
      script: bundles.communication_iframe,
      main: '',
      // Framed by every relying party: any ancestor.
      csp: ["connect-src 'self'", 'frame-ancestors *'],
    }),
  };
}

/** Registers GET /include.js, /sign_in and /communication_iframe. Bundles load once, at first request. */
export function registerStatic(app: TierFastify, rt: Runtime, bundles?: () => Promise<Bundles>): void {
  let assets: Promise<Assets> | undefined;
  const load = (): Promise<Assets> => {
    assets ??= (bundles ?? (() => loadBundles()))().then((b) =>
      assetsFrom(b, rt.origin, rt.deps.fakeVerification === true),
    );
    // A failed build is retried on the next request rather than cached.
    assets.catch(() => {
      assets = undefined;
    });
    return assets;
  };

  const serve = (pick: (a: Assets) => Page) => async (request: FastifyRequest, reply: FastifyReply) => {
    const asset = pick(await load());
    reply.headers(asset.headers).header('etag', asset.etag);
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };

  app.get(
    '/include.js',
    serve((a) => a.include),
  );
  app.get(
    '/sign_in',
    serve((a) => a.dialog),
  );
  app.get('/communication_iframe', {
    // Route hooks run after the shared app's, so this undoes its default X-Frame-Options DENY;
    // the page's CSP frame-ancestors says who may frame it.
    onSend: (_request, reply, payload, done) => {
      reply.removeHeader('x-frame-options');
      done(null, payload);
    },
    handler: serve((a) => a.iframe),
  });
}
