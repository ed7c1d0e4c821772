/*
 * django-rocketchat-sso: sign an embedded Rocket.Chat in as the page's user, and talk to it.
 * No build step, no framework. Rendered by {% rocketchat_iframe %}; see docs/embedding.rst.
 *
 * Everything it trusts comes from ONE server-rendered configuration: the JSON in the
 * data-rocketchat-sso-config attribute of this very <script> tag (document.currentScript:
 * injected HTML can add elements, not run this script with another configuration). Rocket.Chat's
 * origin, the endpoints and the user's state are read there, never from the iframes.
 *
 * For each <iframe data-rocketchat-sso> whose src is at Rocket.Chat's origin (others are
 * ignored):
 * - a signed-in user: fetch a token from the token endpoint (same origin) once, and post
 *   {externalCommand: 'login-with-token', token} to the iframe, at Rocket.Chat's exact origin,
 *   right away (the iframe may have loaded before this script ran), on the iframe's load event
 *   and on each 'startup' event Rocket.Chat sends. Beyond Rocket.Chat's rate limit (429, or 503
 *   with Retry-After) it waits as long as the server says and tries again by itself.
 * - an anonymous user (data-rocketchat-sync-logout="true"): post {externalCommand: 'logout'} at
 *   the same moments, so logging out of the site signs the chat out on the next page;
 * - messages are accepted only from that iframe's window at Rocket.Chat's origin;
 * - a small notice over the frame says what is happening when the sign-in does not happen
 *   (chat unavailable, sign-in queued, please log in, chat refused the sign-in, slow to load),
 *   with a retry; it clears itself once Rocket.Chat reports the user signed in. Theme it with
 *   the CSS custom properties --rocketchat-sso-notice-background, -color, -accent, -font.
 *
 * - the user logs out inside the chat (Rocket.Chat's 'Custom_Script_Logged_Out', not after this
 *   page's logout()): the token is checked again; the site, finding it dead, answers
 *   'rocketchat_signed_out' (rocketchat_sso/sessions/signout.py, RocketChat/Rocket.Chat#28006), and the
 *   notice offers "Sign in to the chat" (?signin=1) instead of signing the user back in. The same
 *   answer on a later page shows the same notice.
 *
 * API: window.RocketChatSSO.get(iframeOrId) -> chat; chat.command(name, payload),
 * chat.go(path), chat.setStatus(status), chat.on(eventName, handler) -> off();
 * chat.signedIn({timeout}) -> Promise: resolves when Rocket.Chat reports the user
 * signed in ('Custom_Script_Logged_In', sent when Iframe_Integration_send_enable is on), rejects
 * with an Error whose .reason says why not (see REASONS); it waits while the sign-in is queued.
 * chat.logout() -> Promise: posts Rocket.Chat's 'logout' command and revokes the session's token
 * through the site's logout endpoint. RocketChatSSO.on/command/go/setStatus/logout/signedIn do
 * the same for every chat on the page. Every event is also dispatched on the iframe as a DOM
 * event 'rocketchat:<eventName>' (bubbling, detail = data). signedIn(callback) and
 * signedIn(options, callback), the older form, are a thin wrapper of the Promise (README).
 * The calls to the site's endpoints and the rules of waiting in line are sso-fetch.js's (the
 * tag loads it right before this script).
 */
(() => {
  'use strict';

  if (window.RocketChatSSO && typeof window.RocketChatSSO.scan === 'function') {
    window.RocketChatSSO.scan(); // the script was included twice: only look for new iframes
    return;
  }
  const script = document.currentScript;
  let config = null;
  try {
    config = JSON.parse(script.dataset.rocketchatSsoConfig);
  } catch {
    config = null;
  }
  const sso = window.RocketChatSSOFetch;
  if (typeof sso?.requestToken !== 'function') {
    console.error(
      'rocketchat-sso.js: load rocketchat_sso/sso-fetch.js before it. Include it with ' +
        '{% rocketchat_iframe %} or {% rocketchat_sso_script %}.'
    );
    return;
  }
  if (!config || typeof config.origin !== 'string') {
    console.error(
      'rocketchat-sso.js: no configuration on its <script> tag. Include it with ' +
        '{% rocketchat_iframe %} or {% rocketchat_sso_script %}.'
    );
    return;
  }
  const texts = config.texts || {};

  const SELECTOR = 'iframe[data-rocketchat-sso]';
  const ANY = '*';
  const ERROR_EVENT = 'sso-error';
  const QUEUED_EVENT = 'sso-queued';
  // client/views/root/MainLayout/useCustomScript.ts: fired whenever the user id is set or unset.
  const SIGNED_IN_EVENT = 'Custom_Script_Logged_In';
  const SIGNED_OUT_EVENTS = ['Custom_Script_Logged_Out', 'Custom_Script_On_Logout'];
  const DEFAULT_TIMEOUT_MS = config.timeout || 10000;
  // Delays between re-posts of the token to a Rocket.Chat not heard from yet (about 4 s in all).
  const REPOST_DELAYS = [250, 1000, 2500];
  const CSRF_HEADER = 'X-CSRFToken';
  const SIGNED_OUT = 'rocketchat_signed_out'; // the user logged out inside Rocket.Chat
  const ACCOUNT = new Set(['user_inactive', 'rocketchat_user_inactive', 'rocketchat_account_conflict']);
  // Why signedIn() rejected: error.reason, and a message naming what to check.
  const REASONS = {
    not_authenticated: () => "The page's user is not logged in to the site.",
    token_refused: (chat) => {
      const failure = chat.failure ?? {};
      return (
        `The site's token endpoint refused a token (${failure.status || 'network'} ` +
        `${failure.error || ''}): ${failure.message || "see the site's log"}.`
      );
    },
    send_disabled: () =>
      'Rocket.Chat sent this page no events: turn on ' +
      'Iframe_Integration_send_enable and set Iframe_Integration_send_target_origin to ' +
      `${window.location.origin} (or *). (Or Rocket.Chat had started before this script ran: ` +
      'include it in the page, not later.)',
    not_confirmed: () =>
      'Rocket.Chat started but did not report a sign-in: check that ' +
      'Iframe_Integration_receive_enable is on, that Iframe_Integration_receive_origin lists ' +
      `${window.location.origin}, and that Rocket.Chat accepts the token (its log).`
  };
  const NOTICE_STYLE = {
    position: 'absolute',
    boxSizing: 'border-box',
    flexDirection: 'column',
    alignItems: 'center',
    justifyContent: 'center',
    gap: '.75rem',
    padding: '1.5rem',
    textAlign: 'center',
    zIndex: '1',
    // Opaque: the frame under it may show a notice of its own (Rocket.Chat shows the loading
    // page when its iframe login fails), and only one notice may be seen at a time.
    background: 'var(--rocketchat-sso-notice-background, #f7f8fa)',
    color: 'var(--rocketchat-sso-notice-color, #2f343d)',
    font: 'var(--rocketchat-sso-notice-font, 15px/1.5 system-ui, sans-serif)'
  };
  const ACTION_STYLE = {
    padding: '.5rem 1rem',
    border: '0',
    borderRadius: '4px',
    background: 'var(--rocketchat-sso-notice-accent, #095ad2)', // 6.2:1 with #fff (WCAG AA)
    color: '#fff',
    font: 'inherit',
    textDecoration: 'none',
    cursor: 'pointer'
  };

  const sleep = (ms) => new Promise((resolve) => window.setTimeout(resolve, ms));
  const originOf = (url) => {
    try {
      return new URL(url, window.location.href).origin;
    } catch {
      return null;
    }
  };

  // signedIn()'s older form: signedIn(callback) or signedIn(options, callback) calls
  // callback(error, result) as well. The API is the Promise; this is its only adapter.
  function signedInForm(options, callback, promised) {
    const [opts, done] = typeof options === 'function' ? [{}, options] : [options ?? {}, callback];
    const promise = promised(opts);
    if (typeof done === 'function') {
      promise.then(
        (result) => done(null, result),
        (error) => done(error)
      );
    }
    return promise;
  }

  const globalHandlers = {};

  function addHandler(table, eventName, handler) {
    table[eventName] ??= [];
    table[eventName].push(handler);
    return function off() {
      const list = table[eventName] ?? [];
      const index = list.indexOf(handler);
      if (index > -1) {
        list.splice(index, 1);
      }
    };
  }

  function callAll(list, context, args) {
    for (const handler of list?.slice() ?? []) {
      try {
        handler.apply(context, args);
      } catch (error) {
        window.setTimeout(() => {
          throw error;
        }, 0); // report, keep the others running
      }
    }
  }

  function signInError(reason, chat) {
    const error = new Error(REASONS[reason](chat));
    error.reason = reason;
    error.chat = chat;
    if (reason === 'token_refused') {
      error.detail = chat.failure;
    }
    return error;
  }

  class Chat {
    constructor(iframe) {
      this.iframe = iframe;
      this.origin = config.origin;
      this.authenticated = config.user === 'authenticated';
      this.syncLogout = iframe.dataset.rocketchatSyncLogout !== 'false';
      this.handlers = {};
      this.token = null; // a Promise of the page's token (or null): fetched once per page
      this.heard = false; // any event from Rocket.Chat yet: its sending works
      this.loaded = false;
      this.posted = false; // a token went to Rocket.Chat
      this.postedAt = 0;
      this.queued = false; // waiting in line for a token
      this.isSignedIn = false;
      this.failure = null; // the token endpoint's refusal, if any
      this.waiters = [];
      this.notice = null;
      iframe.addEventListener('load', () => {
        this.loaded = true;
        this.hideNotice('slow');
        this.sync();
      });
      this.sync();
      this.watch();
    }

    post(message) {
      const target = this.iframe.contentWindow;
      if (target) {
        // Dropped by the browser unless the frame is at Rocket.Chat's origin: never '*'.
        target.postMessage(message, this.origin);
      }
      return this;
    }

    command(name, payload) {
      return this.post({ ...payload, externalCommand: name });
    }

    go(path) {
      return this.command('go', { path });
    }
    setStatus(status) {
      return this.command('set-user-status', { status });
    }
    on(eventName, handler) {
      return addHandler(this.handlers, eventName, handler);
    }

    emit(eventName, data, event) {
      callAll(this.handlers[eventName], this, [data, event]);
      callAll(globalHandlers[eventName], this, [data, event]);
      callAll(this.handlers[ANY], this, [eventName, data, event]);
      callAll(globalHandlers[ANY], this, [eventName, data, event]);
      this.iframe.dispatchEvent(new CustomEvent(`rocketchat:${eventName}`, { detail: data, bubbles: true }));
    }

    // The token is fetched once per page; every later sync posts the same one. `signIn`: the
    // user's own "Sign in to the chat" after a logout inside Rocket.Chat.
    fetchToken(recheck = false, signIn = false) {
      if (!this.token) {
        this.token = this.requestToken(recheck, signIn);
      }
      return this.token;
    }

    async requestToken(recheck, signIn = false) {
      const params = [recheck || signIn ? 'recheck=1' : '', signIn ? 'signin=1' : ''].filter(Boolean);
      const url = params.length ? sso.withQuery(config.tokenUrl, params.join('&')) : config.tokenUrl;
      const { token, answer } = await sso.requestToken(url, {
        onQueued: async (queuedAnswer, ms) => {
          const detail = sso.detailOf(queuedAnswer);
          this.queued = true;
          this.showNotice('queued', detail.error);
          this.emit(QUEUED_EVENT, { ...detail, retryAfter: queuedAnswer.retryAfter });
          await sleep(ms);
        }
      });
      this.queued = false;
      if (token) {
        return token;
      }
      this.fail(sso.detailOf(answer));
      if (answer.status === 401) {
        this.authenticated = false; // the session ended since the page was rendered
        this.sync();
      }
      return null;
    }

    sync() {
      if (this.authenticated) {
        this.fetchToken().then((token) => {
          if (!token) {
            return;
          }
          this.hideNotice('queued', 'unavailable', 'login', 'account');
          this.command('login-with-token', { token });
          if (!this.posted) {
            this.posted = true;
            this.postedAt = Date.now();
            this.watch(); // from now on, Rocket.Chat has `timeout` ms to report the sign-in
          }
          this.repost(token);
        });
      } else if (this.syncLogout) {
        this.command('logout'); // nothing to revoke: the site's session is gone
      }
    }

    // Rocket.Chat may not listen yet when the iframe's load fires, and with integration sending
    // off it never says 'startup': post the token again a few times until Rocket.Chat is heard
    // from. Bounded, and harmless: the browser delivers it only to Rocket.Chat's origin.
    async repost(token) {
      if (this.reposting) {
        return;
      }
      this.reposting = true;
      for (const delay of REPOST_DELAYS) {
        await sleep(delay);
        if (this.heard || this.isSignedIn || !this.authenticated) {
          break;
        }
        this.command('login-with-token', { token });
      }
      this.reposting = false;
    }

    // After `timeout` ms: a frame that has not loaded is slow; a Rocket.Chat that started, got
    // the token and reported no sign-in refused it. (Heard from not at all, the page cannot
    // tell: Iframe_Integration_send_enable may be off.)
    watch() {
      window.clearTimeout(this.watchTimer);
      this.watchTimer = window.setTimeout(() => {
        if (this.isSignedIn || !this.authenticated || this.failure || this.queued) {
          return;
        }
        if (!this.loaded) {
          this.showNotice('slow');
        } else if (this.heard && this.posted) {
          this.showNotice('refused', 'login_refused');
        }
      }, DEFAULT_TIMEOUT_MS);
    }

    fail(detail) {
      this.failure = detail;
      let kind = 'unavailable';
      if (detail.status === 401) {
        kind = 'login';
      } else if (detail.error === SIGNED_OUT) {
        kind = 'signed_out';
      } else if (detail.status === 409 || ACCOUNT.has(detail.error)) {
        kind = 'account';
      }
      this.showNotice(kind, detail.error);
      this.settle(detail.status === 401 ? 'not_authenticated' : 'token_refused');
      this.emit(ERROR_EVENT, detail);
    }

    // Try again from the notice: a frame that failed or is slow loads again (its load event
    // syncs); otherwise a new token, checked with Rocket.Chat, is posted.
    retry(kind) {
      this.hideNotice();
      this.failure = null;
      this.token = null;
      this.posted = false;
      if (kind === 'slow' || kind === 'unavailable') {
        this.loaded = false;
        this.heard = false;
        this.iframe.setAttribute('src', this.iframe.getAttribute('src')); // its load event syncs
      } else {
        this.fetchToken(kind === 'refused', kind === 'signed_out');
        this.sync();
      }
      this.watch();
    }

    showNotice(kind, reason = '') {
      if (config.notice === false) {
        return;
      }
      if (!this.notice) {
        this.notice = document.createElement('div');
        this.notice.className = 'rocketchat-sso-notice';
        this.notice.setAttribute('role', 'status');
        this.notice.setAttribute('aria-live', 'polite');
        Object.assign(this.notice.style, NOTICE_STYLE);
        this.iframe.insertAdjacentElement('afterend', this.notice);
        const place = () => this.place();
        window.addEventListener('resize', place);
        if (window.ResizeObserver) {
          new window.ResizeObserver(place).observe(this.iframe);
        }
      }
      const notice = this.notice;
      notice.dataset.kind = kind;
      notice.dataset.reason = reason;
      const text = document.createElement('p');
      text.className = 'rocketchat-sso-notice-text';
      Object.assign(text.style, { margin: '0', maxWidth: '32rem' });
      text.textContent = texts[kind] || '';
      const actions = [];
      if (kind === 'login') {
        const link = document.createElement('a');
        const { pathname, search, hash } = window.location;
        link.href = sso.withParam(config.loginUrl, config.redirectField || 'next', pathname + search + hash);
        link.textContent = texts.log_in || 'Log in';
        actions.push(link);
      } else if (kind !== 'queued') {
        const button = document.createElement('button');
        button.type = 'button';
        button.textContent =
          kind === 'signed_out' ? texts.sign_in || 'Sign in to the chat' : texts.retry || 'Try again';
        button.addEventListener('click', () => this.retry(kind));
        actions.push(button);
      }
      for (const action of actions) {
        action.className = 'rocketchat-sso-notice-action';
        Object.assign(action.style, ACTION_STYLE);
      }
      notice.replaceChildren(text, ...actions);
      notice.hidden = false;
      notice.style.display = 'flex';
      this.place();
    }

    // Cover the iframe: the notice is its next sibling, so both have the same offset parent.
    place() {
      if (!this.notice) {
        return;
      }
      const { offsetLeft, offsetTop, offsetWidth, offsetHeight } = this.iframe;
      Object.assign(this.notice.style, {
        left: `${offsetLeft}px`,
        top: `${offsetTop}px`,
        width: `${offsetWidth}px`,
        height: `${offsetHeight}px`
      });
    }

    // Hide the notice (if it shows one of `kinds`; any without).
    hideNotice(...kinds) {
      const notice = this.notice;
      if (notice && !notice.hidden && (!kinds.length || kinds.includes(notice.dataset.kind))) {
        notice.hidden = true;
        notice.style.display = 'none';
        notice.dataset.kind = '';
        notice.dataset.reason = '';
      }
    }

    // Resolve (no reason) or reject (a REASONS key) every pending signedIn().
    settle(reason) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const waiter of waiters) {
        waiter(reason);
      }
    }

    // The Promise of a sign-in confirmed by Rocket.Chat (see the API above).
    signedIn(options, callback) {
      return signedInForm(options, callback, (opts) => this.#waitForSignIn(opts));
    }

    #waitForSignIn(options) {
      const timeout = options.timeout || DEFAULT_TIMEOUT_MS;
      return new Promise((resolve, reject) => {
        let timer = null;
        const done = (reason) => {
          window.clearTimeout(timer);
          const index = this.waiters.indexOf(done);
          if (index > -1) {
            this.waiters.splice(index, 1);
          }
          if (reason) {
            reject(signInError(reason, this));
          } else {
            resolve(this);
          }
        };
        // Waiting in line is not a failure: the time runs from the call or from when the token
        // went to Rocket.Chat, whichever is later.
        const expire = () => {
          const left = this.postedAt + timeout - Date.now();
          if (this.queued || left > 0) {
            timer = window.setTimeout(expire, this.queued ? timeout : left);
          } else {
            done(this.heard ? 'not_confirmed' : 'send_disabled');
          }
        };
        if (this.isSignedIn) {
          done();
        } else if (!this.authenticated) {
          done('not_authenticated');
        } else if (this.failure) {
          done(this.failure.status === 401 ? 'not_authenticated' : 'token_refused');
        } else {
          this.waiters.push(done);
          timer = window.setTimeout(expire, timeout);
        }
      });
    }

    // Rocket.Chat's 'logout' command, and the server-side revocation of the session's token, so
    // the user is signed out (and not shown online) even where Rocket.Chat ignores the command.
    async logout() {
      this.loggingOut = true; // Rocket.Chat's logout event that follows is this page's doing
      this.command('logout');
      this.token = null;
      this.isSignedIn = false;
      if (!config.logoutUrl) {
        return { revoked: false };
      }
      const headers = config.csrfToken ? { [CSRF_HEADER]: config.csrfToken } : {};
      const answer = await sso.call(config.logoutUrl, { headers });
      if (!answer.ok) {
        this.emit(ERROR_EVENT, sso.detailOf(answer));
      }
      return { revoked: Boolean(answer.body.revoked) };
    }

    // Rocket.Chat says the user is signed out. After a sign-in this page did not undo itself,
    // the user logged out inside the chat (or Rocket.Chat dropped the token): ask the site to
    // check the token, which marks the logout and answers 'rocketchat_signed_out' (a notice
    // with one button), and never post the old token again.
    signedOutInChat() {
      const wasSignedIn = this.isSignedIn;
      this.isSignedIn = false;
      if (!wasSignedIn || this.loggingOut || !this.authenticated) {
        return;
      }
      this.token = null;
      this.posted = false;
      this.fetchToken(true);
      this.sync();
    }

    receive(event) {
      const data = event.data;
      if (!data || typeof data !== 'object' || typeof data.eventName !== 'string') {
        return;
      }
      this.heard = true;
      if (data.eventName === SIGNED_IN_EVENT) {
        this.isSignedIn = true;
        this.loggingOut = false; // a later logout inside the chat is the user's again
        this.hideNotice();
        this.settle(null);
      } else if (SIGNED_OUT_EVENTS.includes(data.eventName)) {
        this.signedOutInChat();
      }
      if (data.eventName === 'startup') {
        this.sync(); // Rocket.Chat (re)started in the frame: it may not have heard us yet
      }
      this.emit(data.eventName, data.data, event);
    }
  }

  const chats = [];

  function scan() {
    for (const iframe of document.querySelectorAll(SELECTOR)) {
      if (iframe.rocketChatSSO || iframe.rocketChatSSOIgnored) {
        continue;
      }
      if (originOf(iframe.getAttribute('src')) !== config.origin) {
        // Not Rocket.Chat as the server configured it: never given a token or a command.
        iframe.rocketChatSSOIgnored = true;
        console.warn('rocketchat-sso.js: ignoring an iframe that is not at', config.origin, iframe);
        continue;
      }
      iframe.rocketChatSSO = new Chat(iframe);
      chats.push(iframe.rocketChatSSO);
    }
    return chats.slice();
  }

  window.addEventListener('message', (event) => {
    const chat = chats.find((candidate) => event.source === candidate.iframe.contentWindow);
    if (chat && event.origin === chat.origin) {
      chat.receive(event);
    }
  });

  function each(method) {
    return (...args) => {
      for (const chat of chats) {
        chat[method](...args);
      }
      return api;
    };
  }

  // For every chat on the page: a Promise of all their results.
  function all(method) {
    return (...args) => Promise.all(chats.map((chat) => chat[method](...args)));
  }

  const api = {
    scan,
    chats: () => chats.slice(),
    get(target) {
      const element = typeof target === 'string' ? document.getElementById(target) : target;
      return chats.find((chat) => !element || chat.iframe === element) || null;
    },
    on: (eventName, handler) => addHandler(globalHandlers, eventName, handler),
    command: each('command'),
    go: each('go'),
    logout: all('logout'),
    signedIn: (options, callback) => signedInForm(options, callback, all('signedIn')),
    setStatus: each('setStatus')
  };
  window.RocketChatSSO = api;

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', scan);
  }
  scan();
})();
