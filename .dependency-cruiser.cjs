/**
 * Import rules per tier (SPEC §2, issue 9): privilege shows in what a tier's code can load at all.
 * `npm run deps` checks them (part of `npm test`); test/deps/rules.test.ts shows each can fail.
 * "Reachable" rules follow imports transitively, type-only ones included.
 */
const DB_WRITE = '^src/db/(write\\.ts|index\\.ts|writes/|migrate\\.ts|migrations/)';
const MAIL = '^src/mail/';
const STORAGE_PACKAGES = '^(better-sqlite3|mysql2|kysely|nodemailer)($|/)';

const forbidReachable = (name, comment, from, to) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: to, reachable: true },
});

module.exports = {
  forbidden: [
    forbidReachable(
      'keysigner-no-db',
      'SPEC §2: the keysigner, holder of the domain key, loads no database code at all',
      '^src/tiers/keysigner/',
      `^src/db/|${STORAGE_PACKAGES}`,
    ),
    forbidReachable(
      'keysigner-no-mail-sessions-passwords',
      'SPEC §2: the keysigner signs certificates and nothing else: no mail, session cookie or passwords',
      '^src/tiers/keysigner/',
      `${MAIL}|^src/wsapi/session\\.ts$|^src/passwords/|^(bcrypt|nodemailer)($|/)`,
    ),
    forbidReachable(
      'read-tiers-no-db-writes',
      'SPEC §2: only the dbwriter holds write credentials; the webhead, router and verifier load no write code',
      '^src/tiers/(webhead|router|verifier)/',
      DB_WRITE,
    ),
    forbidReachable(
      'read-tiers-no-mail',
      'SPEC §2: only the dbwriter sends mail',
      '^src/tiers/(webhead|router|verifier|keysigner)/',
      `${MAIL}|^nodemailer($|/)`,
    ),
    {
      name: 'tiers-through-entry-points',
      comment: 'SPEC §9: tiers reach storage through src/db/read.ts or write.ts, never queries or SQL of their own',
      severity: 'error',
      from: { path: '^src/tiers/' },
      to: { path: '^src/db/(?!(read|write)\\.ts$)|^kysely($|/)' },
    },
    {
      name: 'accounts-without-http',
      comment: 'The account rules are a library under the handlers: no HTTP, no wsapi, no tier',
      severity: 'error',
      from: { path: '^src/accounts/' },
      to: { path: '^src/(http|wsapi|tiers)/|^(fastify|undici)($|/)' },
    },
    {
      name: 'cli-loads-storage-lazily',
      comment:
        'One entry point runs every tier: storage, mail and bcrypt load only for the tiers that use them',
      severity: 'error',
      from: { path: '^src/cli/(main|serve)\\.ts$' },
      to: {
        path: `^src/(db|mail|passwords)/|${STORAGE_PACKAGES}|^bcrypt($|/)`,
        dependencyTypesNot: ['dynamic-import', 'type-only'],
      },
    },
    {
      name: 'no-bundler-at-run-time',
      comment: 'The webhead reads built bundles in production: esbuild loads only on demand, in development',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^esbuild($|/)', dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
    {
      name: 'browserid-stays-in-protocol',
      comment: 'SPEC §9: the protocol core depends on nothing else of ours',
      severity: 'error',
      from: { path: '^src/browserid/' },
      to: { path: '^src/(?!browserid/)' },
    },
    {
      name: 'browserid-pure',
      comment: 'SPEC §9: protocol code does no I/O; discovery.ts and egress.ts are its only fetchers',
      severity: 'error',
      from: { path: '^src/browserid/', pathNot: '^src/browserid/(discovery|egress)\\.ts$' },
      to: {
        dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
        pathNot: '^(node:)?crypto$',
      },
    },
    {
      name: 'browser-no-server-code',
      comment: 'Browser bundles import only browser code and the shared text (src/text)',
      severity: 'error',
      from: { path: '^src/browser/' },
      to: { pathNot: '^src/(browser|text)/' },
    },
    {
      name: 'server-no-browser-code',
      comment: 'Server code may share text with the browser (src/text), not browser modules',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/browser/' },
      to: { path: '^src/browser/' },
    },
    {
      name: 'text-stands-alone',
      comment: 'src/text is imported by both sides: it imports nothing but itself',
      severity: 'error',
      from: { path: '^src/text/' },
      to: { pathNot: '^src/text/' },
    },
    {
      name: 'nothing-loads-the-loadgen',
      comment: 'persona loadgen is a client of a deployment: only the CLI on demand and the drills (clients too) load it',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(loadgen/|drill/|cli/main\\.ts$)' },
      to: { path: '^src/loadgen/' },
    },
    forbidReachable(
      'bridge-no-db-mail-passwords',
      'SPEC §2: the bridge holds no database credentials and sends no mail (the dbwriter mails its codes)',
      '^src/tiers/bridge/',
      `^src/db/|${STORAGE_PACKAGES}|${MAIL}|^src/passwords/|^(bcrypt|nodemailer)($|/)`,
    ),
    {
      name: 'oidc-provider-only-in-the-example',
      comment: 'oidc-provider is a dev dependency: only the development provider (src/example/oidc-provider.ts) imports it',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/example/oidc-provider\\.ts$' },
      to: { path: '^oidc-provider($|/)' },
    },
    {
      name: 'development-provider-loaded-lazily',
      comment: 'Nothing loads the development provider but on demand, in development (docs/bridge.md)',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/example/oidc-provider\\.ts$', dependencyTypesNot: ['dynamic-import', 'type-only'] },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import that does not resolve would hide from every rule above',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^src/browser/tsconfig\\.json$' },
  },
};
