/**
 * The browser side's routes (reference/persona.md §2.4, §9): GET /include.js (the relying party's script),
 * /provisioning_api.js and /authentication_api.js (the primary IdPs' shims), /sign_in (the dialog popup),
 * /communication_iframe (framed by every site, so frameable), the email landing pages and the account page.
 *
 * The bundles are built before the webhead starts (`npm run build:browser`, which `npm install` runs when
 * esbuild is installed) into dist-browser/; in production the webhead only reads them, and a missing one
 * stops it at start. In development it bundles src/browser in memory instead, again whenever a source
 * changes. The pages inline their script and style, so their CSP allows exactly those by hash and nothing
 * else.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { acceptedLanguages, directionOf, negotiateLocale, translator } from '../../text/i18n.ts';
import { dialogMessages } from '../../text/messages/dialog.ts';
import { pagesMessages } from '../../text/messages/pages.ts';
import type { TierFastify } from '../../http/app.ts';
import { dialogMarkup } from './markup/dialog.ts';
import { accountMarkup, landingMarkup } from './markup/pages.ts';
import { FAVICON_SVG, STYLE } from './markup/style.ts';
import type { Runtime } from './runtime.ts';

/** Keep in step with scripts/build-browser.mjs. */
export const BUNDLE_ENTRIES = [
  'include',
  'dialog',
  'communication_iframe',
  'landing',
  'account',
  'provisioning_api',
  'authentication_api',
] as const;
type Entry = (typeof BUNDLE_ENTRIES)[number];
export type Bundles = Readonly<Record<Entry, string>>;

/** The scripts other sites load from us; our origin is written into them (src/browser/include.ts). */
const ORIGIN_PLACEHOLDER = '__PERSONA_ORIGIN__';

/**
 * Sites load include.js on every page (and IdPs the two shims): an hour of caching, then a cheap
 * revalidation by ETag, so a fix reaches every site within the hour.
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

const BUILD_COMMAND = 'npm run build:browser';

/** The bundles' sources: the browser code and the text it shares with the webhead. */
const SOURCE_DIRS = [join('src', 'browser'), join('src', 'text')];

/** The newest modification time among the sources, to know when to bundle again. */
function sourcesChangedAt(root: string): number {
  let newest = 0;
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
    }
  };
  for (const dir of SOURCE_DIRS) walk(join(root, dir));
  return newest;
}

async function bundle(root: string): Promise<Bundles> {
  // Development only: production never loads a bundler (it reads dist-browser/).
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: BUNDLE_ENTRIES.map((name) => join(root, 'src', 'browser', `${name}.ts`)),
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

/** The built bundles in dist-browser/; throws, naming the command that builds them, when one is missing. */
export function prebuiltBundles(root = projectRoot()): Bundles {
  const dir = join(root, 'dist-browser');
  const missing = BUNDLE_ENTRIES.filter((name) => !existsSync(join(dir, `${name}.js`)));
  if (missing.length > 0)
    throw new Error(
      `the browser bundles are not built (${missing.map((name) => `${name}.js`).join(', ')} missing in ${dir}); run \`${BUILD_COMMAND}\``,
    );
  return Object.fromEntries(
    BUNDLE_ENTRIES.map((name) => [name, readFileSync(join(dir, `${name}.js`), 'utf8')]),
  ) as Bundles;
}

/**
 * How often development looks for changed sources. Walking them on every request was a quarter of the
 * webhead's CPU under load (a stat per source file); an edit shows on the next reload a second later.
 */
const SOURCES_CHECK_MS = 1000;

/** Development: bundles src/browser in memory, again whenever a source has changed since. */
function developmentBundles(root: string): () => Promise<Bundles> {
  let built: { at: number; bundles: Promise<Bundles> } | undefined;
  let checkedAt = 0;
  return () => {
    const now = Date.now();
    if (built !== undefined && now - checkedAt < SOURCES_CHECK_MS) return built.bundles;
    checkedAt = now;
    const at = sourcesChangedAt(root);
    if (built === undefined || at > built.at) {
      const bundles = bundle(root);
      built = { at, bundles };
      // A failed build is tried again on the next request rather than kept.
      bundles.catch(() => {
        if (built?.bundles === bundles) built = undefined;
      });
    }
    return built.bundles;
  };
}

/**
 * Where the webhead's bundles come from. `prebuilt` (production) reads dist-browser/ now, so a missing
 * bundle stops the start; `development` bundles the sources. Unset: development when esbuild and the
 * sources are here (a checkout), prebuilt otherwise (an install without dev dependencies).
 */
export function bundleSource(
  mode?: 'prebuilt' | 'development',
  root = projectRoot(),
): () => Promise<Bundles> {
  const development =
    mode === 'development' ||
    (mode === undefined && existsSync(join(root, 'src', 'browser', 'include.ts')) && bundlerInstalled());
  if (development) return developmentBundles(root);
  const bundles = Promise.resolve(prebuiltBundles(root));
  return () => bundles;
}

function bundlerInstalled(): boolean {
  try {
    import.meta.resolve('esbuild');
    return true;
  } catch {
    return false;
  }
}

/** The bundles once, as the webhead would get them (tests). */
export async function loadBundles(root = projectRoot()): Promise<Bundles> {
  return bundleSource(undefined, root)();
}

const sha256 = (text: string, encoding: 'base64' | 'hex'): string =>
  createHash('sha256').update(text).digest(encoding);

interface Asset {
  readonly body: string;
  readonly etag: string;
  readonly headers: Readonly<Record<string, string>>;
}

/** The locale's texts for the page's script (src/browser/i18n.ts); English is in the bundle already. */
function textFor(lang: string, catalogue: object | undefined): string {
  if (lang === 'en' || catalogue === undefined) return '';
  // JSON in HTML: no "</script" or "<!--" can close or open anything.
  const json = JSON.stringify(catalogue).replace(/</g, '\\u003c');
  return `<script type="application/json" id="persona-text">${json}</script>\n`;
}

function pageAsset(options: {
  lang: string;
  title: string;
  script: string;
  main: string;
  head?: string;
  bodyClass: string;
  text?: object;
  csp: readonly string[];
}): Asset {
  if (options.script.includes('</script')) throw new Error('static: a bundle contains </script');
  const body = `<!doctype html>
<html lang="${options.lang}" dir="${directionOf(options.lang)}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
${options.head ?? ''}<title>${options.title}</title>
<style>${STYLE}</style>
</head>
<body class="${options.bodyClass}">
${options.main}
${textFor(options.lang, options.text)}<script>${options.script}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src 'sha256-${sha256(options.script, 'base64')}'`,
    `style-src 'sha256-${sha256(STYLE, 'base64')}'`,
    "base-uri 'none'",
    "form-action 'none'",
    "connect-src 'self'",
    // Our favicon; the dialog adds https: for the site's logo.
    ...(options.csp.some((d) => d.startsWith('img-src')) ? [] : ["img-src 'self'"]),
    ...options.csp,
  ].join('; ');
  return {
    body,
    etag: `"${sha256(body, 'hex').slice(0, 32)}"`,
    headers: {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': PAGE_CACHE_CONTROL,
      'content-security-policy': csp,
      // The markup is in the language Accept-Language chose.
      vary: 'Accept-Language',
    },
  };
}

function scriptAsset(code: string, origin: string): Asset {
  const body = code.split(ORIGIN_PLACEHOLDER).join(origin);
  return {
    body,
    etag: `"${sha256(body, 'hex').slice(0, 32)}"`,
    headers: {
      'content-type': 'application/javascript; charset=utf-8',
      'cache-control': INCLUDE_CACHE_CONTROL,
      // Any site may load it, including sites that require CORP on their subresources.
      'cross-origin-resource-policy': 'cross-origin',
    },
  };
}

/** One HTML page: its bundle, its markup in a locale, and what its CSP adds. */
interface PageSpec {
  readonly bundle: Entry;
  readonly locales: readonly string[];
  render(locale: string): { title: string; main: string; text?: object };
  readonly bodyClass: string;
  readonly csp: readonly string[];
  /** DEVELOPMENT/TEST ONLY: carries the dialog's test hook meta tag when fake verification is on. */
  readonly testHook?: boolean;
}

const dialogT = (locale: string) => translator(dialogMessages, locale);
const pagesT = (locale: string) => translator(pagesMessages, locale);
const locales = (catalogues: object): string[] => Object.keys(catalogues);
const pageLocales = locales(pagesMessages);

const PAGES = {
  dialog: {
    bundle: 'dialog',
    locales: locales(dialogMessages),
    render: (locale) => ({
      title: dialogT(locale)('title'),
      main: dialogMarkup(dialogT(locale)),
      text: dialogMessages[locale],
    }),
    bodyClass: 'dialog',
    // A popup, never framed (X-Frame-Options DENY from the shared app too). It frames a primary IdP's
    // provisioning page, which may be on any origin.
    // It shows the site's logo (https only, as the wsapi takes siteLogo).
    csp: ["frame-ancestors 'none'", 'frame-src https: http:', "img-src 'self' https:"],
    testHook: true,
  },
  iframe: {
    bundle: 'communication_iframe',
    locales: ['en'],
    render: () => ({ title: 'Persona', main: '' }),
    bodyClass: 'iframe',
    // Framed by every relying party: any ancestor.
    csp: ['frame-ancestors *'],
  },
  landing: {
    bundle: 'landing',
    locales: locales(pagesMessages),
    render: (locale) => ({
      title: pagesT(locale)('landingTitle'),
      main: landingMarkup(pagesT(locale), locale, pageLocales),
      text: pagesMessages[locale],
    }),
    bodyClass: 'page',
    csp: ["frame-ancestors 'none'"],
  },
  account: {
    bundle: 'account',
    locales: locales(pagesMessages),
    render: (locale) => ({
      title: pagesT(locale)('accountTitle'),
      main: accountMarkup(pagesT(locale), locale, pageLocales),
      text: pagesMessages[locale],
    }),
    bodyClass: 'page',
    csp: ["frame-ancestors 'none'"],
  },
} as const satisfies Record<string, PageSpec>;
type PageName = keyof typeof PAGES;

/** Which page each route serves. The four landing routes share one page; it reads its own path. */
export const PAGE_ROUTES: Readonly<Record<string, PageName>> = {
  '/sign_in': 'dialog',
  '/communication_iframe': 'iframe',
  '/verify_email_address': 'landing',
  '/confirm': 'landing',
  '/reset_password': 'landing',
  '/complete_transition': 'landing',
  '/': 'account',
};
const SCRIPT_ROUTES: Readonly<Record<string, Entry>> = {
  '/include.js': 'include',
  '/provisioning_api.js': 'provisioning_api',
  '/authentication_api.js': 'authentication_api',
};

interface Assets {
  script(entry: Entry): Asset;
  /** `chosen`: the page's ?lang= (the language switch), before Accept-Language. */
  page(name: PageName, acceptLanguage: string | undefined, chosen?: string): Asset;
}

export function assetsFrom(bundles: Bundles, origin: string, testHook: boolean): Assets {
  const scripts = new Map<Entry, Asset>();
  const pages = new Map<string, Asset>();
  return {
    script(entry) {
      let asset = scripts.get(entry);
      if (asset === undefined) scripts.set(entry, (asset = scriptAsset(bundles[entry], origin)));
      return asset;
    },
    page(name, acceptLanguage, chosen) {
      const spec: PageSpec = PAGES[name];
      const wanted = acceptedLanguages(acceptLanguage);
      const lang = negotiateLocale(chosen === undefined ? wanted : [chosen, ...wanted], spec.locales);
      const key = `${name}/${lang}`;
      let asset = pages.get(key);
      if (asset === undefined) {
        asset = pageAsset({
          lang,
          ...spec.render(lang),
          script: bundles[spec.bundle],
          // DEVELOPMENT/TEST ONLY: turns on the dialog's test hook (src/browser/dialog.ts).
          head:
            spec.testHook === true && testHook
              ? '<meta name="persona-test-hook" content="development and tests only">\n'
              : '',
          csp: spec.csp,
          bodyClass: spec.bodyClass,
        });
        pages.set(key, asset);
      }
      return asset;
    },
  };
}

/**
 * Registers the scripts (/include.js and the IdP shims) and the pages (the dialog, the communication
 * iframe, the landing pages, the account page), made from `bundles` at first request.
 */
export function registerStatic(
  app: TierFastify,
  rt: Runtime,
  bundles: () => Promise<Bundles> = bundleSource(),
): void {
  let assets: { from: Bundles; assets: Assets } | undefined;
  const load = async (): Promise<Assets> => {
    const current = await bundles();
    // New bundles (development: a source changed) make new pages.
    if (assets?.from !== current)
      assets = { from: current, assets: assetsFrom(current, rt.origin, rt.deps.fakeVerification === true) };
    return assets.assets;
  };

  const send = (request: FastifyRequest, reply: FastifyReply, asset: Asset) => {
    reply.headers(asset.headers).header('etag', asset.etag);
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.send(asset.body);
  };

  // Our mark as the tab's icon: without it every page logs a favicon.ico 404 in the console.
  for (const url of ['/favicon.svg', '/favicon.ico'])
    app.get(url, async (_request, reply) =>
      reply.type('image/svg+xml').header('cache-control', 'public, max-age=86400').send(FAVICON_SVG),
    );

  for (const [url, entry] of Object.entries(SCRIPT_ROUTES))
    app.get(url, async (request, reply) => send(request, reply, (await load()).script(entry)));

  for (const [url, name] of Object.entries(PAGE_ROUTES)) {
    const handler = async (request: FastifyRequest, reply: FastifyReply) => {
      const { lang } = request.query as { lang?: unknown };
      const chosen =
        typeof lang === 'string' && /^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})?$/.test(lang) ? lang : undefined;
      return send(request, reply, (await load()).page(name, request.headers['accept-language'], chosen));
    };
    if (name !== 'iframe') {
      app.get(url, handler);
      continue;
    }
    app.get(url, {
      // Route hooks run after the shared app's, so this undoes its default X-Frame-Options DENY;
      // the page's CSP frame-ancestors says who may frame it.
      onSend: (_request, reply, payload, done) => {
        reply.removeHeader('x-frame-options');
        done(null, payload);
      },
      handler,
    });
  }
}
