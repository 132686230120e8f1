import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLogLine } from '../../src/supervisor/index.ts';

test('pino lines become `tier | level message key=value`; other lines keep their text', () => {
  const line = JSON.stringify({
    level: 40,
    time: 1,
    pid: 2,
    hostname: 'h',
    tier: 'webhead',
    msg: 'instance taken out',
    upstream: 'dbwriter',
    req: { id: 1 },
  });
  assert.equal(formatLogLine('webhead', line), 'webhead   | WARN  instance taken out  upstream=dbwriter');
  assert.equal(formatLogLine('router', 'plain text'), 'router    | plain text');
  assert.equal(formatLogLine('router', '{not json'), 'router    | {not json');
});
