/**
 * One racer in another process (a second dbwriter): waits until the agreed moment, then runs one
 * operation repeatedly on the given database for a short window, and prints what each call returned.
 * Usage: race.ts <url> <stage|create-primary> <address> <startAtEpochMs> <windowMs>
 */
import { databaseSettings, openWriter } from '../../../src/db/write.ts';
import { HASH } from '../harness.ts';

const [url = '', op = '', email = '', startAt = '0', windowMs = '300'] = process.argv.slice(2);
const writer = openWriter(databaseSettings({ url }));
await writer.ping();
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(startAt) - Date.now())));
const results: unknown[] = [];
const until = Date.now() + Number(windowMs);
// Several calls in flight at once from this process too.
await Promise.all(
  Array.from({ length: 4 }, async () => {
    while (Date.now() < until) {
      try {
        results.push(
          op === 'stage'
            ? await writer.stageUser(email, HASH)
            : await writer.createUserWithPrimaryEmail(email),
        );
      } catch (err) {
        results.push({ error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
      }
    }
  }),
);
await writer.close();
process.stdout.write(JSON.stringify(results));
