"""Rocket.Chat's mobile app (Rocket.Chat.ReactNative) in Chromium, as far as iframe sign-in goes.

Written from the app's source, repository ``RocketChat/Rocket.Chat.ReactNative`` at commit
``2af4bda3e664c539f5ca5b042c7f1e84fb2e42c4`` (main, 2026-05-06); the files below are the same
in release ``4.71.2`` (``a5fea7f6080262a4745adca3e1e1aeb7520357b0``) but for ``connect.ts``,
whose login part is unchanged. No code of the app is copied: each behaviour is re-told here.

- ``app/views/WorkspaceView/index.tsx``, ``login()``: with ``Accounts_iframe_enabled`` the
  "Log in" button opens ``AuthenticationWebView`` at the server's own URL, ``authType: 'iframe'``
  (no login form). The app's ``server`` is the workspace address the user typed, completed by
  ``app/views/NewServerView/utils/completeUrl.ts``: ``https://`` added to a bare host name,
  trailing slashes dropped.
- ``app/views/AuthenticationWebView.tsx``: a ``WebView`` with ``incognito`` (its own cookie
  store, emptied when it closes: here a fresh browser context per opening), the app's
  ``userAgent`` (``app/lib/constants/userAgent.ts``), ``onMessage`` and
  ``onNavigationStateChange`` both going to one handler, and for ``iframe`` an injected script
  that (a) sets ``window.location.hash`` to the JSON of every object posted to the top window
  (a ``message`` event whose ``data`` is an object), (b) posts ``window.location.href`` to the
  native side after each ``history.pushState``/``replaceState`` and on ``popstate``.
- The handler decodes the URL (``decodeURIComponent``) and, for ``iframe``, acts only when it
  contains the server's URL and one of ``event``/``loginToken``/``token``
  (``iframeRedirectRegex``); it parses the part after ``#`` as JSON and on
  ``event: 'try-iframe-login'`` calls ``tryLogin``, on ``'login-with-token'``
  ``debouncedLogin({resume: token || loginToken})``.
- ``tryLogin`` (debounced 3 s, leading): the native ``fetch`` of ``Accounts_Iframe_api_url``
  with ``Accounts_Iframe_api_method``, no body, the headers of
  ``app/lib/methods/helpers/fetch.ts`` (``User-Agent: RC Mobile; ...``) and none of the
  WebView's cookies (a native request: the WebView is incognito); then ``data.login ||
  data.loginToken`` goes to ``login``.
- ``debouncedLogin`` waits 3 s (trailing ``useDebounce``, "so the server has time to evaluate
  the token"), then ``login``: ``loginOAuthOrSso(params)`` (not awaited) and
  ``navigation.pop()``, which closes the WebView whatever the login's outcome.
- ``loginOAuthOrSso`` (``app/lib/services/connect.ts``) is a Meteor login over DDP with
  ``{resume}`` (``@rocket.chat/sdk``, ``protocol: 'ddp'``), then ``loginRequest({resume})``; on
  each reconnection the app logs in again with the stored token (``connectedListener``).
  **Emulated over REST** instead: ``POST /api/v1/login`` with ``{"resume": token}``, which
  Rocket.Chat passes to the same Meteor login handlers (``loginCompatibility`` leaves the body
  as is), from the phone's own address (``X-Real-IP``; a real phone has its own).

The WebView itself is ``react-native-webview`` 13.16.1 (the app's ``package.json``), repository
``react-native-webview/react-native-webview`` at tag ``v13.16.1``
(``f087ea96e71f55c189b666713d9895936afe0948``): ``window.ReactNativeWebView.postMessage`` is
defined at document start, in the top frame only on iOS (``apple/RNCWebViewImpl.m``,
``postMessageScript``, ``forMainFrameOnly:YES``) and in every frame on Android
(``android/.../RNCWebView.java``, ``addWebMessageListener`` or ``addJavascriptInterface``); the
app's ``injectedJavaScript`` runs in the top frame at document end on iOS and from
``onPageFinished`` on Android (``RNCWebViewClient.java``): here, on the ``load`` event, the later.

Windows the page opens (``window.open``) go where 13.16.1 sends them, the app setting none of
``onOpenWindow``, ``setSupportMultipleWindows``, ``javaScriptCanOpenWindowsAutomatically``
(``AuthenticationWebView.tsx`` above):

- iOS (``apple/RNCWebViewImpl.m``, ``webView:createWebViewWithConfiguration:...``): for a new
  window (``targetFrame`` nil, so not the main frame) and no ``onOpenWindow``, the WebView
  itself loads the request (``[webView loadRequest:navigationAction.request]``: the whole
  WebView goes to the window's URL) and returns ``nil``, so ``window.open`` returns ``null``.
  ``javaScriptCanOpenWindowsAutomatically`` stays WebKit's default (NO): without a user gesture
  WebKit blocks the window and asks nothing (WebKit's behaviour, not read in its source here);
  Chromium's own test of the gesture (``navigator.userActivation.isActive``) stands for
  WebKit's. Chromium's refusal of storage access takes the click's gesture; whether WebKit's
  does is not verified.
- Android (``RNCWebViewManagerImpl.kt``, ``createViewInstance``: ``setSupportMultipleWindows
  (true)``; ``RNCWebChromeClient.java``, ``onCreateWindow``): a new ``WebView`` is made and
  handed to the page (``window.open`` returns a window), never shown, and without
  ``onOpenWindow`` it has no ``WebViewClient``: Android's WebView then gives its URL to the
  system browser (Android's documented default for a WebView without a client, not read in
  Android's source here; issue 18 saw it). Here: an ``about:blank`` popup the page holds, and
  the URL recorded in :attr:`MobileApp.external` (the user left the app), as the desktop
  emulation does.

What Chromium cannot stand for: WKWebView's and Android WebView's own cookie policies
(docs/apps.rst).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import requests

SOURCE = "RocketChat/Rocket.Chat.ReactNative@2af4bda3e664c539f5ca5b042c7f1e84fb2e42c4"
RELEASE = "4.71.2"
# app/lib/constants/userAgent.ts
USER_AGENTS = {
    "ios": "Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/15.5 Mobile/15E148 Safari/604.1",
    "android": "Mozilla/5.0 (Linux; Android 12; SM-A315G) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/91.0.4472.114 Mobile Safari/537.36",
}
# app/lib/methods/helpers/fetch.ts: "RC Mobile; <os> <os version>; v<app version> (<build>)".
NATIVE_USER_AGENTS = {
    "ios": f"RC Mobile; ios 17.5; v{RELEASE} (999999)",
    "android": f"RC Mobile; android 14; v{RELEASE} (999999)",
}
DEBOUNCE_SECONDS = 3.0  # AuthenticationWebView.tsx: useDebounce(..., 3000)
PHONE_ADDRESS = "203.0.113.7"  # documentation range: the phone is not the site's server

# react-native-webview gives pages window.ReactNativeWebView.postMessage (here a binding to
# Python): the top frame only on iOS, every frame on Android (BRIDGE_IN_ALL_FRAMES). The app's
# injected script is run in the top page once it has loaded. Its three behaviours, re-told:
# objects posted to the window become the hash; history changes and popstate post the URL to
# the native side.
BRIDGE_IN_ALL_FRAMES = {"ios": False, "android": True}
WEBVIEW_SCRIPT = """
if (window.top === window || BRIDGE_IN_ALL_FRAMES) {
  window.ReactNativeWebView = { postMessage: (data) => window.__rnwvNative(String(data)) };
}
// react-native-webview's answer to window.open (see the module's docstring), in every frame.
window.open = ((original) =>
  function (url, ...rest) {
    const target = url ? new URL(url, location.href).href : 'about:blank';
    if (PLATFORM === 'ios') {
      if (navigator.userActivation.isActive) {
        window.__rnwvLoadRequest(target); // the whole WebView loads it
      }
      return null;
    }
    const opened = original.call(this, 'about:blank', ...rest); // Chromium's blocker: a gesture
    if (opened) {
      window.__rnwvOpenExternal(target); // the system browser
    }
    return opened;
  })(window.open);
if (window.top === window) {
  window.addEventListener('load', () => {
    const tell = () => window.ReactNativeWebView.postMessage(window.location.href);
    window.addEventListener('message', (event) => {
      if (typeof event.data === 'object') {
        window.location.hash = JSON.stringify(event.data);
      }
    });
    for (const name of ['pushState', 'replaceState']) {
      const original = history[name];
      history[name] = function (...args) {
        const result = original.apply(this, args);
        tell();
        return result;
      };
    }
    window.addEventListener('popstate', tell);
  });
}
"""


@dataclass
class NativeLogin:
    """One native ``resume`` login the app made, and Rocket.Chat's answer."""

    token: str
    status: int
    user_id: str = ""


@dataclass
class MobileApp:
    """The app on one phone, signing in to one workspace (``server``) of the stand-in.

    ``rest`` is where the stand-in's REST API is reached from here; ``settings`` its public
    settings as the app loaded them (``Accounts_iframe_enabled``, ``Accounts_Iframe_api_url``,
    ``Accounts_Iframe_api_method``). ``resolve`` maps host names to where they are served, for
    the native requests (Chromium has ``--host-resolver-rules`` for the WebView's).
    """

    browser: Any
    server: str
    rest: str
    settings: dict[str, Any]
    platform: str = "android"
    resolve: dict[str, str] = field(default_factory=dict)
    token: str | None = None  # the stored login (Redux ``login.user.token``)
    user_id: str = ""
    logins: list[NativeLogin] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # what the native side heard, in order
    tries: list[tuple[int, Any]] = field(default_factory=list)  # tryLogin's answers
    external: list[str] = field(default_factory=list)  # URLs sent to the system browser
    loaded_requests: list[str] = field(default_factory=list)  # window.open on iOS: the WebView
    webview: Any = None
    context: Any = None
    received: threading.Event = field(default_factory=threading.Event)
    _pending: str | None = None

    # -- WorkspaceView -----------------------------------------------------------------------

    def tap_log_in(self) -> Any:
        """The workspace screen's "Log in": the sign-in WebView at the server's URL."""
        assert self.settings.get("Accounts_iframe_enabled"), "the app would show its login form"
        self.context = self.browser.new_context(
            user_agent=USER_AGENTS[self.platform],
            viewport={"width": 390, "height": 844},
            is_mobile=True,
            has_touch=True,
        )
        self.context.set_default_timeout(10_000)
        self.context.expose_binding("__rnwvNative", lambda _source, data: self._on_message(data))
        self.context.expose_binding("__rnwvOpenExternal", lambda _source, url: self._external(url))
        self.context.expose_binding("__rnwvLoadRequest", lambda _source, url: self._load(url))
        all_frames = "true" if BRIDGE_IN_ALL_FRAMES[self.platform] else "false"
        self.context.add_init_script(
            f"const BRIDGE_IN_ALL_FRAMES = {all_frames};\n"
            f"const PLATFORM = {json.dumps(self.platform)};\n{WEBVIEW_SCRIPT}"
        )
        page = self.context.new_page()
        page.on("framenavigated", self._on_frame_navigated)
        self.webview = page
        page.goto(self.server)
        return page

    # -- react-native-webview: windows the page opens ------------------------------------------

    def _external(self, url: str) -> None:
        """Android: the new window's URL went to the system browser; the user left the app."""
        self.external.append(url)

    def _load(self, url: str) -> None:
        """iOS: ``[webView loadRequest:]``, the WebView's top page goes to the window's URL."""
        self.loaded_requests.append(url)
        self.webview.main_frame.evaluate("(url) => { window.location.href = url; }", url)

    # -- AuthenticationWebView ---------------------------------------------------------------

    def _on_frame_navigated(self, frame: Any) -> None:
        if frame == self.webview.main_frame:  # onNavigationStateChange: the top page only
            self._on_navigation_state_change(frame.url)

    def _on_message(self, data: str) -> None:
        # onMessage hands any frame's message to the same handler (Android's frames included).
        self._on_navigation_state_change(data)

    def _matches(self, url: str) -> bool:
        # iframeRedirectRegex: the server's URL (unescaped: a pattern) and event|loginToken|token.
        return bool(re.search(self.server, url)) and bool(re.search("event|loginToken|token", url))

    def _on_navigation_state_change(self, url: str) -> None:
        decoded = unquote(url)
        if not self._matches(decoded):
            return
        parts = decoded.split("#")
        credentials = json.loads(parts[1])  # the app's JSON.parse: a URL without hash throws
        event = credentials.get("event")
        self.events.append(str(event))
        if event == "try-iframe-login":
            self._try_login()
        elif event == "login-with-token":
            self._pending = credentials.get("token") or credentials.get("loginToken")
            self.received.set()

    def _native(self, url: str) -> tuple[str, dict[str, str]]:
        """The URL to reach ``url`` at from here, and the Host header it is sent with."""
        parts = urlsplit(url)
        host = parts.netloc
        target = self.resolve.get(parts.hostname or "", parts.hostname or "")
        netloc = f"{target}:{parts.port}" if parts.port else target
        return urlunsplit(parts._replace(netloc=netloc)), {"Host": host}

    def _try_login(self) -> None:
        """``tryLogin``: a native fetch of the API URL, without the WebView's cookies."""
        url, headers = self._native(str(self.settings.get("Accounts_Iframe_api_url", "")))
        headers["User-Agent"] = NATIVE_USER_AGENTS[self.platform]
        method = str(self.settings.get("Accounts_Iframe_api_method") or "POST")
        response = requests.request(method, url, headers=headers, timeout=10)
        try:
            data = response.json()
        except ValueError:
            self.tries.append((response.status_code, None))
            return  # response.json() rejects: nothing happens in the app
        self.tries.append((response.status_code, data))
        resume = (data or {}).get("login") or (data or {}).get("loginToken")
        if resume:
            self._pending = resume
            self.received.set()

    def wait_for_event(self, event: str, timeout: float = 10.0) -> None:
        """Until the native side heard ``event`` (and handled it: handlers run to the end)."""
        deadline = timeout
        while event not in self.events and deadline > 0:
            self.webview.wait_for_timeout(100)  # lets Playwright deliver the bindings' calls
            deadline -= 0.1
        assert event in self.events, f"the app never heard {event} (heard: {self.events})"

    def wait_for_token(self, timeout: float = 10.0) -> str:
        """Until a token reached the native side (the debounce starts then)."""
        deadline = timeout
        while not self.received.is_set() and deadline > 0:
            self.webview.wait_for_timeout(100)  # lets Playwright deliver the bindings' calls
            deadline -= 0.1
        assert self._pending, f"the app received no token (heard: {self.events})"
        return self._pending

    def finish_debounce(self) -> NativeLogin:
        """The 3 s debounce runs out: the native ``resume`` login, and the WebView closes."""
        self.webview.wait_for_timeout(DEBOUNCE_SECONDS * 1000)
        token = self._pending
        assert token
        login = self.resume_login(token)
        self.close_webview()
        return login

    def close_webview(self) -> None:
        """``navigation.pop()``: the incognito WebView and its cookies are gone."""
        if self.context is not None:
            self.context.close()
        self.context = self.webview = None

    # -- connect.ts ----------------------------------------------------------------------------

    def resume_login(self, token: str) -> NativeLogin:
        """Meteor's ``login`` with ``{resume}`` (over REST here; see the module's docstring)."""
        response = requests.post(
            self.rest.rstrip("/") + "/api/v1/login",
            json={"resume": token},
            headers={"User-Agent": NATIVE_USER_AGENTS[self.platform], "X-Real-IP": PHONE_ADDRESS},
            timeout=10,
        )
        body = response.json()
        user_id = str((body.get("data") or {}).get("userId", ""))
        login = NativeLogin(token=token, status=response.status_code, user_id=user_id)
        self.logins.append(login)
        if response.status_code == 200:
            self.token, self.user_id = token, user_id
        return login

    def reconnect(self) -> bool:
        """The app reconnects (``connectedListener``): whether its stored token still works."""
        assert self.token, "the app was never signed in"
        return self.resume_login(self.token).status == 200
