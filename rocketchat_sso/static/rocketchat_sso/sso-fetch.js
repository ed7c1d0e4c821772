/*
 * django-rocketchat-sso: the one helper both scripts use for the site's endpoints (the token
 * and logout endpoints), and the rules of waiting in line. No build step: a classic script,
 * loaded (with the page's CSP nonce) right before login.js or rocketchat-sso.js, which read it
 * from window.RocketChatSSOFetch once and keep it. It holds no configuration and trusts no
 * page input: URLs and headers come from the calling script's server-rendered configuration.
 * Internal: not an API of its own; it may change with either script.
 */
((root) => {
  'use strict';

  // Waiting in line: Retry-After (s) kept within bounds, plus up to a second of jitter so that
  // waiting pages do not all come back at once; after so many turns, offer a retry instead.
  const MIN_WAIT = 1;
  const MAX_WAIT = 120;
  const MAX_QUEUED_TURNS = 30;
  // 503s that mean "wait in line" (with Retry-After); a 429 always does.
  const QUEUED = new Set(['rocketchat_rate_limited', 'token_pending', 'database_unavailable']);

  // `url` with `query` (encoded already: 'recheck=1') added to its query string.
  const withQuery = (url, query) => `${url}${url.includes('?') ? '&' : '?'}${query}`;

  // `url` with `name=value` added to its query, both encoded (a login URL and its ?next=).
  const withParam = (url, name, value) =>
    withQuery(url, `${encodeURIComponent(name)}=${encodeURIComponent(value)}`);

  // A POST to one of the site's endpoints, answered in JSON: never throws. A network failure
  // is {status: 0, body: {error: 'network'}}; a body that is not JSON is {}.
  async function call(url, { headers = {}, credentials = 'same-origin' } = {}) {
    try {
      const response = await root.fetch(url, {
        method: 'POST',
        credentials,
        headers: { Accept: 'application/json', ...headers }
      });
      const body = await response.json().catch(() => ({}));
      const retryAfter = Number.parseInt(response.headers.get('Retry-After'), 10) || 0;
      return { ok: response.ok, status: response.status, body: body ?? {}, retryAfter };
    } catch {
      return { ok: false, status: 0, body: { error: 'network' }, retryAfter: 0 };
    }
  }

  // Whether an answer says "wait in line and try again" (with how long: Retry-After).
  const isQueued = ({ status, body, retryAfter }) =>
    retryAfter > 0 && (status === 429 || (status === 503 && QUEUED.has(body.error)));

  // How long to wait (ms) for a Retry-After of `seconds`: within bounds, with jitter.
  const waitMs = (seconds, random = Math.random) =>
    Math.min(MAX_WAIT, Math.max(MIN_WAIT, seconds)) * 1000 + random() * 1000;

  // {status, error, message} of an answer: what the scripts report of a refusal.
  const detailOf = ({ status, body }) => ({
    status,
    error: body.error || '',
    message: body.message || ''
  });

  // A token from the token endpoint at `url`, waiting in line as long as the server says (up to
  // MAX_QUEUED_TURNS turns; `headers` added to each call): resolves to {token, answer}, token null when refused (`answer`
  // says why). `onQueued(answer, ms)` is awaited for each turn in line: it waits `ms` (and
  // shows the user why).
  async function requestToken(url, { onQueued, credentials, headers } = {}) {
    for (let turn = 0; ; turn += 1) {
      const answer = await call(url, { credentials, headers });
      if (answer.ok && typeof answer.body.loginToken === 'string') {
        return { token: answer.body.loginToken, answer };
      }
      if (!isQueued(answer) || turn >= MAX_QUEUED_TURNS) {
        return { token: null, answer };
      }
      await onQueued(answer, waitMs(answer.retryAfter));
    }
  }

  // Assigned, never "defined if missing": an element named RocketChatSSOFetch in the page (DOM
  // clobbering) is shadowed, not taken for the helper. Included twice, it is the same again.
  root.RocketChatSSOFetch = Object.freeze({
    call,
    requestToken,
    isQueued,
    waitMs,
    withQuery,
    withParam,
    detailOf,
    MAX_QUEUED_TURNS
  });
})(typeof window === 'undefined' ? globalThis : window);
