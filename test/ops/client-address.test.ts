/** The router believes X-Forwarded-For only from the edge's addresses (src/tiers/router/client-address.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clientAddress, trustedEdges } from '../../src/tiers/router/client-address.ts';

const edges = trustedEdges(['127.0.0.1', '10.0.0.0/16', '::1']);

test('from the edge: the first address right of the edge hops is the client', () => {
  assert.equal(clientAddress('127.0.0.1', '203.0.113.9', edges), '203.0.113.9');
  // The client's own header sits to the left of what the edge added: never believed.
  assert.equal(clientAddress('127.0.0.1', '198.51.100.23, 203.0.113.9', edges), '203.0.113.9');
  assert.equal(clientAddress('127.0.0.1', '203.0.113.9, 10.0.4.2', edges), '203.0.113.9');
  assert.equal(clientAddress('::1', ['2001:db8::1'], edges), '2001:db8::1');
  assert.equal(clientAddress('127.0.0.1', undefined, edges), '127.0.0.1');
  assert.equal(clientAddress('127.0.0.1', 'not-an-ip', edges), '127.0.0.1');
});

test('not from the edge, or no edge configured: the connecting address, whatever the header says', () => {
  assert.equal(clientAddress('203.0.113.50', '198.51.100.23', edges), '203.0.113.50');
  assert.equal(clientAddress('127.0.0.1', '198.51.100.23', undefined), '127.0.0.1');
  assert.equal(trustedEdges([]), undefined);
  assert.throws(() => trustedEdges(['edge.example']), /not an IP address/);
});
