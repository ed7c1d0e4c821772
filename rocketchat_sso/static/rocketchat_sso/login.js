/*
 * django-rocketchat-sso loading page (Rocket.Chat's "Iframe URL"). No build step.
 *
 * Framed by Rocket.Chat:
 * - signed in to the site: fetch a token from the token endpoint (same origin) and post
 *   {event: 'login-with-token', loginToken} to Rocket.Chat, at Rocket.Chat's exact origin.
 *   Rocket.Chat answers a refused token with {event: 'login-error', response}, accepted only
 *   from the parent at Rocket.Chat's origin.
 * - the server saw no session: perhaps only because the browser keeps the site's cookies from
 *   this frame (third-party cookies blocked, Rocket.Chat on another site). With the Storage
 *   Access API, ask for access: granted before, at once; else on one click ('continue'). The
 *   browser refuses: say what to do ('refused') and offer a window of the site ('handoff') that
 *   hands the token back by postMessage at this page's own origin. Really signed out: offer the
 *   site's login. The page never sends the user round in circles.
 * - the chat is busy (429, or 503 with Retry-After for a rate limit or a request of the same
 *   session in flight): wait as long as the server says and try again by itself ('queued').
 * Every failure shows a reason in plain words (translated server-side, #rocketchat-sso-reasons)
 * and a retry, never a raw error.
 * - the user logged out inside Rocket.Chat (the token endpoint says 'rocketchat_signed_out'):
 *   no sign-in behind their back; 'signed-out' offers one button that asks for a token with
 *   ?signin=1 (RocketChat/Rocket.Chat#28006; rocketchat_sso/sessions/signout.py).
 * - in Rocket.Chat's desktop app (?client=electron, which Rocket.Chat adds to the Iframe URL
 *   there): the app refuses the Storage Access API (its permission handler grants a fixed list)
 *   and sends new tabs to the system browser, so 'Continue to the chat' opens the sign-in window
 *   as a popup, which the app keeps inside itself, and no link opens a tab (docs/apps_desktop.rst).
 * Top-level with ?handoff or at the window URL (the window 'Sign in in a new window' opens): log
 * in if need be, then fetch a token, post it to the opener at this page's own origin and close.
 * Top-level in Rocket.Chat's mobile app (its sign-in WebView): hand the app a token of its own
 *   through the page's URL, as the app reads it (see the end of this file).
 * Top-level otherwise (the site's login came back here): go on to Rocket.Chat.
 * The calls to the token endpoint and the rules of waiting in line are sso-fetch.js's (loaded
 * before this script by the template).
 */
(() => {
  'use strict';

  const root = document.getElementById('rocketchat-sso-login');
  const sso = window.RocketChatSSOFetch;
  if (!root) {
    return;
  }
  if (typeof sso?.requestToken !== 'function') {
    console.error('login.js: load rocketchat_sso/sso-fetch.js before it (see login.html).');
    return;
  }
  const { rocketchatOrigin: origin, rocketchatUrl: chatUrl, tokenUrl, loginUrl } = root.dataset;
  const windowUrl = root.dataset.windowUrl || window.location.pathname;
  const redirectField = root.dataset.redirectField || 'next';
  let authenticated = root.dataset.authenticated === 'true';
  let storageAccess = false; // this frame was granted the site's cookies (Storage Access API)
  const framed = window.parent !== window;
  const HANDOFF = 'handoff';
  const handoff =
    !framed && (root.dataset.handoff === 'true' || new URLSearchParams(window.location.search).has(HANDOFF));
  // Rocket.Chat's desktop app (RocketChat/Rocket.Chat.Electron): see desktopApp() below.
  const desktop = root.dataset.client === 'electron';
  // Rocket.Chat's mobile app, framed: on Android react-native-webview (13.16.1,
  // RNCWebView.java) defines window.ReactNativeWebView in every frame, so this frame knows it is
  // in the app's sign-in WebView. A window it opened would go to the system browser there
  // (RNCWebChromeClient.java onCreateWindow: a hidden WebView without a WebViewClient), out of
  // the app: 'Continue' takes the whole WebView to the site's login instead, which comes back to
  // this page top-level and hands the app its token. On iOS the bridge is in the top page only:
  // a frame cannot tell, and the WebView loads the window's URL itself (RNCWebViewImpl.m
  // createWebViewWithConfiguration), where the handoff page hands the app its token too (below).
  const mobileAppFrame = framed && typeof window.ReactNativeWebView?.postMessage === 'function';
  function logInInWebView() {
    const login = root.querySelector('[data-login-link]');
    window.top.location.href = login?.href ?? loginUrl; // the link's own target=_top
  }
  const SIGNED_OUT = 'rocketchat_signed_out'; // the user logged out inside Rocket.Chat
  const TOKEN_EVENT = 'rocketchat-sso-token'; // from the handoff window to this page

  let reasons = {};
  try {
    reasons = JSON.parse(document.getElementById('rocketchat-sso-reasons').textContent) || {};
  } catch {
    reasons = {};
  }
  const live = root.querySelector('[data-live]');
  const all = (selector) => Array.from(root.querySelectorAll(selector));

  // A reason code (the token endpoint's 'error', or 'network', 'login_refused') in plain words.
  const reasonText = (code) => reasons[code] || reasons.default || '';

  // Show one state; say it in the live region (one region that stays in the page, so screen
  // readers announce each change) and, if this frame has the focus, move it to the state's
  // first control so keyboard users can act on it right away.
  function show(state, reason) {
    root.dataset.current = state;
    root.dataset.reason = reason || '';
    let current = null;
    for (const section of all('[data-state]')) {
      section.hidden = section.dataset.state !== state;
      if (!section.hidden) {
        current = section;
      }
    }
    for (const node of all('[data-message]')) {
      node.textContent = reason ? reasonText(reason) : '';
    }
    const announce = current?.querySelector('[data-announce]');
    if (live && announce) {
      live.textContent = announce.textContent.replace(/\s+/g, ' ').trim();
    }
    const control = current?.querySelector('a[href], button');
    if (control && document.hasFocus()) {
      control.focus();
    }
  }

  // When the chat is embedded in one of the site's own pages (site > Rocket.Chat > this page),
  // come back to that page after logging in rather than to this one.
  function refineLoginLinks() {
    let next;
    try {
      if (window.top !== window && window.top.location.origin === window.location.origin) {
        const { pathname, search, hash } = window.top.location;
        next = pathname + search + hash;
      }
    } catch {
      return; // the top window is Rocket.Chat's: keep the link that comes back here
    }
    if (!next) {
      return;
    }
    const href = sso.withParam(loginUrl, redirectField, next);
    for (const link of all('[data-login-link]')) {
      link.setAttribute('href', href);
    }
  }

  function post(message) {
    window.parent.postMessage(message, origin); // Rocket.Chat's origin, never '*'
  }

  // Show 'queued' with a countdown, and resolve when it is our turn again (after `ms`).
  function waitInLine(ms) {
    const until = Date.now() + ms;
    show('queued');
    return new Promise((resolve) => {
      const tick = () => {
        const left = until - Date.now();
        for (const node of all('[data-wait]')) {
          node.textContent = String(Math.max(1, Math.ceil(left / 1000)));
        }
        if (left <= 0) {
          resolve();
        } else {
          window.setTimeout(tick, Math.min(1000, left));
        }
      };
      tick();
    });
  }

  // The page's one request: a token for the session's user, or null once the page shows why
  // not (401: 'anonymous' is returned instead). Rocket.Chat shows this page only when it is not
  // signed in, so whatever token the session had may be dead: ask the server to check it with
  // Rocket.Chat before handing it out (?recheck=1). Same origin; credentials 'include' also
  // carries the cookies that storage access let in.
  // `signIn`: the user asked to sign in to the chat (a click), which ends a logout they made
  // inside Rocket.Chat (?signin=1).
  async function fetchToken({ signIn = false } = {}) {
    const query = signIn ? 'recheck=1&signin=1' : 'recheck=1';
    const { token, answer } = await sso.requestToken(sso.withQuery(tokenUrl, query), {
      credentials: 'include',
      onQueued: async (_answer, ms) => {
        await waitInLine(ms);
        show('signing-in');
      }
    });
    if (token) {
      return token;
    }
    if (answer.status === 401) {
      authenticated = false;
      return 'anonymous';
    }
    if (answer.body.error === SIGNED_OUT) {
      show('signed-out'); // they chose to leave: only their click signs them in again
      return null;
    }
    show('error', answer.body.error || 'default');
    return null;
  }

  async function signIn(options) {
    show('signing-in');
    const token = await fetchToken(options);
    if (token === 'anonymous') {
      show('login');
    } else if (token) {
      authenticated = true;
      post({ event: 'login-with-token', loginToken: token });
    }
  }

  function retry() {
    if (authenticated || storageAccess) {
      signIn();
    } else {
      // Logged in meanwhile (another tab)? Rocket.Chat calls the token endpoint again.
      show('signing-in');
      post({ event: 'try-iframe-login' });
    }
  }

  // A host's site, roughly (no public suffix list): the last two labels of a name.
  const siteOf = (host) => (/^[\d.]+$|^\[|^[^.]+$/.test(host) ? host : host.split('.').slice(-2).join('.'));

  // Framed by the same site as ours: the browser's word for it (Sec-Fetch-Site, sent over HTTPS
  // and to localhost), else a guess from the host names of Rocket.Chat and this page.
  function framedBySameSite() {
    const fetchSite = root.dataset.fetchSite;
    if (fetchSite) {
      return fetchSite === 'same-site' || fetchSite === 'same-origin';
    }
    return siteOf(new URL(origin).hostname) === siteOf(window.location.hostname);
  }

  // Whether the browser keeps the site's cookies from this frame: framed by another site
  // without storage access (a same-site frame has them, though hasStorageAccess() says false
  // there). Without the Storage Access API there is no telling: taken as blocked, since the
  // window of the site ('continue') signs in either way, where the site's login in the top
  // window would come back to a frame that still cannot see the session.
  async function cookiesBlocked() {
    if (framedBySameSite()) {
      return false;
    }
    if (typeof document.hasStorageAccess !== 'function') {
      return true;
    }
    try {
      return !(await document.hasStorageAccess());
    } catch {
      return false;
    }
  }

  // The Storage Access API: resolves at once where the user granted it before, on a click
  // ('continue') the first time; rejects where the browser or the user says no.
  async function askForStorageAccess() {
    try {
      await document.requestStorageAccess();
      storageAccess = true;
      return true;
    } catch {
      return false;
    }
  }

  // 'Continue to the chat' (one click): storage access, else a window of the site. Refused
  // (Chromium refuses at once, without a prompt, where the user has not used the site lately),
  // the window opens on the same click where the browser still allows a popup: one click, not
  // two; else 'refused' offers it. The desktop app refuses storage access always: the window.
  async function continueToChat() {
    if (mobileAppFrame) {
      logInInWebView(); // on this click: a cross-site top navigation needs its gesture
    } else if (desktop || typeof document.requestStorageAccess !== 'function') {
      openHandoff();
    } else if (await askForStorageAccess()) {
      signIn({ signIn: true }); // a 401 now means really logged out: the login, which comes back here
    } else {
      openHandoff(); // 'refused' if the browser blocks it
    }
  }

  // 'Sign in to the chat' after a logout inside Rocket.Chat: the user's own request.
  function signInAgain() {
    if (authenticated || storageAccess) {
      signIn({ signIn: true });
    } else if (mobileAppFrame) {
      logInInWebView();
    } else {
      openHandoff(); // a frame without the site's cookies: the window asks for them
    }
  }

  // Rocket.Chat's desktop app (RocketChat/Rocket.Chat.Electron 4.15.6,
  // src/ui/main/serverView/index.ts): setWindowOpenHandler sends 'foreground-tab' and
  // 'background-tab' windows (a link with target=_blank, window.open without features) to the
  // system browser with openExternal, and keeps 'new-window' ones (window.open with popup
  // features) in the app, in the webview's session. So the links that open the site in a new
  // tab go: the sign-in window (openHandoff) is the way in.
  function desktopApp() {
    for (const link of all('[data-site-link]')) {
      link.hidden = true;
    }
  }

  // A window of the site, first-party, so it sees the session: it posts the token back here
  // (at this page's own origin), or has the user log in first.
  let handoffWindow = null;
  function openHandoff() {
    if (mobileAppFrame) {
      logInInWebView(); // a window would leave the app (the system browser on Android)
      return;
    }
    // Its own URL (the window view), without "login" or "sso" in it: a window whose address has
    // such words may go to the system browser in the desktop app (docs/apps_desktop.rst).
    const url = new URL(windowUrl, window.location.origin);
    handoffWindow = window.open(url.href, 'rocketchat-sso-handoff', 'popup,width=520,height=640');
    if (handoffWindow) {
      show('signing-in');
      watchHandoff(handoffWindow);
    } else {
      show('refused'); // a popup blocker: the link to the site remains
    }
  }

  // The window closed without handing a token over (the user closed it, or the site's login
  // page cut it off from this page: Cross-Origin-Opener-Policy makes it look closed from here):
  // offer it again, one click, rather than wait for ever.
  const HANDOFF_POLL_MS = 500;
  function watchHandoff(opened) {
    let closedSeen = false; // give its last message one more round to arrive
    const timer = window.setInterval(() => {
      if (opened !== handoffWindow) {
        window.clearInterval(timer); // it handed the token over, or another window replaced it
      } else if (closedSeen) {
        window.clearInterval(timer);
        handoffWindow = null;
        if (root.dataset.current === 'signing-in') {
          show('continue');
        }
      } else {
        closedSeen = opened.closed;
      }
    }, HANDOFF_POLL_MS);
  }

  function onMessage(event) {
    const data = event.data;
    if (!data || typeof data !== 'object') {
      return;
    }
    if (handoffWindow && event.source === handoffWindow && event.origin === window.location.origin) {
      if (data.event === TOKEN_EVENT && typeof data.loginToken === 'string') {
        handoffWindow = null; // done with it
        authenticated = true;
        show('signing-in');
        post({ event: 'login-with-token', loginToken: data.loginToken });
      }
      return;
    }
    if (event.source !== window.parent || event.origin !== origin || data.event !== 'login-error') {
      return;
    }
    if (authenticated) {
      if (typeof data.response === 'string') {
        console.warn('Rocket.Chat refused the sign-in:', data.response); // for administrators
      }
      show('error', 'login_refused');
    } else {
      show('login');
    }
  }

  async function startFramed() {
    window.addEventListener('message', onMessage);
    for (const button of all('[data-retry]')) {
      button.addEventListener('click', retry);
    }
    for (const button of all('[data-continue]')) {
      button.addEventListener('click', continueToChat);
    }
    for (const button of all('[data-handoff]')) {
      button.addEventListener('click', openHandoff);
    }
    for (const button of all('[data-sign-in]')) {
      button.addEventListener('click', signInAgain);
    }
    if (desktop) {
      desktopApp();
    }
    refineLoginLinks();
    if (authenticated) {
      signIn();
    } else if (await cookiesBlocked()) {
      // Granted on an earlier visit: no click. Else the browser needs one (a user gesture).
      if (await askForStorageAccess()) {
        signIn();
      } else {
        show('continue');
      }
    } else {
      show('login');
    }
  }

  async function handOff() {
    if (!authenticated) {
      const login = root.querySelector('[data-login-link]');
      window.location.replace(login?.href ?? loginUrl); // comes back here, logged in
      return;
    }
    if (!window.opener) {
      show('handoff-done'); // the site's login page cut the tie (Cross-Origin-Opener-Policy)
      return;
    }
    show('signing-in');
    const token = await fetchToken({ signIn: true }); // opened by the user's click to sign in
    if (token && token !== 'anonymous') {
      window.opener.postMessage({ event: TOKEN_EVENT, loginToken: token }, window.location.origin);
      window.close();
      show('handoff-done');
    }
  }

  // -- Rocket.Chat's mobile app (docs/apps.rst) -------------------------------------------------
  // Rocket.Chat.ReactNative (4.71.2; app/views/AuthenticationWebView.tsx at commit 2af4bda3e664)
  // signs in through a WebView of its own (react-native-webview, which defines
  // window.ReactNativeWebView in its top page: the app's injected script calls its
  // postMessage). The app takes a sign-in from the WebView's URL: decoded, it must contain the
  // server's address and end in a hash {event: 'login-with-token', loginToken} (JSON); its
  // injected script writes there whatever object is posted to the top window, and posts the
  // URL to the native side on each history change. Top-level after the site's login, this page
  // is that top window: it asks for a token of the app's own (the app keeps it for weeks, long
  // after this WebView's session is gone), writes the hash itself and posts the URL as the
  // injected script would (no window.postMessage: the token reaches no other window). The app
  // logs in natively 3 s later (a debounce) and closes the WebView; meanwhile the page says so,
  // with nothing to tap.
  const APP_FALLBACK_MS = 15000; // the app should have closed the WebView long before
  const inMobileApp = () => !framed && typeof window.ReactNativeWebView?.postMessage === 'function';

  const loaded = () =>
    document.readyState === 'complete'
      ? Promise.resolve()
      : new Promise((resolve) => window.addEventListener('load', resolve, { once: true }));

  async function handToMobileApp() {
    show('signing-in');
    const { token, answer } = await sso.requestToken(sso.withQuery(root.dataset.appTokenUrl, 'app=mobile'), {
      headers: { 'X-CSRFToken': root.dataset.csrfToken || '' },
      onQueued: async (_answer, ms) => {
        await waitInLine(ms);
        show('signing-in');
      }
    });
    if (!token) {
      show('error', answer.body.error || 'default');
      return;
    }
    await loaded(); // the app's script is injected once the page has loaded
    show('app-signed-in');
    // The server's address (with its slash: the app's is a prefix of it) lets the app's check
    // of the URL match; the app reads only `event` and `loginToken`.
    window.location.hash = JSON.stringify({ event: 'login-with-token', loginToken: token, server: chatUrl });
    window.ReactNativeWebView.postMessage(window.location.href);
    window.setTimeout(() => {
      for (const node of all('[data-app-fallback]')) {
        node.hidden = false;
      }
    }, APP_FALLBACK_MS);
  }

  function startInMobileApp() {
    for (const button of all('[data-retry]')) {
      button.addEventListener('click', handToMobileApp);
    }
    handToMobileApp();
  }

  if (framed) {
    startFramed();
  } else if (authenticated && inMobileApp()) {
    // Before the handoff: on iOS the app's WebView loads the sign-in window's URL itself (no
    // window, no opener), so the window hands its token to the app as this page does.
    startInMobileApp();
  } else if (handoff) {
    handOff();
  } else if (authenticated) {
    window.location.replace(chatUrl);
  }
})();
