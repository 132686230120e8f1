/**
 * A relying party for the browser tests, on http://localhost:<port> (another site than the stack's
 * 127.0.0.1): its page loads include.js, calls watch() at once and request() on a click of #signin; its
 * server sends every assertion to the stack's /verify naming its own origin as the audience, as a real
 * site does. The page shows the verdict in #result (data-status, data-issuer) and a cancel in #canceled.
 * More options for request() may be given as JSON in the page's fragment.
 */
import { createServer } from 'node:http';
import { request } from 'undici';
import { freePort } from '../helpers/stack.ts';

export interface TestRp {
  readonly origin: string;
  /** What the site's server received, and what /verify answered, in order. */
  readonly assertions: string[];
  readonly verdicts: Record<string, unknown>[];
  close(): Promise<void>;
}

const page = (persona: string): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>Relying party</title>
<script src="${persona}/include.js"></script>
</head><body>
<button id="signin">Sign in</button>
<p id="result"></p>
<p id="canceled"></p>
<script>
  const result = document.getElementById('result');
  navigator.id.watch({
    loggedInUser: null,
    onlogin: async (assertion) => {
      const res = await fetch('/login', { method: 'POST', body: assertion });
      const verdict = await res.json();
      result.dataset.status = verdict.status;
      result.dataset.issuer = verdict.issuer || '';
      result.textContent = verdict.status === 'okay' ? verdict.email : verdict.reason;
    },
    onlogout: () => {},
  });
  // More request() options may come in the fragment, as JSON.
  const extra = location.hash ? JSON.parse(decodeURIComponent(location.hash.slice(1))) : {};
  document.getElementById('signin').addEventListener('click', () =>
    navigator.id.request(Object.assign({
      siteName: 'Example RP',
      oncancel: () => { document.getElementById('canceled').textContent = 'canceled'; },
    }, extra)));
</script>
</body></html>`;

export async function startTestRp(persona: string): Promise<TestRp> {
  const port = await freePort();
  const origin = `http://localhost:${port}`;
  const assertions: string[] = [];
  const verdicts: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/login') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const assertion = Buffer.concat(chunks).toString('utf8');
        assertions.push(assertion);
        request(`${persona}/verify`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ assertion, audience: origin }).toString(),
        })
          .then(async (answer) => {
            const verdict = (await answer.body.json()) as Record<string, unknown>;
            verdicts.push(verdict);
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(verdict));
          })
          .catch((err: unknown) => {
            res.writeHead(500).end(String(err));
          });
      });
      return;
    }
    res
      .writeHead(req.url === '/' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' })
      .end(page(persona));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    origin,
    assertions,
    verdicts,
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
