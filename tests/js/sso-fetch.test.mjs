// Unit tests of rocketchat_sso/static/rocketchat_sso/sso-fetch.js, the fetch helper both
// scripts share: `node --test tests/js/` (run by tests/test_js.py and tox's lint env).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import vm from 'node:vm';

const SOURCE = readFileSync(
  new URL('../../rocketchat_sso/static/rocketchat_sso/sso-fetch.js', import.meta.url),
  'utf8'
);

// The helper's objects belong to the vm's realm: compare them as plain data.
const plain = (value) => JSON.parse(JSON.stringify(value));

// The helper as a page sees it, with `answers` (status, body, headers) as the server's replies.
function load(answers) {
  const requests = [];
  const window = {
    fetch: async (url, init) => {
      requests.push({ url, init });
      const answer = answers.shift();
      if (answer instanceof Error) {
        throw answer;
      }
      const { status = 200, body = {}, headers = {} } = answer;
      return {
        ok: status >= 200 && status < 300,
        status,
        headers: { get: (name) => headers[name] ?? null },
        json: async () => (typeof body === 'string' ? JSON.parse(body) : body)
      };
    }
  };
  window.window = window;
  vm.runInNewContext(SOURCE, window);
  return { sso: window.RocketChatSSOFetch, requests };
}

test('call posts for JSON, same-origin by default, and parses the answer', async () => {
  const { sso, requests } = load([{ status: 200, body: { loginToken: 't' } }]);
  const answer = await sso.call('/rocketchat/token/', { headers: { 'X-CSRFToken': 'c' } });
  assert.deepEqual(plain(answer), { ok: true, status: 200, body: { loginToken: 't' }, retryAfter: 0 });
  assert.equal(requests[0].init.method, 'POST');
  assert.equal(requests[0].init.credentials, 'same-origin');
  assert.deepEqual(plain(requests[0].init.headers), { Accept: 'application/json', 'X-CSRFToken': 'c' });
});

test('call never throws: a network failure and a body that is not JSON', async () => {
  const { sso } = load([new TypeError('offline'), { status: 502, body: '<html>' }]);
  assert.deepEqual(plain(await sso.call('/t/')), {
    ok: false,
    status: 0,
    body: { error: 'network' },
    retryAfter: 0
  });
  assert.deepEqual(plain(await sso.call('/t/')), { ok: false, status: 502, body: {}, retryAfter: 0 });
});

test('queued: a 429, or a 503 of a rate limit or a pending token, with Retry-After', async () => {
  const { sso } = load([]);
  assert.ok(sso.isQueued({ status: 429, body: {}, retryAfter: 3 }));
  assert.ok(sso.isQueued({ status: 503, body: { error: 'token_pending' }, retryAfter: 1 }));
  assert.ok(!sso.isQueued({ status: 503, body: { error: 'rocketchat_unavailable' }, retryAfter: 3 }));
  assert.ok(!sso.isQueued({ status: 429, body: {}, retryAfter: 0 }));
  assert.equal(
    sso.waitMs(0, () => 0),
    1000
  );
  assert.equal(
    sso.waitMs(600, () => 0.5),
    120500
  );
});

test('requestToken waits in line as told, then returns the token', async () => {
  const { sso, requests } = load([
    { status: 429, body: { error: 'rocketchat_rate_limited' }, headers: { 'Retry-After': '2' } },
    { status: 200, body: { loginToken: 'tok' } }
  ]);
  const waits = [];
  const { token } = await sso.requestToken(sso.withQuery('/t/?a=1', 'recheck=1'), {
    credentials: 'include',
    onQueued: async (answer, ms) => waits.push([answer.status, ms])
  });
  assert.equal(token, 'tok');
  assert.equal(waits.length, 1);
  assert.equal(waits[0][0], 429);
  assert.ok(waits[0][1] >= 2000 && waits[0][1] < 3000);
  assert.equal(requests[1].url, '/t/?a=1&recheck=1');
  assert.equal(requests[1].init.credentials, 'include');
});

test('requestToken gives up after MAX_QUEUED_TURNS turns, and at once on a refusal', async () => {
  const busy = { status: 429, body: {}, headers: { 'Retry-After': '1' } };
  const { sso } = load(Array.from({ length: 40 }, () => ({ ...busy })));
  let turns = 0;
  const { token, answer } = await sso.requestToken('/t/', { onQueued: async () => turns++ });
  assert.equal(token, null);
  assert.equal(answer.status, 429);
  assert.equal(turns, sso.MAX_QUEUED_TURNS);

  const refused = load([{ status: 409, body: { error: 'rocketchat_account_conflict', message: 'm' } }]).sso;
  const result = await refused.requestToken('/t/', { onQueued: assert.fail });
  assert.equal(result.token, null);
  assert.deepEqual(plain(refused.detailOf(result.answer)), {
    status: 409,
    error: 'rocketchat_account_conflict',
    message: 'm'
  });
});

test('withParam encodes like the login links always did', () => {
  const { sso } = load([]);
  assert.equal(sso.withParam('/login/', 'next', '/a b?c=1#d'), '/login/?next=%2Fa%20b%3Fc%3D1%23d');
  assert.equal(sso.withParam('/login/?x=1', 'next', '/'), '/login/?x=1&next=%2F');
});
